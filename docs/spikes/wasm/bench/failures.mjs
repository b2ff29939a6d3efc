// Failure behaviour in-thread: a throwing function (per-record error), deep recursion, a trap
// (WAT `unreachable`), and whether an instance can be reused after a trap.
import { prepareComponent, hostImports } from '../host/wasm-host.mjs';
import { encodeInput, decodeOutput } from '../build/frame.native.mjs';
import { readFileSync } from 'node:fs';
const te = new TextEncoder(), td = new TextDecoder();
const rec = (o) => ({ key: null, value: te.encode(typeof o === 'string' ? o : JSON.stringify(o)), timestamp: 0, headers: [] });
const ok = { id: 1, customer: 'c', amount: 1, currency: 'EUR', items: 1, note: '' };
function tryCall(inst, frame) {
  const t0 = performance.now();
  try {
    const out = decodeOutput(inst.process(frame));
    return { ms: +(performance.now() - t0).toFixed(1), records: out.records.map((r) => r.index), errors: out.errors.map((e) => ({ index: e.index, message: e.message.split('\n').slice(0, 3).join(' | ') })) };
  } catch (e) {
    return { ms: +(performance.now() - t0).toFixed(1), threw: `${e?.constructor?.name}: ${String(e?.message ?? e).slice(0, 160)}` };
  }
}
for (const be of ['sm', 'qjs']) {
  const c = await prepareComponent(readFileSync(`build/risky.${be}.wasm`));
  const inst = c.instantiate(hostImports());
  console.log(be, 'throw  ', JSON.stringify(tryCall(inst, encodeInput([rec(ok), rec({ ...ok, id: 2, op: 'throw' }), rec(ok), rec('not json')]))));
  console.log(be, 'recurse', JSON.stringify(tryCall(inst, encodeInput([rec(ok), rec({ ...ok, op: 'recurse' }), rec(ok)]))));
  console.log(be, 'after  ', JSON.stringify(tryCall(inst, encodeInput([rec(ok)]))));
}
const w = await prepareComponent(readFileSync('build/wat-filter.wasm'));
const inst = w.instantiate(hostImports());
console.log('wat trap ', JSON.stringify(tryCall(inst, encodeInput([rec('a'), rec('!boom'), rec('b')]))));
console.log('wat after', JSON.stringify(tryCall(inst, encodeInput([rec('a')]))));
const t0 = performance.now();
const fresh = w.instantiate(hostImports());
console.log('wat fresh instance', (performance.now() - t0).toFixed(2), 'ms', JSON.stringify(tryCall(fresh, encodeInput([rec('a'), rec('#x')]))));
