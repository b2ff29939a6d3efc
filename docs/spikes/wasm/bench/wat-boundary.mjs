// Boundary cost of the WAT component: ns per call and per record, batches 0..10000, best of 3.
import { prepareComponent, hostImports } from '../host/wasm-host.mjs';
import { makeOrders, encodeInput } from '../host/records.mjs';
import { readFileSync } from 'node:fs';
const zc = process.argv.includes('--zero-copy');
for (const name of ['filter', 'map']) {
  const c = await prepareComponent(readFileSync(`build/wat-${name}.wasm`), { zeroCopyResult: zc });
  const inst = c.instantiate(hostImports());
  for (const batch of [0, 1, 10, 100, 1000, 10000]) {
    const frame = encodeInput(makeOrders(batch));
    for (let i = 0; i < 200; i++) inst.process(frame);
    const times = [];
    for (let r = 0; r < 3; r++) {
      let n = 0; const t0 = performance.now(); let t;
      do { inst.process(frame); n++; } while ((t = performance.now() - t0) < 500);
      times.push((t * 1e6) / n);
    }
    const best = Math.min(...times);
    console.log(JSON.stringify({ guest: `wat-${name}${zc ? ' zero-copy' : ''}`, batch, frameBytes: frame.length, nsPerCall: Math.round(best), nsPerRecord: batch ? +(best / batch).toFixed(1) : null }));
  }
}
