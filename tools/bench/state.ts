/**
 * State store throughput: batched checkpoints (1000 coalesced rows per commit, one transaction,
 * multi-row statements) against the baseline of one row per transaction, for both adapters.
 *
 *   npm run bench:state -- [--batches 100] [--single 2000] [--only pglite|postgres]
 *
 * PostgreSQL comes from DATABASE_URL or the local server (via @ssdk/testing, in a throwaway
 * schema); it is skipped with a note when none answers. PGlite runs in a fresh temporary data
 * directory (its ~4-8 s initdb is reported apart, not counted in the rates).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testPostgres } from '@ssdk/testing';
import { openPgliteStore, openPostgresStore, type StateStore, type StateWrite } from '@ssdk/state';
import { benchArgs } from './args.ts';

const { values: args } = benchArgs({
  options: {
    batches: { type: 'string', default: '100' },
    single: { type: 'string', default: '2000' },
    only: { type: 'string' },
  },
});
const BATCHES = Number(args.batches);
const SINGLE = Number(args.single);
const ROWS_PER_BATCH = 1000;
const COALESCE = 3; // each key written 3 times per checkpoint; 1 row reaches the database
const KEY_SPACE = 20_000; // so batches mix inserts and updates

interface Result {
  adapter: string;
  scenario: string;
  rows: number;
  seconds: number;
  /** This process's CPU (user + system): all of PGlite's work, only the client's for PostgreSQL. */
  cpuSeconds: number;
  /** Each commit's round trip, milliseconds. */
  commitMs: number[];
}

const results: Result[] = [];
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

async function run(adapter: string, store: StateStore): Promise<void> {
  await store.migrate([{ table: 'bench_kv', keyType: 'string', windowed: false, value: { kind: 'json' } }]);
  const operator = 'bench.op';

  // Warm-up: first statements plan and the first pages are allocated.
  await store.commit({ writes: [{ table: 'bench_kv', key: 'warm', partition: 0, value: 0 }], offsets: [] });

  let start = performance.now();
  let cpu = process.cpuUsage();
  let commitMs: number[] = [];
  let seq = 0;
  for (let b = 0; b < BATCHES; b++) {
    const writes: StateWrite[] = [];
    for (let pass = 0; pass < COALESCE; pass++) {
      for (let i = 0; i < ROWS_PER_BATCH; i++) {
        const k = (b * ROWS_PER_BATCH + i) % KEY_SPACE;
        writes.push({ table: 'bench_kv', key: `key-${k}`, partition: k % 8, value: { count: b * 10 + pass, word: `key-${k}` } });
      }
    }
    const sent = performance.now();
    const result = await store.commit({ writes, offsets: [{ operator, partition: b % 8, seq: ++seq }] });
    commitMs.push(performance.now() - sent);
    if (result.upserted !== ROWS_PER_BATCH) throw new Error(`expected ${ROWS_PER_BATCH} rows, got ${result.upserted}`);
  }
  results.push({
    adapter,
    scenario: `batched: ${ROWS_PER_BATCH} rows/commit (${ROWS_PER_BATCH * COALESCE} writes coalesced)`,
    rows: BATCHES * ROWS_PER_BATCH,
    seconds: (performance.now() - start) / 1000,
    cpuSeconds: cpuSecondsSince(cpu),
    commitMs,
  });

  start = performance.now();
  cpu = process.cpuUsage();
  commitMs = [];
  for (let i = 0; i < SINGLE; i++) {
    const k = i % KEY_SPACE;
    const sent = performance.now();
    await store.commit({
      writes: [{ table: 'bench_kv', key: `single-${k}`, partition: k % 8, value: { count: i } }],
      offsets: [{ operator, partition: k % 8, seq: ++seq }],
    });
    commitMs.push(performance.now() - sent);
  }
  results.push({
    adapter,
    scenario: 'baseline: 1 row/commit',
    rows: SINGLE,
    seconds: (performance.now() - start) / 1000,
    cpuSeconds: cpuSecondsSince(cpu),
    commitMs,
  });
}

function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function benchPglite(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-state-bench-'));
  try {
    const start = performance.now();
    const store = await openPgliteStore({ dataDir: join(dir, 'state'), schema: 'ssdk_bench' });
    console.log(`pglite: opened a new data directory in ${((performance.now() - start) / 1000).toFixed(1)} s (initdb)`);
    try {
      await run('pglite', store);
    } finally {
      await store.close();
    }
    console.log(`pglite: done, peak RSS so far ${mb(process.resourceUsage().maxRSS)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(): Promise<void> {
  let server: Awaited<ReturnType<typeof testPostgres>>;
  try {
    server = await testPostgres({ prefix: 'ssdk_bench', containers: false });
  } catch (error) {
    console.log(`postgres: skipped (${(error as Error).message.split('\n')[0]})`);
    return;
  }
  const store = await openPostgresStore({ connectionString: server.connectionString, schema: server.schema });
  try {
    await run('postgres', store);
  } finally {
    await store.close();
    await server.cleanup();
  }
  console.log(`postgres: done (${server.source} server), peak RSS so far ${mb(process.resourceUsage().maxRSS)}`);
}

if (args.only !== 'postgres') await benchPglite();
if (args.only !== 'pglite') await benchPostgres();

const rows = results.map((r) => [
  r.adapter,
  r.scenario,
  String(r.rows),
  r.seconds.toFixed(2),
  Math.round(r.rows / r.seconds).toLocaleString('en-US'),
  r.cpuSeconds.toFixed(2),
  percentile(r.commitMs, 50).toFixed(2),
  percentile(r.commitMs, 99).toFixed(2),
]);
const header = ['adapter', 'scenario', 'rows', 'seconds', 'rows/s', 'CPU s', 'commit p50 ms', 'p99 ms'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
console.log();
console.log(line(header));
for (const r of rows) console.log(line(r));
for (const adapter of new Set(results.map((r) => r.adapter))) {
  const [batched, single] = results.filter((r) => r.adapter === adapter);
  if (batched && single) console.log(`${adapter}: batched is ${(batched.rows / batched.seconds / (single.rows / single.seconds)).toFixed(1)}x the per-row baseline`);
}
console.log('CPU s is this process only: all of PGlite (in-process), the client side of PostgreSQL (its server is not counted).');
console.log(`peak RSS: ${mb(process.resourceUsage().maxRSS)}`);
