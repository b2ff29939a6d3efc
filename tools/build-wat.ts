/**
 * A WAT core module → a WebAssembly component of the `ssdk:dataflow/chain` world, with jco's own
 * tools in-process (`jco parse` + `jco embed` + `jco new`). Writes `<name>.wasm` beside the
 * `.wat`; the output is deterministic, so the committed `.wasm` can be checked against its source.
 *
 *   npx tsx tools/build-wat.ts examples/wat-filter/functions/drop-comments.wat [--world chain|windowed-chain]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { componentizeWat } from '@ssdk/wasm-host/build';
import { HOST_WIT } from '@ssdk/wit';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { world: { type: 'string', default: 'chain' } } });
if (positionals.length === 0) {
  console.error('usage: npx tsx tools/build-wat.ts FILE.wat... [--world chain|windowed-chain]');
  process.exit(2);
}
for (const file of positionals) {
  const t0 = performance.now();
  const component = await componentizeWat({ wat: await readFile(file, 'utf8'), witSource: HOST_WIT, world: values.world! });
  const out = file.replace(/\.wat$/, '.wasm');
  await writeFile(out, component);
  console.log(`${out}: ${component.length} bytes (${(performance.now() - t0).toFixed(0)} ms)`);
}
