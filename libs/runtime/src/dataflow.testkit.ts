/**
 * Set-ups the runtime's tests share, from a dataflow the test keeps as text: planned with its
 * functions native, its units run to the end of their input on either data path (records carried
 * in process, frames on NATS), an operator's NATS and PostgreSQL, and what a topic holds. Each
 * test file wrote these again; a test now says only what differs (its text, its records, its
 * servers' prefix) and asserts on the same results.
 */
import { afterAll } from 'vitest';
import { createMemoryBus, createNatsBus, type Bus, type NatsBus } from '@ssdk/bus';
import { MemoryState } from '@ssdk/engine';
import { planOrThrow, type PlanOptions, type ServicesFilePlan } from '@ssdk/plan';
import { decodeFrame, encodeFrame, encodeRecords, type OutRecord } from '@ssdk/records';
import { dataflowSchema, openPostgresStore, type StateStore } from '@ssdk/state';
import { testNats, testPostgres, writeServicesFile, type TestNats, type TestPostgres } from '@ssdk/testing';
import { carryingBus } from './carried.ts';
import { memoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
import { decodeLoose, type EmbeddedDataflow, type ProduceRecord } from './embedded.ts';
import { sourceFunctions } from './functions.ts';
import { UnitMetrics } from './metrics.ts';
import { guardForBenchmarks } from './native-executor.ts';
import { nativeTopology, type OperatorOptions } from './operator.ts';
import type { PlanFunctions, RuntimeTopic, Topology } from './topology.ts';
import { runUnitTask } from './unit-task.ts';

/** What a test file's `afterAll` undoes, last first. */
export type Cleanups = Array<() => Promise<void>>;

/** The test file's cleanups: after its tests, each runs, last first, whether or not the others failed. */
export function cleanupsAfterAll(): Cleanups {
  const cleanups: Cleanups = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });
  return cleanups;
}

export interface NativeDataflow extends ServicesFilePlan {
  /** The folder of the services file (a test may put its inputs and state beside it). */
  dir: string;
  /** The functions, run in this process from the services file. */
  functions: PlanFunctions;
}

/**
 * `text` written to a services file and planned as every caller plans (`planOrThrow`), with one
 * partition unless `options` say otherwise; an error of the text or the plan throws with its
 * diagnostics. `subjectPrefix: undefined` is the default prefix, as if left out.
 */
export async function planNative(text: string, options: PlanOptions = {}): Promise<NativeDataflow> {
  const { dir, file } = await writeServicesFile(text);
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as PlanOptions;
  const planned = await planOrThrow(file, { partitions: 1, ...given });
  return { ...planned, dir, functions: { native: sourceFunctions(file, planned.dataflow) } };
}

/** `planNative`'s topology: every unit runs its functions in this process. */
export async function nativeTopologyOf(text: string, options: PlanOptions = {}): Promise<Topology> {
  const { file, plan, dataflow } = await planNative(text, options);
  return nativeTopology(file, plan, dataflow);
}

/** A bus on the test's NATS server under its prefix; `cleanups` deletes its streams and closes it. */
export async function natsBusOf(nats: Pick<TestNats, 'url' | 'prefix'>, cleanups: Cleanups): Promise<NatsBus> {
  const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
  cleanups.push(async () => {
    await bus.destroy();
    await bus.close();
  });
  return bus;
}

/**
 * Every value partition `partition` of `topic` holds now (reads up to its last sequence, so it
 * never waits for more): decoded by the topic's codec when given its runtime topic (what cannot
 * be decoded stays bytes, as in a dead letter), else parsed as JSON text.
 */
export async function readTopic(bus: Bus, topic: RuntimeTopic | string, partition = 0): Promise<unknown[]> {
  const name = typeof topic === 'string' ? topic : topic.name;
  const decode = typeof topic === 'string' ? (v: Uint8Array) => JSON.parse(new TextDecoder().decode(v)) as unknown : (v: Uint8Array) => decodeLoose(topic, v);
  const last = await bus.lastSeq(name, partition);
  const values: unknown[] = [];
  if (last === 0) return values;
  const reader = bus.read(name, partition);
  try {
    for (let seq = 0; seq < last; ) {
      const got = await reader.fetch(1_000, 2_000);
      if (got.length === 0) throw new Error(`topic ${name}/${partition} said its last sequence is ${last}, but nothing came after ${seq}`);
      for (const m of got) {
        seq = m.seq;
        const f = decodeFrame(m.data);
        if (f.kind === 'data') for (const r of f.records) values.push(decode(r.value));
      }
    }
  } finally {
    await reader.close();
  }
  return values;
}

/** A state store in its own schema of the test PostgreSQL; `cleanups` drops the schema and closes it. */
export async function postgresStoreOf(cleanups: Cleanups): Promise<StateStore> {
  const pg = await testPostgres();
  const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
  cleanups.push(() => pg.cleanup(), () => store.close());
  return store;
}

/**
 * Every record of the embedded run's `topics` now, as JSON would carry it; the services file's
 * temporary folder is cut out of the text (dead letters' reasons name the file, written afresh
 * for each run), so two runs of one dataflow compare equal.
 */
export async function embeddedTopics(df: EmbeddedDataflow, topics: readonly string[]): Promise<Record<string, unknown[]>> {
  const text = (v: unknown) => JSON.parse(JSON.stringify(v ?? null).replace(/\/tmp\/ssdk-services-[^/]+\//g, '')) as unknown;
  const out: Record<string, unknown[]> = {};
  for (const t of topics) out[t] = (await df.read(t)).map((r) => ({ key: r.key, value: text(r.value), timestamp: r.timestamp, headers: text(r.headers) }));
  return out;
}

/** The embedded run's metrics by service (the part of a unit's name before its first dot). */
export function metricsByService(df: EmbeddedDataflow): Record<string, { state: string; recordsIn: number; recordsOut: number; failed: number; late: number }> {
  const out: Record<string, { state: string; recordsIn: number; recordsOut: number; failed: number; late: number }> = {};
  for (const m of df.metrics()) out[m.operator.split('.')[0]!] = { state: m.state, recordsIn: m.recordsIn, recordsOut: m.recordsOut, failed: m.failed, late: m.late };
  return out;
}

/**
 * An embedded run stopped mid-input and resumed: `first` takes `input`'s first `cut` records on
 * `topic` and stops once idle; `second` (on the same store, replaying its inputs) is given them
 * again, then the rest, and runs to the end. The second run, ended, for the caller to read and stop.
 */
export async function resumedMidInput(first: () => Promise<EmbeddedDataflow>, second: () => Promise<EmbeddedDataflow>, topic: string, input: ProduceRecord[], cut: number): Promise<EmbeddedDataflow> {
  const a = await first();
  await a.produce(topic, input.slice(0, cut));
  await a.idle();
  await a.stop();
  const b = await second();
  await b.produce(topic, input.slice(0, cut));
  await b.produce(topic, input.slice(cut));
  await b.endInput();
  await b.ended();
  return b;
}

/** The value of the record at (seq, index) of partition 0 of an embedded run's topic: undefined when that message is not there. */
export async function embeddedRecordAt(df: EmbeddedDataflow, topic: string, seq: number, index: number): Promise<unknown> {
  const t = df.topicOf(topic);
  const reader = df.bus.read(t.name, 0, { afterSeq: seq - 1 });
  try {
    const [m] = await reader.fetch(1, 0);
    if (m?.seq !== seq) return undefined;
    const f = decodeFrame(m.data);
    return f.kind === 'data' ? t.value.decode(f.records[index]!.value) : undefined;
  } finally {
    await reader.close();
  }
}

/** A dead letter as the runtime writes it (the fields these tests read). */
export interface DeadLetter {
  reason: string;
  input: { topic: string; partition?: number; seq: number; index: number };
  truncated?: { bytes: number };
}

/** The kinds of topic a services file declares (the others are the plan's own). */
const DECLARED = new Set<RuntimeTopic['kind']>(['source', 'sink', 'intermediate', 'unused']);

export interface UnitsRun {
  /** What each topic the file declares holds, by id, decoded by its codec. */
  topics: Record<string, unknown[]>;
  /** What any topic of the dataflow (by id) holds, decoded by its codec. */
  read(topicId: string): Promise<unknown[]>;
  /** The dead letters of every dead-letter topic, topic by topic. */
  dead: DeadLetter[];
  /** The committed state of the unit that writes a state (none: empty). */
  state: Record<string, unknown>;
  /** Records the first unit read. */
  recordsIn: number;
  checkpoints: CheckpointStore;
  /** Calls the units made under a native time limit (`guardForBenchmarks.calls`). */
  guardedCalls: number;
}

export interface RunToEndOptions {
  /** Each record a message of its own (a unit then reads several and runs them together); else all in one. */
  oneRecordPerMessage?: boolean;
}

/**
 * Publishes `records` and the end to partition 0 of topic `source`, then runs every unit of the
 * one-partition `topology` to the end of its input, in order, each from the start of its input.
 */
export async function runUnitsToEnd(topology: Topology, bus: Bus, records: OutRecord[], source = 'words', o: RunToEndOptions = {}): Promise<UnitsRun> {
  for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
  const messages = o.oneRecordPerMessage ? records.map((r) => ({ data: encodeRecords([r]) })) : [{ data: encodeRecords(records) }];
  await bus.publish(topology.topics.get(source)!.name, 0, [...messages, { data: encodeFrame({ kind: 'end' }) }]);
  const checkpoints = memoryCheckpointStore();
  const metrics = topology.units.map((u) => new UnitMetrics(u.id));
  const calls = guardForBenchmarks.calls;
  for (const [i, unit] of topology.units.entries()) {
    await runUnitTask({ unit, bus, checkpoints, metrics: metrics[i]!, resumeOffsets: false, signal: new AbortController().signal });
  }
  const read = (id: string) => readTopic(bus, topology.topics.get(id)!);
  const topics: Record<string, unknown[]> = {};
  for (const t of topology.topics.values()) if (DECLARED.has(t.kind)) topics[t.id] = await read(t.id);
  const dead: DeadLetter[] = [];
  for (const id of topology.topics.keys()) if (id.endsWith('.dead-letter')) dead.push(...((await read(id)) as DeadLetter[]));
  const owner = topology.units.find((u) => u.plan.states.some((s) => s.access === 'read-write'));
  const state = new MemoryState();
  if (owner) await checkpoints.loadState(owner.id, owner.plan.states, state);
  return {
    topics,
    read,
    dead,
    state: owner ? Object.fromEntries(state.entries(owner.plan.states.find((s) => s.access === 'read-write')!.name)) : {},
    recordsIn: metrics[0]!.snapshot().recordsIn,
    checkpoints,
    guardedCalls: guardForBenchmarks.calls - calls,
  };
}

/**
 * `runUnitsToEnd` on both data paths, for a verdict that must not depend on the path: records
 * carried in process (the embedded runtime), then frames on the test's NATS server under a prefix
 * of its own (operator services). `cleanups` deletes the streams.
 */
export async function runOnBothPaths(text: string, records: OutRecord[], cleanups: Cleanups, options: PlanOptions = {}, run: RunToEndOptions = {}): Promise<[inProcess: UnitsRun, onNats: UnitsRun]> {
  const inProcess = await runUnitsToEnd(await nativeTopologyOf(text, options), carryingBus(createMemoryBus()), records, 'words', run);
  const nats = await testNats();
  const bus = await natsBusOf(nats, cleanups);
  const onNats = await runUnitsToEnd(await nativeTopologyOf(text, { ...options, subjectPrefix: nats.prefix }), bus, records, 'words', run);
  return [inProcess, onNats];
}

/**
 * `count` under the dataflow name `name`: the words of topic `words` counted per word (state
 * `per-word`, one unit when fused) and passed on to topic `counted`; the count throws for the
 * words in `broken` (a bug a test then fixes), so their records are dead-lettered.
 */
export function countWordsServices(name: string, broken: string[] = []): string {
  return `apiVersion: 0.5.0
meta: {name: ${name}, namespace: test, version: 0.1.0}
topics:
  words: {schema: {value: {type: string}}}
  counted: {schema: {value: {type: string}}}
services:
  count:
    sources: [{type: topic, id: words}]
    states:
      per-word:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    partition:
      assign-key:
        run: |
          function byWord(w: string): string {
            return w;
          }
      update-state:
        run: |
          function addUp(w: string, ctx: Ctx): void {
            if ((${JSON.stringify(broken)} as string[]).includes(w)) throw new Error('cannot count ' + w);
            ctx.state('per-word').increment(1);
          }
    sinks: [{type: topic, id: counted}]
`;
}

/** `bump` under the dataflow name `name`: one map (n + 1) from topic `nums` to topic `out`, both u32. */
export function bumpServices(name: string): string {
  return `apiVersion: 0.5.0
meta: {name: ${name}, namespace: test, version: 0.1.0}
topics:
  nums: {schema: {value: {type: u32}}}
  out: {schema: {value: {type: u32}}}
services:
  bump:
    sources: [{type: topic, id: nums}]
    transforms:
      - operator: map
        run: |
          function addOne(n: number): number {
            return n + 1;
          }
    sinks: [{type: topic, id: out}]
`;
}

export interface OperatorServers extends NativeDataflow {
  /** The plan's first operator. */
  operatorId: string;
  nats: TestNats;
  pg: TestPostgres;
  /** On `nats` under its prefix. */
  bus: NatsBus;
  /** `runOperator`'s options for the first operator on these servers (native, one partition, no telemetry); a test adds its signal and what it varies. */
  operator: Omit<OperatorOptions, 'signal'>;
}

/**
 * The dataflow of `text` (one partition) and this machine's NATS and PostgreSQL under a prefix of
 * the test's own: `cleanups` deletes the streams, the state schema the operator makes for that
 * prefix (not the test's schema: an operator given none makes its own) and the test's schema.
 */
export async function operatorServers(text: string, prefix: string, cleanups: Cleanups): Promise<OperatorServers> {
  const planned = await planNative(text);
  const nats = await testNats({ prefix });
  const pg = await testPostgres({ prefix });
  cleanups.push(() => pg.cleanup());
  const { namespace, name } = planned.dataflow.meta;
  cleanups.push(async () => {
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: dataflowSchema(namespace, name, nats.prefix) });
    await store.destroy();
    await store.close();
  });
  const bus = await natsBusOf(nats, cleanups);
  const operatorId = planned.plan.operators[0]!.id;
  const operator = { file: planned.file, operatorId, natsUrl: nats.url, databaseUrl: pg.connectionString, subjectPrefix: nats.prefix, partitions: 1, isolation: 'native', telemetry: false } as const;
  return { ...planned, operatorId, nats, pg, bus, operator };
}
