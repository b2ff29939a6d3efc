/**
 * A native function's `ctx.sql` on a real PostgreSQL store: SQL time is the function's time. The
 * query gets what is left of `function-timeout` as its statement_timeout (not the store's own,
 * longer limit), the record is dead-lettered as a timeout, the server has cancelled the statement,
 * and the next query runs.
 */
import { MemoryState, type ChainStep, type EngineRecord, type FunctionContext } from '@ssdk/engine';
import { openPostgresStore, type StateStore } from '@ssdk/state';
import { testPostgres, until, type TestPostgres } from '@ssdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeExecutor, timedOutReason } from './native-executor.ts';

let server: TestPostgres;
let store: StateStore;
let watcher: StateStore;

beforeAll(async () => {
  server = await testPostgres({ prefix: 'ssdk_h5_native_sql' });
  // The store's own limit is far above the function's: only the function's time can stop the query.
  store = await openPostgresStore({ connectionString: server.connectionString, schema: server.schema, queryTimeoutMs: 120_000 });
  await store.migrate([{ table: 'words_kv', keyType: 'string', windowed: false, value: { kind: 'json' } }]);
  watcher = await openPostgresStore({ connectionString: server.connectionString, schema: server.schema, queryRole: false });
});

afterAll(async () => {
  await store?.close();
  await watcher?.close();
  await server?.cleanup();
});

const rec = (value: string, key: string): EngineRecord => ({ key, value, timestamp: 0 });
const asking: ChainStep[] = [
  {
    id: 'asker.ask',
    operator: 'map',
    fn: (v: unknown, ctx: unknown) => {
      (ctx as FunctionContext).sql(String(v));
      return v;
    },
  },
];

describe('runtime - native ctx.sql under function-timeout (PostgreSQL)', () => {
  it('runtime - pg_sleep(60) under function-timeout 1 s: dead-lettered as a timeout in seconds, the statement cancelled by the server; the next query runs', async () => {
    const exec = nativeExecutor(asking, { sql: (query, params, options) => store.query(query, params, { ...(options?.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) }), timeoutMs: 1_000 });
    // The pool's connection is open before the clock starts.
    expect((await exec.run([rec('SELECT 1 AS one', 'warm')], new MemoryState())).failures).toEqual([]);

    const marker = `h5_sleep_${process.pid}`;
    const t0 = performance.now();
    const r = await exec.run([rec(`SELECT pg_sleep(60) AS ${marker}`, 'slow')], new MemoryState());
    const took = performance.now() - t0;
    expect(r.outputs).toEqual([]);
    expect(r.failures.map((f) => f.reason)).toEqual([timedOutReason(1_000)]);
    // Not 60 s (the query) nor 120 s (the store's limit): the function's second, with room for a loaded machine.
    console.log(`native ctx.sql pg_sleep(60) under function-timeout 1 s: dead-lettered after ${(took / 1000).toFixed(1)} s`);
    expect(took).toBeLessThan(30_000);
    // The server stopped the statement at its statement_timeout: nothing of it is left running.
    await until(
      'the sleeping statement to be cancelled',
      async () => (await watcher.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1`, [`%AS ${marker}%`]))[0]!.n === 0,
      20_000,
    );

    const next = await exec.run([rec('SELECT count(*) AS n FROM words_kv', 'next')], new MemoryState());
    expect(next.failures).toEqual([]);
    expect(next.outputs.map((o) => o.value)).toEqual(['SELECT count(*) AS n FROM words_kv']);
  }, 120_000);
});
