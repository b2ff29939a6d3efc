// Worker experiments: round-trip overhead per batch (postMessage+transfer vs SharedArrayBuffer+Atomics),
// synchronous lookup answered asynchronously by the main thread (Atomics.wait), runaway guest + terminate.
import { startGuest } from '../host/worker-host.mjs';
import { prepareComponent, hostImports } from '../host/wasm-host.mjs';
import { makeOrders, encodeInput } from '../host/records.mjs';
import { decodeOutput } from '../build/frame.native.mjs';
import { readFileSync } from 'node:fs';
const te = new TextEncoder(), td = new TextDecoder();

async function best(fn, batch, ms = 300) {
  for (let i = 0; i < 50; i++) await fn();
  let b = Infinity;
  for (let r = 0; r < 3; r++) {
    let n = 0; const t0 = performance.now(); let t;
    do { await fn(); n++; } while ((t = performance.now() - t0) < ms);
    b = Math.min(b, (t * 1e3) / n);
  }
  return b; // µs per batch
}

// 1. round trip per batch
for (const batch of [100, 1000]) {
  const frame = encodeInput(makeOrders(batch));
  const c = await prepareComponent(readFileSync('build/wat-filter.wasm'));
  const inst = c.instantiate(hostImports());
  const direct = await best(() => inst.process(frame), batch);
  const row = { batch, inThreadUs: +direct.toFixed(1) };
  for (const transport of ['message', 'sab']) {
    const g = await startGuest('build/wat-filter.wasm', { transport });
    const out = decodeOutput(await g.call(frame));
    if (out.records.length !== batch) throw new Error('bad result');
    row[`${transport}Us`] = +(await best(() => g.call(frame), batch)).toFixed(1);
    await g.stop();
  }
  console.log('round-trip', JSON.stringify(row));
}

// 2. synchronous lookup, answered by an async source on the main thread
const prices = new Map(Array.from({ length: 100 }, (_, i) => [`sku-${i}`, te.encode(JSON.stringify(i * 1.5))]));
const asyncLookup = async (state, key) => { await null; return state === 'prices' ? prices.get(td.decode(key)) : undefined; };
const slowLookup = (state, key) => new Promise((r) => setTimeout(() => r(prices.get(td.decode(key))), 5));
for (const be of ['qjs', 'sm']) {
  for (const lookupVia of ['message', 'waitAsync']) {
    const g = await startGuest(`build/risky.${be}.wasm`, { lookupVia, lookup: asyncLookup });
    const batch = 1000;
    const withLookup = encodeInput(makeOrders(batch, 1, (i) => ({ op: 'lookup', sku: `sku-${i % 120}` })));
    const without = encodeInput(makeOrders(batch, 1, () => ({ op: 'none', sku: 'x' })));
    const o = decodeOutput(await g.call(withLookup, { timeoutMs: 10000 }));
    const sample = [o.records[3], o.records[110]].map((r) => td.decode(r.rec.value));
    const a = await best(() => g.call(withLookup, { timeoutMs: 10000 }), batch, 1000);
    const b = await best(() => g.call(without, { timeoutMs: 10000 }), batch, 1000);
    console.log('lookup', be, lookupVia, JSON.stringify({ usPerBatchWithLookup: Math.round(a), usPerBatchWithout: Math.round(b), usPerLookup: +((a - b) / batch).toFixed(2), sample, errors: o.errors.length }));
    await g.stop();
  }
}
{
  const g = await startGuest('build/risky.qjs.wasm', { lookup: slowLookup });
  const t0 = performance.now();
  const o = decodeOutput(await g.call(encodeInput(makeOrders(3, 1, (i) => ({ op: 'lookup', sku: `sku-${i}` })))));
  console.log('lookup answered 5 ms later (setTimeout):', (performance.now() - t0).toFixed(1), 'ms for 3 lookups', o.records.map((r) => td.decode(r.rec.value)));
  await g.stop();
}

// 3. runaway guest: per-call timeout, terminate, restart
for (const be of ['qjs', 'sm']) {
  const t0 = performance.now();
  let g = await startGuest(`build/risky.${be}.wasm`);
  const tStart = performance.now() - t0;
  let msg;
  const t1 = performance.now();
  try { await g.call(encodeInput(makeOrders(2, 1, (i) => (i === 1 ? { op: 'loop' } : {}))), { timeoutMs: 200 }); } catch (e) { msg = e.message; }
  const tTimeout = performance.now() - t1;
  const t2 = performance.now();
  await g.worker.terminate();
  const tTerm = performance.now() - t2;
  const t3 = performance.now();
  g = await startGuest(`build/risky.${be}.wasm`);
  const ok = decodeOutput(await g.call(encodeInput(makeOrders(5)))).records.length;
  console.log('runaway', be, JSON.stringify({ workerStartMs: Math.round(tStart), error: msg, timeoutFiredMs: Math.round(tTimeout), terminateMs: +tTerm.toFixed(1), restartAndCallMs: Math.round(performance.now() - t3), recordsAfterRestart: ok }));
  await g.stop();
}
