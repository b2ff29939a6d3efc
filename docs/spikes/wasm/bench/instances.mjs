// Compile once, instantiate N: time per instance and RSS per instance (after one small call each).
// run: node --expose-gc bench/instances.mjs
import { prepareComponent, hostImports } from '../host/wasm-host.mjs';
import { makeOrders, encodeInput } from '../host/records.mjs';
import { readFileSync } from 'node:fs';
const frame = encodeInput(makeOrders(100));
const N = 10;
for (const [label, file] of [['wat', 'build/wat-filter.wasm'], ['qjs', 'build/filter.qjs.wasm'], ['sm', 'build/filter.sm.wasm']]) {
  const bytes = readFileSync(file);
  const c = await prepareComponent(bytes);
  c.instantiate(hostImports()).process(frame); // warm
  gc(); gc();
  const rss0 = process.memoryUsage().rss;
  const insts = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) insts.push(c.instantiate(hostImports()));
  const tInst = (performance.now() - t0) / N;
  for (const inst of insts) inst.process(frame);
  gc(); gc();
  const rss1 = process.memoryUsage().rss;
  console.log(JSON.stringify({ guest: label, componentBytes: bytes.length, transpileMs: Math.round(c.stats.transpileMs), compileMs: Math.round(c.stats.compileMs), instantiateMs: +tInst.toFixed(2), rssPerInstanceMB: +((rss1 - rss0) / N / 1048576).toFixed(2) }));
}
