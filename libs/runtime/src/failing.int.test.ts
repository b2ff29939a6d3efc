/**
 * A unit that cannot make progress says so and tries again (issue 14 part 3): a step that throws
 * outside any record (a guest that died, a host import that broke) makes the unit `failing` with
 * the reason, the batch is tried again after a bounded backoff from where it started (its state
 * writes taken back, so nothing is applied twice), and the unit is `running` again once it
 * commits. The same host loop on both data paths: records carried in process (embedded) and
 * frames on NATS JetStream (operator services).
 */
import { describe, expect, it } from 'vitest';
import { createMemoryBus, type Bus } from '@ssdk/bus';
import { MemoryState } from '@ssdk/engine';
import { encodeFrame, encodeRecords } from '@ssdk/records';
import { testNats, until } from '@ssdk/testing';
import { carryingBus } from './carried.ts';
import { memoryCheckpointStore } from './checkpoint.ts';
import { cleanupsAfterAll, countWordsServices, nativeTopologyOf, natsBusOf, readTopic } from './dataflow.testkit.ts';
import { UnitStepError } from './failing.ts';
import { UnitMetrics, type UnitMetricsSnapshot } from './metrics.ts';
import type { RuntimeUnit } from './topology.ts';
import { runUnitTask } from './unit-task.ts';

const SERVICES = countWordsServices('h1-failing');
const WORDS = ['a', 'b', 'a', 'c', 'a'];

const cleanups = cleanupsAfterAll();

/** The dataflow's one unit (fused), whose logic throws outside any record on its first `failures` calls. */
async function flakyUnit(subjectPrefix: string | undefined, failures: number, seen: UnitMetricsSnapshot[], metrics: () => UnitMetrics) {
  const topology = await nativeTopologyOf(SERVICES, { fuse: true, subjectPrefix });
  expect(topology.units).toHaveLength(1);
  const unit = topology.units[0]!;
  let left = failures;
  const flaky: RuntimeUnit = {
    ...unit,
    makeLogic(state, channels) {
      const logic = unit.makeLogic(state, channels);
      return {
        ...logic,
        async process(records, channel, now) {
          seen.push(metrics().snapshot());
          // Writes state first, as a step that breaks halfway would: the retry must not count it twice.
          const effects = await logic.process(records, channel, now);
          if (left-- > 0) throw new Error('the guest went away (worker exited with code 134)');
          return effects;
        },
      };
    },
  };
  return { topology, unit: flaky };
}

async function run(bus: Bus, subjectPrefix?: string) {
  const seen: UnitMetricsSnapshot[] = [];
  const held: { metrics?: UnitMetrics } = {};
  const { topology, unit } = await flakyUnit(subjectPrefix, 3, seen, () => held.metrics!);
  const metrics = (held.metrics = new UnitMetrics(unit.id));
  for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
  await bus.publish(topology.topics.get('words')!.name, 0, [{ data: encodeRecords(WORDS.map((w) => ({ key: null, value: JSON.stringify(w), timestamp: 1_000 }))) }]);
  const checkpoints = memoryCheckpointStore();
  const stop = new AbortController();
  const task = runUnitTask({
    unit,
    bus,
    checkpoints,
    metrics,
    resumeOffsets: false,
    restart: { initialDelayMs: 20, maxDelayMs: 60, maxAttempts: Infinity },
    signal: stop.signal,
  });
  // Running again once the batch is committed, with nothing left to say.
  await until('the batch committed and the unit running', () => metrics.offset('words/0') === 1 && metrics.snapshot().state === 'running', 20_000, () => JSON.stringify(metrics.snapshot()));
  const recovered = metrics.snapshot();
  stop.abort();
  await task;
  const state = new MemoryState();
  await checkpoints.loadState(unit.id, unit.plan.states, state);
  const out = await readTopic(bus, topology.topics.get('counted')!);
  return { seen, recovered, state: Object.fromEntries(state.entries('per-word')), out };
}

describe('runtime - a unit that cannot make progress', () => {
  it('runtime - a step failing outside any record shows failing with the reason, backs off, tries the batch again and runs on, in process and on NATS alike', async () => {
    const nats = await testNats({ prefix: 'h1_failing' });
    const natsBus = await natsBusOf(nats, cleanups);
    for (const r of [await run(carryingBus(createMemoryBus())), await run(natsBus, nats.prefix)]) {
      // The first attempt found the unit running; the next three found it failing, with why.
      expect(r.seen.map((s) => s.state)).toEqual(['running', 'failing', 'failing', 'failing']);
      expect(r.seen[1]!.reason).toMatch(/^count\.by-word: a step failed outside any record: the guest went away \(worker exited with code 134\)$/);
      expect(r.seen.map((s) => s.restarts)).toEqual([0, 1, 2, 3]);
      // Recovered: running, no reason; every record applied once, every output once.
      expect(r.recovered.state).toBe('running');
      expect(r.recovered.reason).toBeUndefined();
      expect(r.recovered.recordsIn).toBe(WORDS.length);
      expect(r.recovered.recordsOut).toBe(WORDS.length);
      expect(r.state).toEqual({ a: 3, b: 1, c: 1 });
      expect(r.out).toEqual(WORDS);
    }
  }, 60_000);

  it('runtime - after its last attempt the unit fails with the reason (a bounded run does not hang)', async () => {
    const seen: UnitMetricsSnapshot[] = [];
    const held: { metrics?: UnitMetrics } = {};
    const { topology, unit } = await flakyUnit(undefined, 10, seen, () => held.metrics!);
    const metrics = (held.metrics = new UnitMetrics(unit.id));
    const bus = carryingBus(createMemoryBus());
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    await bus.publish(topology.topics.get('words')!.name, 0, [{ data: encodeRecords([{ key: null, value: '"a"', timestamp: 1 }]) }, { data: encodeFrame({ kind: 'end' }) }]);
    const started = Date.now();
    const task = runUnitTask({ unit, bus, checkpoints: memoryCheckpointStore(), metrics, resumeOffsets: false, restart: { initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 3 }, signal: new AbortController().signal });
    await expect(task).rejects.toBeInstanceOf(UnitStepError);
    // Two waits between three attempts, each at least half its ceiling (50 → 25 ms, 100 → 50 ms).
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(seen).toHaveLength(3);
    expect(metrics.snapshot().restarts).toBe(2);
  }, 30_000);
});
