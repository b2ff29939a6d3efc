/**
 * `ssdk redrive`'s core (issue 14 part 4): dead letters go back to the topic and partition of
 * their own record, the unit that dead-lettered them reads them again (after a fix: here a
 * function that no longer throws), and a second redrive sends nothing twice. The same on both
 * data paths: records carried in process (the embedded runtime's bus) and frames on NATS.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryBus, type Bus } from '@ssdk/bus';
import { MemoryState } from '@ssdk/engine';
import type { PhysicalPlan } from '@ssdk/plan';
import { openPostgresStore, type Commit, type StateStore } from '@ssdk/state';
import { encodeRecords } from '@ssdk/records';
import { testNats, testPostgres, until } from '@ssdk/testing';
import { carryingBus } from './carried.ts';
import { memoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
import { cleanupsAfterAll, countWordsServices, nativeTopologyOf, natsBusOf, planNative } from './dataflow.testkit.ts';
import { UnitMetrics } from './metrics.ts';
import { redriveDeadLetters } from './redrive.ts';
import { startEmbedded } from './embedded.ts';
import { committedCheckpoints } from './partitioned-checkpoints.ts';
import type { Topology } from './topology.ts';
import { runUnitTask } from './unit-task.ts';

/** `broken` throws for the words it names; the fix throws for none. */
const services = (broken: string[]) => countWordsServices('h1-redrive', broken);

const cleanups = cleanupsAfterAll();

async function plannedOf(broken: string[]) {
  const { plan, functions } = await planNative(services(broken), { fuse: true });
  return { plan, functions };
}

const topologyOf = (broken: string[], subjectPrefix?: string): Promise<Topology> => nativeTopologyOf(services(broken), { fuse: true, subjectPrefix });

/** `store`, with every commit made through it kept in `seen`. */
function spying(store: StateStore, seen: Commit[]): StateStore {
  return new Proxy(store, {
    get(target, p) {
      if (p === 'commit') {
        return async (c: Commit) => {
          seen.push(c);
          return target.commit(c);
        };
      }
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The committed counts of an embedded run's store. */
async function countsIn(store: StateStore, plan: PhysicalPlan): Promise<Record<string, unknown>> {
  const s = plan.states.find((x) => x.name === 'per-word')!;
  const cache = new MemoryState();
  await committedCheckpoints(store).loadState('', [{ name: s.name, table: s.table, access: 'read' }], cache);
  return Object.fromEntries(cache.entries('per-word'));
}

/** Runs the one unit from its committed offsets until it has read through `seq` of `words`, then stops it. */
async function runThrough(topology: Topology, bus: Bus, checkpoints: CheckpointStore, seq: number) {
  const unit = topology.units[0]!;
  const metrics = new UnitMetrics(unit.id);
  const stop = new AbortController();
  const task = runUnitTask({ unit, bus, checkpoints, metrics, signal: stop.signal });
  await until(`words read through ${seq}`, () => (metrics.offset('words/0') ?? 0) >= seq, 20_000);
  stop.abort();
  await task;
  const state = new MemoryState();
  await checkpoints.loadState(unit.id, unit.plan.states, state);
  return { failed: metrics.snapshot().failed, state: Object.fromEntries(state.entries('per-word')) };
}

async function scenario(bus: Bus, subjectPrefix?: string) {
  const broken = await topologyOf(['boom', 'bang'], subjectPrefix);
  for (const t of broken.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
  const words = broken.topics.get('words')!;
  const checkpoints = memoryCheckpointStore();
  await bus.publish(words.name, 0, [{ data: encodeRecords(['a', 'boom', 'b', 'bang', 'a'].map((w) => ({ key: null, value: JSON.stringify(w), timestamp: 1_000 }))) }]);
  const first = await runThrough(broken, bus, checkpoints, 1);

  // Half a fix: 'boom' counts now, 'bang' still throws. Redriven, 'bang' is dead-lettered again.
  const half = await topologyOf(['bang'], subjectPrefix);
  const redrive1 = await redriveDeadLetters({ bus, topology: half, service: 'count' });
  const second = await runThrough(half, bus, checkpoints, 2);
  // Nothing new since: a redrive now sends back only what failed again ('bang'), once.
  const fixed = await topologyOf([], subjectPrefix);
  const redrive2 = await redriveDeadLetters({ bus, topology: fixed, service: 'count' });
  const third = await runThrough(fixed, bus, checkpoints, 3);
  const redrive3 = await redriveDeadLetters({ bus, topology: fixed, service: 'count' });
  return { first, redrive1, second, redrive2, third, redrive3 };
}

describe('runtime - redrive', () => {
  it('runtime - dead letters go back through the unit that made them, by their own topic and partition, once each, in process and on NATS alike', async () => {
    const nats = await testNats({ prefix: 'h1_redrive' });
    const natsBus = await natsBusOf(nats, cleanups);
    for (const r of [await scenario(carryingBus(createMemoryBus())), await scenario(natsBus, nats.prefix)]) {
      expect(r.first.state).toEqual({ a: 2, b: 1 });
      expect(r.first.failed).toBe(2);
      expect(r.redrive1).toMatchObject({ read: 2, redriven: 2, older: 0, skipped: [], byTopic: { words: 2 } });
      expect(r.second.state).toEqual({ a: 2, b: 1, boom: 1 });
      expect(r.second.failed).toBe(1);
      // Only the dead letter made since the last redrive: 'bang', which failed again.
      expect(r.redrive2).toMatchObject({ read: 1, redriven: 1 });
      expect(r.third.state).toEqual({ a: 2, b: 1, boom: 1, bang: 1 });
      expect(r.third.failed).toBe(0);
      expect(r.redrive3).toMatchObject({ read: 0, redriven: 0 });
    }
  }, 90_000);

  it('runtime - --since leaves older dead letters for later, and an unknown service is a clear error', async () => {
    const bus = carryingBus(createMemoryBus());
    const broken = await topologyOf(['old', 'new']);
    for (const t of broken.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    await bus.publish(broken.topics.get('words')!.name, 0, [{ data: encodeRecords([{ key: null, value: '"old"', timestamp: 1_000 }, { key: null, value: '"new"', timestamp: 5_000 }]) }]);
    await runThrough(broken, bus, memoryCheckpointStore(), 1);
    const r = await redriveDeadLetters({ bus, topology: await topologyOf([]), service: 'count', since: 2_000 });
    expect(r).toMatchObject({ read: 2, redriven: 1, older: 1 });
    await expect(redriveDeadLetters({ bus, topology: broken, service: 'nope' })).rejects.toThrow('the dataflow has no service `nope`: its services are `count`');
  }, 30_000);

  it('runtime - an embedded run\'s stored dead letters go back through the unit after a fix, once each, the mark committed with what they did', async () => {
    const pg = await testPostgres();
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
    cleanups.push(() => pg.cleanup(), () => store.close());
    const words = ['a', 'boom', 'b', 'bang', 'a'];
    // The run: two records dead-lettered, stored with the sinks at its cuts.
    const broken = await plannedOf(['boom', 'bang']);
    const run = await startEmbedded({ ...broken, isolation: 'native', store });
    await run.produce('words', words.map((value) => ({ value, timestamp: 1_000 })));
    await run.idle();
    expect(run.metrics()[0]!.failed).toBe(2);
    await run.stop();
    expect(await countsIn(store, broken.plan)).toEqual({ a: 2, b: 1 });

    // Half a fix, redriven: 'boom' counts, 'bang' fails again (a new dead letter, stored after the mark).
    const half = await plannedOf(['bang']);
    const seen: Commit[] = [];
    const first = await startEmbedded({ ...half, isolation: 'native', store: spying(store, seen), keepOutputs: true });
    expect(await first.redrive('count')).toMatchObject({ read: 2, redriven: 2, skipped: [], byTopic: { words: 2 } });
    expect(first.metrics()[0]).toMatchObject({ recordsIn: 2, failed: 1 });
    await first.stop();
    // The mark is in the one transaction that commits the unit's reading of the letters sent back
    // (two messages, seq 1 and 2, on the new process's topic): a redrive killed before it sends
    // them all again, one killed after it none.
    const marked = seen.filter((c) => c.offsets.some((o) => o.operator.endsWith('#redriven')));
    expect(marked).toHaveLength(1);
    expect(marked[0]!.offsets.find((o) => o.operator === first.topology.units[0]!.id)?.meta).toMatchObject({ channels: { 'words/0': 2 } });
    // …and nothing of what they did was committed before it, in a cut of its own.
    expect(seen.slice(0, seen.indexOf(marked[0]!)).flatMap((c) => [...c.writes, ...c.offsets])).toEqual([]);
    expect(await countsIn(store, half.plan)).toEqual({ a: 2, b: 1, boom: 1 });

    // The whole fix: only what failed since the last redrive goes back.
    const fixed = await plannedOf([]);
    const second = await startEmbedded({ ...fixed, isolation: 'native', store, keepOutputs: true });
    expect(await second.redrive('count')).toMatchObject({ read: 1, redriven: 1 });
    expect(second.metrics()[0]).toMatchObject({ recordsIn: 1, failed: 0 });
    await second.stop();
    expect(await countsIn(store, fixed.plan)).toEqual({ a: 2, b: 1, boom: 1, bang: 1 });

    // Again: nothing left to send, the state stays.
    const third = await startEmbedded({ ...fixed, isolation: 'native', store, keepOutputs: true });
    expect(await third.redrive('count')).toMatchObject({ read: 0, redriven: 0 });
    expect(third.metrics()[0]!.recordsIn).toBe(0);
    await third.stop();
    expect(await countsIn(store, fixed.plan)).toEqual({ a: 2, b: 1, boom: 1, bang: 1 });
    // A run without a store has nothing stored to send back.
    const bare = await startEmbedded({ ...fixed, isolation: 'native' });
    await expect(bare.redrive('count')).rejects.toThrow('needs a store');
    await bare.stop();
  }, 90_000);
});
