// Records/s for filter and map over ~100-byte JSON records, batches of 100 and 1000.
// usage: node bench/throughput.mjs [backends...]   (native-fn native-glue sm qjs wat)
import { prepareComponent, hostImports } from '../host/wasm-host.mjs';
import { makeOrders, encodeInput } from '../host/records.mjs';
import { decodeOutput } from '../build/frame.native.mjs';
import * as fns from '../build/functions.native.mjs';
import { readFileSync, existsSync } from 'node:fs';

const backends = process.argv.slice(2).length ? process.argv.slice(2) : ['native-fn', 'native-glue', 'qjs', 'sm', 'wat'];
globalThis.__ssdkHost = { log: () => {}, lookup: () => undefined };
const MIN_MS = 400;

function bench(fn, batch) {
  // warm up
  for (let i = 0; i < 20; i++) fn();
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    let n = 0;
    const t0 = performance.now();
    let t;
    do { fn(); n++; } while ((t = performance.now() - t0) < MIN_MS);
    best = Math.min(best, (t * 1e6) / (n * batch));
  }
  return best; // ns per record
}

const rows = [];
for (const chain of ['filter', 'map']) {
  for (const batch of [100, 1000]) {
    const recs = makeOrders(batch);
    const frame = encodeInput(recs);
    const strs = recs.map((r) => new TextDecoder().decode(r.value));
    let expect;
    for (const be of backends) {
      let call;
      if (be === 'native-fn') {
        // the user function alone, in V8, on JSON strings (parse + fn + stringify), no frame
        const f = chain === 'filter' ? fns.isBig : fns.enrich;
        call = chain === 'filter'
          ? () => { const out = []; for (const s of strs) { const v = JSON.parse(s); if (f(v)) out.push(JSON.stringify(v)); } return out; }
          : () => { const out = []; for (const s of strs) out.push(JSON.stringify(f(JSON.parse(s)))); return out; };
      } else if (be === 'native-glue') {
        const p = (await import(`../build/${chain}.native.js`)).process;
        call = () => p(frame);
      } else {
        const file = be === 'wat' ? `build/wat-${chain}.wasm` : `build/${chain}.${be}.wasm`;
        if (!existsSync(file)) continue;
        const c = await prepareComponent(readFileSync(file));
        const inst = c.instantiate(hostImports());
        call = () => inst.process(frame);
      }
      const out = call();
      if (be !== 'native-fn' && be !== 'wat') {
        const o = decodeOutput(out);
        const sig = JSON.stringify(o.records.map((r) => r.index)) + o.errors.length;
        if (expect === undefined) expect = sig; else if (sig !== expect) throw new Error(`${be} ${chain} output differs`);
      }
      const ns = bench(call, batch);
      rows.push({ chain, batch, backend: be, nsPerRecord: Math.round(ns), recordsPerSec: Math.round(1e9 / ns) });
      console.log(JSON.stringify(rows.at(-1)));
    }
  }
}
console.table(rows);
