/**
 * Fencing of the distributed runtime, directly: a replica whose lease expired and was taken
 * over (it was paused, or cut off) computes a checkpoint and tries to commit it; the commit is
 * refused in its own transaction and writes nothing, while its successor's commits go through.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryState } from '@ssdk/engine';
import { planOrThrow } from '@ssdk/plan';
import { partitionOfText } from '@ssdk/records';
import { migratePlanState, partitionedCheckpointStore } from '@ssdk/runtime';
import { FencedError, openPostgresStore, type Lease, type StateStore } from '@ssdk/state';
import { testPostgres } from '@ssdk/testing';
import { KEYED, FILE, sleep } from './word-count.testkit.ts';

import { nativeTopology } from '@ssdk/runtime';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function lease(store: StateStore, owner: string, ttlMs: number): Promise<Lease> {
  const r = await store.acquireLease({ operator: KEYED, partition: 1, owner, ttlMs });
  if (!r.acquired) throw new Error(`${owner} did not get the lease: ${JSON.stringify(r.holder)}`);
  return r.lease;
}

describe('operator fencing', () => {
  it('operator - a replica that lost its lease cannot commit over its successor', async () => {
    const pg = await testPostgres();
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
    cleanups.push(() => pg.cleanup(), () => store.close());
    const { plan, dataflow } = await planOrThrow(FILE, { partitions: 4 });
    await migratePlanState(store, plan);
    const unit = (await nativeTopology(FILE, plan, dataflow)).units.find((u) => u.id === KEYED)!;
    const owned = unit.plan.states.filter((s) => s.access === 'read-write');
    const channel = `${unit.inputs[0]!.topic.id}/1`;
    // A word whose records (and state row) live in partition 1.
    const word = ['bell', 'tide', 'fog', 'ship', 'rain', 'dock', 'gull'].find((w) => partitionOfText(JSON.stringify(w), 4) === 1)!;
    const commitAt = (leases: Lease[], seq: number, total: number) =>
      partitionedCheckpointStore({ store, unit, partitions: [1], leases }).commit(KEYED, owned, {
        changes: [{ state: 'word-totals', key: word, value: total }],
        dropped: [],
        offsets: new Map([[channel, seq]]),
        meta: null,
      });

    const stale = await lease(store, 'replica-a', 100);
    await commitAt([stale], 10, 1);
    await sleep(150); // replica a stalls past its lease; b takes the partition over
    const successor = await lease(store, 'replica-b', 60_000);
    expect(successor.epoch).toBe(stale.epoch + 1);
    await commitAt([successor], 20, 5);

    // a wakes up with a checkpoint computed under its old epoch: refused, nothing written.
    const refused = commitAt([stale], 15, 2);
    await expect(refused).rejects.toBeInstanceOf(FencedError);
    await expect(refused).rejects.toMatchObject({ partitions: [1] });
    const state = new MemoryState();
    const reader = partitionedCheckpointStore({ store, unit, partitions: [1], leases: [successor] });
    await reader.loadState(KEYED, owned, state);
    expect(state.get('word-totals', word)).toBe(5);
    expect((await reader.load(KEYED)).offsets.get(channel)).toBe(20);
    expect((await store.offsets(KEYED)).get(1)).toMatchObject({ seq: 20, epoch: successor.epoch });
  }, 30_000);
});
