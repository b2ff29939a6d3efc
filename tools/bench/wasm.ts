/**
 * `npm run bench:wasm` — records/s for a filter and a map over ~100-byte JSON records, batched:
 * native JS (the engine's runChain, functions in V8), the sandboxed JS guest (a componentize-js
 * component through the worker host, the production path), and the non-JS guest (the WAT filter
 * of examples/wat-filter), plus the raw boundary (one guest call per batch on this thread, frame
 * prebuilt). Not a test: numbers, not verdicts. Targets: non-JS boundary ≤ 0.2 µs/record in
 * batches; sandboxed JS map ≥ 100k records/s on one core.
 *
 *   npm run bench:wasm [-- --batches 100,1000 --ms 400]
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryState, runChain, type ChainInput, type ChainStep } from '@ssdk/engine';
import { loadNativeStep } from '@ssdk/functions';
import { checkDataflow } from '@ssdk/plan';
import { loadServicesFile, type Step } from '@ssdk/spec';
import { encodeInput, instantiateInThread, openWasmHost, WindowTable } from '@ssdk/wasm-host';
import { buildDataflow } from '@ssdk/wasm-host/build';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '100,1000' }, ms: { type: 'string', default: '400' } } });
const BATCHES = values.batches!.split(',').map(Number);
const MIN_MS = Number(values.ms);
const repo = new URL('../../', import.meta.url).pathname;

const SERVICES = `apiVersion: 0.5.0
meta: {name: bench, version: 0.1.0, namespace: bench}
types:
  order:
    type: object
    properties:
      id: {type: u32}
      customer: {type: string}
      amount: {type: f64}
      currency: {type: string}
      items: {type: u32}
      note: {type: string}
topics:
  orders: {schema: {value: {type: order}}}
  out: {schema: {value: {type: order}}}
services:
  bench:
    sources: [{type: topic, id: orders}]
    transforms:
      - operator: filter
        run: |
          function isBig(o: Order): boolean {
            return o.amount > 500;
          }
      - operator: map
        run: |
          function enrich(o: Order) {
            return { id: o.id, customer: o.customer.toUpperCase(), cents: Math.round(o.amount * 100), tier: o.amount > 500 ? 'gold' : 'std' };
          }
    sinks: [{type: topic, id: out}]
`;

function orders(n: number): ChainInput[] {
  let s = 42;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => ({
    key: null,
    value: { id: i, customer: `customer-${Math.floor(rnd() * 1000)}`, amount: Math.round(rnd() * 100_000) / 100, currency: 'EUR', items: 1 + Math.floor(rnd() * 9), note: 'lorem ipsum dolor' },
    timestamp: 1_700_000_000_000 + i,
  }));
}

/** ns per record: best of 3 timed loops of at least MIN_MS each. */
function measure(fn: () => unknown, records: number): number {
  for (let i = 0; i < 20; i++) fn();
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    let n = 0;
    const t0 = performance.now();
    let t: number;
    do {
      fn();
      n++;
    } while ((t = performance.now() - t0) < MIN_MS);
    best = Math.min(best, (t * 1e6) / (n * records));
  }
  return best;
}

/** `measure` for an asynchronous call (a sandboxed chain's `run`), each call awaited. */
async function measureAsync(fn: () => Promise<unknown>, records: number): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    let n = 0;
    const t0 = performance.now();
    let t: number;
    do {
      await fn();
      n++;
    } while ((t = performance.now() - t0) < MIN_MS);
    best = Math.min(best, (t * 1e6) / (n * records));
  }
  return best;
}

const dir = await mkdtemp(join(tmpdir(), 'ssdk-bench-wasm-'));
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'services.yaml'), SERVICES);
const { dataflow } = await loadServicesFile(join(dir, 'services.yaml'));
const { graph } = checkDataflow(dataflow);
const t0 = performance.now();
const built = await buildDataflow({ dataflow, graph, stateDir: join(dir, '.ssdk'), componentCache: process.env['SSDK_COMPONENT_CACHE'] ?? join(tmpdir(), 'ssdk-test-components') });
console.log(`component: ${built.components.map((c) => `${c.hash} ${c.status} ${(c.bytes / 1e6).toFixed(1)} MB`).join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

const models = new Map<string, Step>();
for (const s of graph.services) for (const site of s.pipeline.trunk) models.set(site.id, site.step);
const host = openWasmHost();
const build = await host.loadBuild(built.buildDir);
const watBytes = new Uint8Array(await readFile(join(repo, 'examples/wat-filter/functions/drop-comments.wasm')));
const wat = await host.load(watBytes);
const watInThread = await instantiateInThread(watBytes);
const jsComponent = Object.values(build.manifest.components).find((c) => c.kind === 'javascript')!;
const jsInThread = await instantiateInThread(new Uint8Array(await readFile(join(built.buildDir, jsComponent.file))));

const rows: Array<Record<string, string | number>> = [];
const add = (chain: string, batch: number, path: string, ns: number) => {
  rows.push({ chain, batch, path, 'ns/record': Math.round(ns), 'records/s': Math.round(1e9 / ns) });
  console.log(`${chain.padEnd(6)} ${String(batch).padStart(5)}  ${path.padEnd(44)} ${String(Math.round(ns)).padStart(7)} ns/record  ${String(Math.round(1e9 / ns)).padStart(9)} records/s`);
};

for (const [chain, id, operator] of [['filter', 'bench.is-big', 'filter'], ['map', 'bench.enrich', 'map']] as const) {
  const native: ChainStep[] = [{ id, operator, fn: (await loadNativeStep(id, models.get(id)!, join(dir, 'services.yaml'))).fn }];
  const sandboxed = (await build.componentFor([id]))!.chain({ steps: [{ id, operator }], timeoutMs: 10_000 });
  const watChain = wat.chain({ steps: [{ id: 'x.drop-comments', operator: 'filter' }], timeoutMs: 10_000 });
  for (const batch of BATCHES) {
    const inputs = orders(batch);
    const state = new MemoryState();
    add(chain, batch, 'native JS (runChain in V8)', measure(() => runChain(native, inputs, { state }), batch));
    add(chain, batch, 'sandboxed JS guest (worker, StarlingMonkey)', await measureAsync(() => sandboxed.run(inputs, state), batch));
    const jsFrame = encodeInput(inputs, { steps: [[id, operator, 0, null, null]], windows: new WindowTable(), table: false });
    add(chain, batch, 'sandboxed JS guest call alone (in-thread)', measure(() => jsInThread.process(jsFrame), batch));
    if (chain === 'filter') {
      add(chain, batch, 'non-JS guest (worker, WAT)', await measureAsync(() => watChain.run(inputs, state), batch));
      const frame = encodeInput(inputs, { steps: [['x.drop-comments', 'filter', 0, null, null]], windows: new WindowTable() });
      add(chain, batch, 'non-JS boundary (one call per batch, in-thread)', measure(() => watInThread.process(frame), batch));
    }
  }
  sandboxed.close();
  watChain.close();
}
console.table(rows);
await host.close();
