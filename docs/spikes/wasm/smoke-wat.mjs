import { prepareComponent, hostImports } from './host/wasm-host.mjs';
import { encodeInput, decodeOutput } from './build/frame.native.mjs';
import { readFileSync } from 'node:fs';
const te = new TextEncoder(), td = new TextDecoder();
const recs = ['hello world', '#comment', 'Mixed Case ü', ''].map((v, i) => ({ key: i % 2 ? te.encode('k' + i) : null, value: te.encode(v), timestamp: -5 + i * 1e12, headers: [['h', te.encode('x')]] }));
for (const name of ['filter', 'map']) {
  const c = await prepareComponent(readFileSync(`build/wat-${name}.wasm`));
  const inst = c.instantiate(hostImports());
  const out = decodeOutput(inst.process(encodeInput(recs)));
  console.log(name, c.stats, out.records.map((r) => [r.index, r.rec.key && td.decode(r.rec.key), td.decode(r.rec.value), r.rec.timestamp, r.rec.headers.map(([n, v]) => n + '=' + td.decode(v))]), out.errors);
}
