import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryState, type ChainInput, type SqlRow } from '@ssdk/engine';
import { openKindsHost } from '../testing/fixture.ts';
import type { WasmBuild, WasmHost } from './host.ts';
import type { WasmChainOptions } from './chain.ts';

// `ctx.sql` from a guest: the guest blocks, the host runs the query asynchronously (here a
// query function standing in for the state store; the real store is in apps/cli/src/ctx-sql.test.ts).
let host: WasmHost;
let build: WasmBuild;

beforeAll(async () => {
  ({ host, build } = await openKindsHost());
}, 180_000);

afterAll(async () => {
  await host?.close();
});

const rec = (op: string | undefined, id = 1): ChainInput => ({ key: null, value: { id, amount: 900, note: 'n', ...(op ? { op } : {}) }, timestamp: 0 });
const notes = (r: { outputs: Array<{ value: unknown }> }) => r.outputs.map((o) => (o.value as { note: string }).note);

async function chain(sql: WasmChainOptions['sql'] | undefined, timeoutMs = 2000) {
  const steps = [{ id: 'kinds.risky', operator: 'map' as const }];
  return (await build.componentFor(['kinds.risky']))!.chain({ steps, timeoutMs, ...(sql ? { sql } : {}) });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('wasm-host - ctx.sql', () => {
  it('wasm-host - each ctx.sql call gets its rows, with its parameters, in order within one batch', async () => {
    const asked: unknown[][] = [];
    const c = await chain(async (query, params): Promise<SqlRow[]> => {
      asked.push([query, ...params]);
      await delay(5);
      return [{ key: `k${String(params[0])}` }];
    });
    const r = await c.run([rec('sql', 1), rec(undefined, 2), rec('sql', 3)], new MemoryState());
    expect(notes(r)).toEqual(['[{"key":"k1"}]', 'n', '[{"key":"k3"}]']);
    expect(asked).toEqual([['SELECT key FROM t WHERE id = $1', 1], ['SELECT key FROM t WHERE id = $1', 3]]);
    c.close();
  });

  it('wasm-host - a failing query dead-letters its record with the reason; the batch goes on', async () => {
    const c = await chain(async (_q, params) => {
      if (params[0] === 2) throw new Error('DELETE is not allowed');
      return [];
    });
    const r = await c.run([rec('sql', 1), rec('sql', 2), rec('sql', 3)], new MemoryState());
    expect(r.outputs.map((o) => o.input)).toEqual([0, 2]);
    expect(r.failures.map((f) => [f.input, f.reason.replace(/ \(at .*\)$/, '')])).toEqual([[1, 'ctx.sql failed: DELETE is not allowed']]);
    c.close();
  });

  it('wasm-host - time spent in SQL counts against the function timeout: the query gets the time left, the call ends at the deadline', async () => {
    const given: number[] = [];
    let release!: () => void;
    const never = new Promise<void>((r) => (release = r));
    const c = await chain(async (_q, _p, options) => {
      given.push(options?.timeoutMs ?? Infinity);
      await never;
      return [{ key: 'too late' }];
    }, 400);
    const t = performance.now();
    const r = await c.run([rec('sql', 1)], new MemoryState());
    const took = performance.now() - t;
    release();
    expect(r.outputs).toEqual([]);
    expect(r.failures.map((f) => f.reason)).toEqual(['timed out after 400 ms (function-timeout)']);
    // The query was told how long it may run (the store sets it as its statement_timeout).
    expect(given.length).toBeGreaterThanOrEqual(1);
    for (const ms of given) expect(ms).toBeGreaterThan(0);
    for (const ms of given) expect(ms).toBeLessThanOrEqual(400);
    // Not forever: the call ended at its deadline (plus a busy machine's scheduling).
    expect(took).toBeLessThan(10_000);
    // A query within the time is answered.
    const quick = await chain(async () => (await delay(50), [{ key: 'quick' }]), 5_000);
    expect(notes(await quick.run([rec('sql', 1)], new MemoryState()))).toEqual(['[{"key":"quick"}]']);
    c.close();
    quick.close();
  });

  it('wasm-host - while a guest waits for SQL, a chain on another worker goes on and one on the same worker waits', async () => {
    // Two workers: the chains' first two instances go to different ones, the third joins one of them.
    const two = await openKindsHost({ workers: 2 });
    try {
      // A long limit: the held query's wait is the function's time.
      const make = async (sql: WasmChainOptions['sql'] | undefined) =>
        (await two.build.componentFor(['kinds.risky']))!.chain({ steps: [{ id: 'kinds.risky', operator: 'map' }], timeoutMs: 60_000, ...(sql ? { sql } : {}) });
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const waiting = await make(async () => (await gate, [{ key: 'late' }]));
      const other = await make(undefined);
      // One state per chain (a unit's partition): one instance each.
      const [w, o, t] = [new MemoryState(), new MemoryState(), new MemoryState()];
      // Both instances exist (one per worker) before the gate closes on the first.
      await Promise.all([waiting.run([rec(undefined)], w), other.run([rec(undefined)], o)]);
      expect(two.host.stats.workers).toBe(2);
      const first = waiting.run([rec('sql', 1)], w);
      await delay(50);
      expect(notes(await other.run([rec(undefined, 7)], o))).toEqual(['n']);
      // A third chain shares a worker: the busy one has a call pending, so it goes to the other...
      const third = await make(undefined);
      expect(notes(await third.run([rec(undefined, 8)], t))).toEqual(['n']);
      // ...and a second call of the waiting chain queues behind the first.
      let secondDone = false;
      const second = waiting.run([rec(undefined, 9)], w).then((r) => ((secondDone = true), r));
      await delay(100);
      expect(secondDone).toBe(false);
      release();
      expect(notes(await first)).toEqual(['[{"key":"late"}]']);
      expect(notes(await second)).toEqual(['n']);
      for (const c of [waiting, other, third]) c.close();
    } finally {
      await two.host.close();
    }
  });

  it('wasm-host - without a query runner, ctx.sql fails the record saying state is in memory', async () => {
    const c = await chain(undefined);
    const r = await c.run([rec('sql', 1)], new MemoryState());
    expect(r.failures.map((f) => f.reason)).toEqual([expect.stringContaining('this run keeps its state in memory')]);
    c.close();
  });
});
