import { prepareComponent, hostImports } from '../host/wasm-host.mjs';
import { makeOrders, encodeInput } from '../host/records.mjs';
import { readFileSync } from 'node:fs';
const batch = 1000;
const frame = encodeInput(makeOrders(batch));
const modes = ['boundary, 8B out', 'copy in+out', 'frame decode', '+utf8 decode', '+JSON.parse', '+fn + raw copy out', '+fn + re-encode out', '+stringify+utf8Encode', '+stringify only'];
for (const be of process.argv.slice(2).length ? process.argv.slice(2) : ['sm', 'qjs']) {
  const c = await prepareComponent(readFileSync(`build/prof.${be}.wasm`));
  const inst = c.instantiate(hostImports());
  for (let m = 0; m < modes.length; m++) {
    const inp = new Uint8Array(frame.length + 1); inp[0] = m; inp.set(frame, 1);
    for (let i = 0; i < 5; i++) inst.process(inp);
    let best = Infinity;
    for (let r = 0; r < 3; r++) { let n = 0; const t0 = performance.now(); let t; do { inst.process(inp); n++; } while ((t = performance.now() - t0) < 300); best = Math.min(best, t * 1e6 / (n * batch)); }
    console.log(be, m, modes[m].padEnd(24), Math.round(best), 'ns/record');
  }
}
