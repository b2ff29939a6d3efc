import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryState, type ChainInput } from '@ssdk/engine';
import { openKindsHost } from '../testing/fixture.ts';
import type { WasmBuild, WasmHost } from './host.ts';

// Several guest workers: each instance pinned to one, calls on different workers at the same time.
let host: WasmHost;
let build: WasmBuild;

beforeAll(async () => {
  ({ host, build } = await openKindsHost({ workers: 2 }));
}, 180_000);

afterAll(async () => {
  await host?.close();
});

const rec = (op: string | undefined, id = 1): ChainInput => ({ key: null, value: { id, amount: 900, note: 'n', ...(op ? { op } : {}) }, timestamp: 0 });
const ids = (r: { outputs: Array<{ value: unknown }> }) => r.outputs.map((o) => (o.value as { id: number }).id);

async function chain(timeoutMs: number) {
  return (await build.componentFor(['kinds.risky']))!.chain({ steps: [{ id: 'kinds.risky', operator: 'map' }], timeoutMs });
}

describe('wasm-host - worker pool', () => {
  it('wasm-host - a runaway guest on one worker neither blocks nor loses the instances of the other', async () => {
    const runaway = await chain(1000);
    const steady = await chain(5000);
    // One state each (a unit's partition): one instance each.
    const [a, b] = [new MemoryState(), new MemoryState()];
    // First calls place the two instances on the two workers.
    await Promise.all([runaway.run([rec(undefined)], a), steady.run([rec(undefined)], b)]);
    expect(host.stats.workers).toBe(2);
    const made = host.stats.instantiations;
    const restarts = host.stats.restarts;

    let looping = true;
    const stopped = runaway.run([rec(undefined, 1), rec('loop', 2)], a).finally(() => (looping = false));
    // While the other worker spins, this one answers batch after batch (the host thread is free).
    for (let i = 0; i < 5; i++) expect(ids(await steady.run([rec(undefined, 10 + i)], b))).toEqual([10 + i]);
    expect(looping).toBe(true);

    const r = await stopped;
    expect(ids(r)).toEqual([1]);
    expect(r.failures.map((f) => [f.input, f.reason])).toEqual([[1, 'timed out after 1000 ms (function-timeout)']]);
    expect(host.stats.restarts).toBeGreaterThan(restarts);
    // The worker that ran away took only its own instance: the steady chain's is still there.
    const after = host.stats.instantiations;
    expect(ids(await steady.run([rec(undefined, 20)], b))).toEqual([20]);
    expect(host.stats.instantiations).toBe(after);
    expect(ids(await runaway.run([rec(undefined, 21)], a))).toEqual([21]);
    expect(host.stats.instantiations).toBeGreaterThan(made);
    runaway.close();
    steady.close();
  }, 60_000);

  it('wasm-host - the partitions of one chain get an instance each, up to one per worker, and run side by side', async () => {
    const c = await chain(1000);
    const parts = [new MemoryState(), new MemoryState(), new MemoryState()];
    const made = host.stats.instantiations;
    for (const [i, p] of parts.entries()) expect(ids(await c.run([rec(undefined, i)], p))).toEqual([i]);
    // Two workers: the third partition shares an instance with one of the first two.
    expect(host.stats.instantiations - made).toBe(2);
    let looping = true;
    const stopped = c.run([rec('loop', 9)], parts[0]!).finally(() => (looping = false));
    expect(ids(await c.run([rec(undefined, 5)], parts[1]!))).toEqual([5]);
    expect(looping).toBe(true);
    expect((await stopped).failures.map((f) => f.reason)).toEqual(['timed out after 1000 ms (function-timeout)']);
    c.close();
  }, 60_000);
});
