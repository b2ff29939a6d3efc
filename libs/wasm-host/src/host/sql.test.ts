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

  it('wasm-host - time spent in SQL does not count against the function timeout', async () => {
    const c = await chain(async () => (await delay(600), [{ key: 'slow' }]), 300);
    const r = await c.run([rec('sql', 1)], new MemoryState());
    expect(r.failures).toEqual([]);
    expect(notes(r)).toEqual(['[{"key":"slow"}]']);
    c.close();
  });

  it('wasm-host - other chains wait while a guest waits for SQL, and both finish correctly', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const waiting = await chain(async () => (await gate, [{ key: 'late' }]));
    const other = await chain(undefined);
    const first = waiting.run([rec('sql', 1)], new MemoryState());
    const second = other.run([rec(undefined, 7)], new MemoryState());
    let secondDone = false;
    void second.then(() => (secondDone = true));
    await delay(100);
    expect(secondDone).toBe(false);
    release();
    expect(notes(await first)).toEqual(['[{"key":"late"}]']);
    expect((await second).outputs.map((o) => (o.value as { id: number }).id)).toEqual([7]);
    waiting.close();
    other.close();
  });

  it('wasm-host - without a query runner, ctx.sql fails the record saying state is in memory', async () => {
    const c = await chain(undefined);
    const r = await c.run([rec('sql', 1)], new MemoryState());
    expect(r.failures.map((f) => f.reason)).toEqual([expect.stringContaining('this run keeps its state in memory')]);
    c.close();
  });
});
