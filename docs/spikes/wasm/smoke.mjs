import { prepareComponent, hostImports } from './host/wasm-host.mjs';
import { makeOrders, encodeInput } from './host/records.mjs';
import { decodeOutput } from './build/frame.native.mjs';
import { readFileSync } from 'node:fs';
const recs = makeOrders(10);
const frame = encodeInput(recs);
globalThis.__ssdkHost = { log: () => {}, lookup: () => undefined };
for (const chain of ['filter', 'map', 'split']) {
  const native = (await import(`./build/${chain}.native.js`)).process;
  const want = JSON.stringify(decodeOutput(native(chain === 'split' ? encodeInput(makeOrders(0)) : frame)).records.length);
  for (const be of ['qjs', 'sm']) {
    const c = await prepareComponent(readFileSync(`build/${chain}.${be}.wasm`));
    const t0 = performance.now();
    const inst = c.instantiate(hostImports());
    const ti = performance.now() - t0;
    const out = decodeOutput(inst.process(frame));
    console.log(chain, be, c.stats, 'inst ms', ti.toFixed(1), 'out', out.records.length, 'errors', out.errors.length, out.records[0] && new TextDecoder().decode(out.records[0].rec.value), out.errors[0]?.message.slice(0, 200));
  }
}
