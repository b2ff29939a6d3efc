/**
 * Test support: a dataflow whose one service holds a function of every operator kind (and some
 * that misbehave), written to a temporary folder and built once; components are shared between
 * test files (and runs) through a cache folder keyed by content hash.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServicesFile } from '@ssdk/spec';
import { checkDataflow } from '@ssdk/plan';
import { buildDataflow, type BuildResult } from '../build/build.ts';
import { openWasmHost, type WasmBuild, type WasmHost, type WasmHostOptions } from '../host/host.ts';

/** Shared by every test file that builds components. */
export const TEST_COMPONENT_CACHE = join(tmpdir(), 'ssdk-test-components');
export const TEST_TRANSPILE_CACHE = join(tmpdir(), 'ssdk-test-transpiled');

export const KINDS_SERVICES = `apiVersion: 0.5.0
meta:
  name: wasm-kinds
  version: 0.1.0
  namespace: tests

types:
  order:
    type: object
    properties:
      id:
        type: u32
      amount:
        type: f64
      note:
        type: string
      op:
        type: string
        optional: true
      sku:
        type: string
        optional: true

topics:
  orders:
    schema:
      value:
        type: order
  summaries:
    schema:
      value:
        type: string

services:
  kinds:
    sources:
      - type: topic
        id: orders
    states:
      totals:
        type: keyed-state
        properties:
          key:
            type: string
          value:
            type: u32
      prices:
        type: keyed-state
        properties:
          key:
            type: string
          value:
            type: f64
    transforms:
      - operator: filter
        run: |
          function isBig(o: Order): boolean {
            return o.amount > 500;
          }
      - operator: map
        uses: enrich
        with:
          tier: gold
      - operator: filter-map
        run: |
          function keepNoted(o: Order): Order | undefined {
            return o.note ? { ...o, note: o.note.toUpperCase() } : undefined;
          }
      - operator: flat-map
        run: |
          function splitNote(o: Order): Order[] {
            return o.note.split(' ').map((w) => ({ ...o, note: w }));
          }
      - operator: map
        run: |
          function risky(o: Order, ctx: Ctx): Order {
            if (o.op === 'throw') {
              throw new Error('bad order ' + o.id);
            }
            if (o.op === 'loop') for (;;) { /* runaway */ }
            if (o.op === 'clock') return { ...o, note: String(Date.now()) };
            if (o.op === 'new-date') return { ...o, note: String(new Date().getTime()) };
            if (o.op === 'ctx-now') return { ...o, note: String(ctx.now()) };
            if (o.op === 'random') return { ...o, note: String(Math.random()) };
            if (o.op === 'ctx-random') return { ...o, note: String(ctx.random()) };
            if (o.op === 'random-bytes') return { ...o, note: crypto.getRandomValues(new Uint8Array(8)).join(',') };
            if (o.op === 'env') return { ...o, note: String(ctx.env('SSDK_GRANT_TEST')) };
            if (o.op === 'reach') {
              const g = globalThis as any;
              return { ...o, note: JSON.stringify({ process: typeof g.process, require: typeof g.require, fetch: typeof g.fetch, Deno: typeof g.Deno, XMLHttpRequest: typeof g.XMLHttpRequest, WebSocket: typeof g.WebSocket }) };
            }
            if (o.op === 'network') return { ...o, note: String((globalThis as any).fetch('http://127.0.0.1:9/')) };
            if (o.op === 'bigint') return { ...o, note: 1n as any };
            if (o.op === 'letters') return { ...o, note: String(/^[\\p{L}\\p{N}]+$/u.test('Straße北京2')) + ' ' + String(/^\\p{L}+$/u.test('a b')) };
            if (o.op === 'sql') return { ...o, note: JSON.stringify(ctx.sql('SELECT key FROM t WHERE id = $1', [o.id])) };
            if (o.op === 'log') ctx.log('seen', o.id);
            return o;
          }
      - operator: filter
        run: |
          function wrongType(o: Order): boolean {
            return (o.op === 'wrong' ? 'yes' : true) as any;
          }
      - operator: map
        uses: reach-host
    window:
      tumbling:
        duration: 10s
      watermark:
        grace-period: 0s
      assign-timestamp:
        run: |
          function orderTime(o: Order, eventTime: number): number {
            return o.id * 1000 + (eventTime % 1000);
          }
      partition:
        assign-key:
          run: |
            function bySku(o: Order): string {
              return o.sku ?? 'none';
            }
        update-state:
          run: |
            function addUp(o: Order, ctx: Ctx): void {
              if (o.op === 'forge') {
                // An attack on key ownership: a change for a key this batch does not hold,
                // slipped into the glue's output by replacing JSON.stringify for one call.
                const stringify = JSON.stringify;
                (JSON as any).stringify = (v: any, ...rest: any[]) => {
                  if (v && Array.isArray(v.d)) {
                    (JSON as any).stringify = stringify;
                    v.d.push(['totals', 'victim', v.d[0] ? v.d[0][2] : -1, 1000000]);
                  }
                  return stringify(v, ...rest);
                };
              }
              ctx.state('totals').increment(o.id);
              const price = ctx.state('prices').lookup(o.sku ?? 'none');
              if (price !== undefined) ctx.log('price', price);
            }
      flush:
        run: |
          function summarize(ctx: Ctx): string {
            const parts: string[] = [];
            for (const [k, v] of ctx.state('totals').entries()) parts.push(k + '=' + v);
            parts.sort();
            return ctx.window().start + ':' + parts.join(',');
          }
    sinks:
      - type: topic
        id: summaries
`;

export const ENRICH_TS = `import { shout } from 'tiny-dep';

export interface Order { id: number; amount: number; note: string; op?: string; sku?: string }

/** Marks the order with the \`tier\` parameter; the dependency comes from node_modules. */
export function enrich(o: Order, ctx: { param(name: string): string | undefined }): Order {
  if (o.op === 'throw-in-module') {
    throw new RangeError('module says no');
  }
  return { ...o, note: o.note ? shout(o.note) + ' ' + (ctx.param('tier') ?? '') : o.note };
}
`;

/** Code that calls the host's imports itself, past the glue's checks: the host is the boundary. */
export const REACH_HOST_TS = `import { env as hostEnv, http as hostHttp } from 'ssdk:dataflow/host';

export function reachHost(o: { note: string; op?: string }): { note: string } {
  // Nothing listens on 127.0.0.1:40899 (h8's range): a request made would fail to connect.
  if (o.op === 'raw-http') return { ...o, note: hostHttp(JSON.stringify({ url: 'http://127.0.0.1:40899/', method: 'GET', headers: {}, timeoutMs: 500, retries: 0, maxBytes: 100 })) };
  return { ...o, note: String(hostEnv('SSDK_GRANT_TEST')) };
}
`;

export async function writeKindsDataflow(dir?: string): Promise<string> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'ssdk-kinds-')));
  await mkdir(join(root, 'functions'), { recursive: true });
  await mkdir(join(root, 'node_modules', 'tiny-dep'), { recursive: true });
  await writeFile(join(root, 'services.yaml'), KINDS_SERVICES);
  await writeFile(join(root, 'functions', 'enrich.ts'), ENRICH_TS);
  await writeFile(join(root, 'functions', 'reach-host.ts'), REACH_HOST_TS);
  await writeFile(join(root, 'node_modules', 'tiny-dep', 'package.json'), JSON.stringify({ name: 'tiny-dep', version: '1.0.0', type: 'module', main: 'index.js' }));
  await writeFile(join(root, 'node_modules', 'tiny-dep', 'index.js'), "export function shout(s) { return s.toUpperCase() + '!'; }\n");
  return join(root, 'services.yaml');
}

export async function buildFixture(servicesFile: string): Promise<BuildResult> {
  const { dataflow } = await loadServicesFile(servicesFile);
  const { graph } = checkDataflow(dataflow);
  return buildDataflow({ dataflow, graph, stateDir: join(servicesFile, '..', '.ssdk'), componentCache: TEST_COMPONENT_CACHE });
}

/** The kinds dataflow built (cached) and loaded in a fresh host: the set-up of the host tests. */
export async function openKindsHost(options: WasmHostOptions = {}): Promise<{ host: WasmHost; build: WasmBuild }> {
  const built = await buildFixture(await writeKindsDataflow());
  const host = openWasmHost({ cacheDir: TEST_TRANSPILE_CACHE, ...options });
  return { host, build: await host.loadBuild(built.buildDir) };
}
