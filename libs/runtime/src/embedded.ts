/**
 * The embedded runtime: the whole plan in one process. Topics live on the in-memory bus;
 * state and progress go to a checkpoint store (PGlite under `.ssdk/` from the CLI, so they
 * survive a restart); every operator unit runs the same host loop as an operator service.
 */
import { createMemoryBus, type Bus } from '@ssdk/bus';
import { decodeFrame, encodeFrame, frameTimestamp, type RawRecord } from '@ssdk/records';
import type { StateStore } from '@ssdk/state';
import type { PhysicalPlan } from '@ssdk/plan';
import { referenceArray, wellFormed, type EngineRecord, type Key, type MemoryState } from '@ssdk/engine';
import { CarriedBatch, carry, carryingBus } from './carried.ts';
import { channelOf } from './channel.ts';
import { memoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
import { UnitMetrics, type UnitMetricsSnapshot } from './metrics.ts';
import type { UnitObserver } from './observer.ts';
import { buildTopology, keyPartition, type IsolationChoice, type PlanFunctions, type RuntimeTopic, type Topology } from './topology.ts';
import { runUnitTask } from './unit-task.ts';
import { failingReason, type RestartOptions } from './failing.ts';
import { EmbeddedCommits } from './embedded-commits.ts';
import { migratePlanState } from './partitioned-checkpoints.ts';
import { backToTopics, emptyResult, serviceUnit, type RedriveResult } from './redrive.ts';

export interface EmbeddedOptions {
  plan: PhysicalPlan;
  /** The plan's functions (`sourceFunctions` compiles them from the services file); a sandboxed step needs `functions.sandbox`. */
  functions: PlanFunctions;
  /** Where functions run (see `TopologyOptions.isolation`). @default 'plan' */
  isolation?: IsolationChoice;
  /**
   * Where state and progress are committed: the same tables and layout as operator services
   * (every partition, no fence), all units together at consistent cuts (embedded-commits.ts).
   * Without it, `checkpoints` (default: in memory, nothing survives the process).
   */
  store?: StateStore;
  /** @default an in-memory store (nothing survives the process); ignored with `store` */
  checkpoints?: CheckpointStore;
  /**
   * The sources get the same records again as in the run being resumed (`ssdk run --resume` of
   * the same input files): what that run committed is skipped. Otherwise sources are read from
   * their start (the shell, new input). Only with `store`. @default false
   */
  replayInputs?: boolean;
  /**
   * What earlier runs' cuts stored for the sinks stays as it is (neither published again nor
   * forgotten), and this run's sink outputs are stored after it: a run that adds to the last
   * one without replaying it (`ssdk redrive`). Only with `store`, without `replayInputs`.
   * @default false
   */
  keepOutputs?: boolean;
  /**
   * A unit that alone reads a topic one branch of another unit alone writes runs its steps in
   * that unit (`TopologyOptions.soleReaders`, sole-reader.ts): what users see stays the same.
   * Off: every unit of the plan runs on its own (tests compare the two). @default true, but
   * false with an observer that reports per operator (traces, metric series: `UnitObserver.perOperator`)
   */
  soleReaders?: boolean;
  /** Messages per fetch per channel. @default 64 */
  batchMessages?: number;
  /** Records per frame when producing. @default 500 */
  produceBatch?: number;
  now?: () => number;
  /** Tracing, metrics and function logs of every unit (observer.ts). */
  observer?: UnitObserver;
  /**
   * A batch a unit cannot finish for a reason not of a record (a step throwing outside any
   * record, the store away) is tried again, the unit `failing` meanwhile (failing.ts); after the
   * last attempt the run fails with the reason. @default 5 attempts, 200 ms to 5 s apart
   */
  restart?: RestartOptions;
}

export interface ProduceRecord {
  key?: Key | null;
  value: unknown;
  timestamp?: number;
  headers?: Record<string, string>;
}

export interface EmbeddedDataflow {
  topology: Topology;
  bus: Bus;
  /** A topic by id or name (an unknown one throws, naming the dataflow's topics). */
  topicOf(topic: string): RuntimeTopic;
  /** Writes records to a topic (by id or name), spread over partitions by key (round-robin without one). */
  produce(topic: string, records: readonly ProduceRecord[]): Promise<void>;
  /** Marks the end of input on topics (default: every topic the dataflow only reads). */
  endInput(topics?: readonly string[]): Promise<void>;
  /** Resolves once every unit has seen the end of all its inputs and flushed. */
  ended(): Promise<void>;
  /** Resolves once every unit has read everything published to its inputs, and committed it. */
  idle(): Promise<void>;
  /** Commits what every unit has processed (with `store`; at once otherwise). */
  checkpoint(): Promise<void>;
  /** Every record on a topic so far, decoded, in partition order. */
  read(topic: string): Promise<EngineRecord[]>;
  metrics(): UnitMetricsSnapshot[];
  /**
   * `ssdk redrive` of an embedded run: `service`'s dead letters that earlier runs' cuts stored
   * (and no redrive sent yet) go back to their records' topics and partitions on this process's
   * bus, the units process them, and once they are committed, a mark per dead-letter partition
   * (in the same cut) says how far the redrive went. Resolves when that is committed. Only with
   * `store` and `keepOutputs`.
   */
  redrive(service: string, options?: { since?: number }): Promise<RedriveResult>;
  stop(): Promise<void>;
}

export async function startEmbedded(o: EmbeddedOptions): Promise<EmbeddedDataflow> {
  const topology = await buildTopology(o.plan, o.functions, { ...(o.isolation ? { isolation: o.isolation } : {}), soleReaders: o.soleReaders ?? o.observer?.perOperator !== true });
  // One process: records travel between units as values, not bytes (carried.ts).
  const bus = carryingBus(createMemoryBus());
  const checkpoints = o.checkpoints ?? memoryCheckpointStore();
  // An internal topic is read by its units alone (no test, shell or output reads it): what they
  // have all acked — committed — goes, instead of every record of the run staying in memory.
  for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions, ...(t.kind === 'internal' ? { retention: 'interest' as const } : {}) });
  if (o.store) await migratePlanState(o.store, o.plan);
  const commits = o.store ? new EmbeddedCommits({ store: o.store, units: topology.units }) : undefined;
  await commits?.restoreOutputs(bus, [...topology.topics.values()], o.replayInputs ? 'replay' : o.keepOutputs ? 'keep' : 'forget');
  const msgIdScope = commits?.incarnation();
  const abort = new AbortController();
  const metrics = new Map(topology.units.map((u) => [u.id, new UnitMetrics(u.id)]));
  // A sole reader run in its writer's unit keeps its own metrics (records in, dead letters, state).
  const readerMetrics = new Map<string, Map<string, UnitMetrics>>();
  for (const u of topology.units) {
    if (!u.soleReaders) continue;
    const own = new Map(u.soleReaders.map((p) => [p.id, new UnitMetrics(p.id)]));
    for (const m of own.values()) m.setState('running');
    readerMetrics.set(u.id, own);
    for (const [id, m] of own) metrics.set(id, m);
  }
  let failure: unknown;
  // One process: a reader of another unit's state reads that unit's cache, as of its last batch.
  const owners = new Map<string, { name: string; state: MemoryState }>();
  const lookupRef = (table: string, key: Key): unknown => {
    const o = owners.get(table);
    return o?.state.lookup(o.name, key);
  };
  const onStateReady = (owned: ReadonlyArray<{ table: string; name: string }>, state: MemoryState) => {
    for (const s of owned) owners.set(s.table, { name: s.name, state });
  };
  const tasks = topology.units.map((unit) =>
    runUnitTask({
      unit,
      bus: commits ? commits.bus(unit, bus) : bus,
      checkpoints: commits ? commits.checkpoints(unit) : checkpoints,
      metrics: metrics.get(unit.id)!,
      ...(readerMetrics.has(unit.id) ? { readerMetrics: readerMetrics.get(unit.id)! } : {}),
      // The in-memory bus starts empty in every process: committed offsets point into a log
      // that no longer exists, so reading starts at its beginning; state and progress resume.
      // Sources given the same input again resume where the last run committed.
      resumeOffsets: commits && o.replayInputs ? (t) => !commits.inProcess(t) : false,
      ...(msgIdScope ? { msgIdScope } : {}),
      ...(commits ? { hold: (t: RuntimeTopic) => !commits.inProcess(t) && commits.holdSources() } : {}),
      lookupRef,
      onStateReady,
      ...(o.batchMessages ? { batchMessages: o.batchMessages } : {}),
      ...(o.now ? { now: o.now } : {}),
      ...(o.observer ? { observer: o.observer } : {}),
      restart: { maxAttempts: 5, ...o.restart },
      signal: abort.signal,
    })
      .then(() => {
        for (const m of readerMetrics.get(unit.id)?.values() ?? []) m.setState(metrics.get(unit.id)!.snapshot().state);
      })
      .catch((err: unknown) => {
        failure ??= err;
        metrics.get(unit.id)!.failed(failingReason(err));
        for (const m of readerMetrics.get(unit.id)?.values() ?? []) m.failed(failingReason(err));
        abort.abort();
      }),
  );
  const allDone = Promise.all(tasks);
  const topicOf = (idOrName: string): RuntimeTopic => {
    const t = topology.topics.get(idOrName) ?? [...topology.topics.values()].find((x) => x.name === idOrName);
    if (!t) throw new Error(`unknown topic \`${idOrName}\`: this dataflow has ${[...topology.topics.keys()].map((k) => `\`${k}\``).join(', ')}`);
    return t;
  };
  // Per topic, where keyless records go round its partitions from: where the last call left off.
  const rr = new Map<string, number>();
  const produceBatch = o.produceBatch ?? 500;
  const now = o.now ?? Date.now;

  const caughtUp = async (): Promise<boolean> => {
    for (const unit of topology.units) {
      if (metrics.get(unit.id)!.snapshot().state === 'ended') continue;
      for (const input of unit.inputs) {
        for (let p = 0; p < input.topic.partitions; p++) {
          const last = await bus.lastSeq(input.topic.name, p);
          if (last > (metrics.get(unit.id)!.offset(channelOf(input.topic.id, p)) ?? 0)) return false;
        }
      }
    }
    return true;
  };

  const df: EmbeddedDataflow = {
    topology,
    bus,
    topicOf,
    async produce(topic, records) {
      const t = topicOf(topic);
      // Per partition, the batches of up to `produceBatch` records.
      const byPartition = Array.from({ length: t.partitions }, () => referenceArray<CarriedBatch>(0));
      const room = Math.min(produceBatch, records.length / t.partitions);
      rr.set(t.id, batchesOf(t, records, produceBatch, room, rr.get(t.id) ?? 0, now, byPartition));
      for (let partition = 0; partition < byPartition.length; partition++) {
        const batches = byPartition[partition]!;
        if (batches.length > 0) await bus.publish(t.name, partition, batches.map((b) => ({ data: carry(b) })));
      }
    },
    async endInput(topics) {
      const ids = topics ?? [...topology.topics.values()].filter((t) => t.kind === 'source' || t.kind === 'schedule').map((t) => t.id);
      for (const id of ids) {
        const t = topicOf(id);
        for (let p = 0; p < t.partitions; p++) await bus.publish(t.name, p, [{ data: encodeFrame({ kind: 'end' }) }]);
      }
    },
    async checkpoint() {
      if (failure) throw failure;
      await commits?.drain();
    },
    async ended() {
      await allDone;
      if (failure) throw failure;
      await commits?.drain();
    },
    async idle() {
      // Twice in a row, so a unit that just published into a caught-up topic is seen too.
      let calm = 0;
      while (calm < 2) {
        if (failure) throw failure;
        if (await caughtUp()) calm++;
        else calm = 0;
        await new Promise((r) => setTimeout(r, 20));
      }
      // Idle means committed too: what `ctx.sql` and state readers see is what was processed.
      await commits?.drain();
    },
    async read(topic) {
      const t = topicOf(topic);
      const out: EngineRecord[] = [];
      for (let p = 0; p < t.partitions; p++) {
        const reader = bus.read(t.name, p);
        for (;;) {
          const messages = await reader.fetch(1000, 0);
          if (messages.length === 0) break;
          for (const m of messages) {
            const f = decodeFrame(m.data);
            if (f.kind !== 'data') continue;
            for (const r of f.records) {
              out.push({ key: r.key ? t.key.decode(r.key) : null, value: decodeLoose(t, r.value), timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) });
            }
          }
        }
        await reader.close();
      }
      return out;
    },
    metrics: () => [...metrics.values()].map((m) => m.snapshot()),
    async redrive(service, ro = {}) {
      if (!commits || !o.keepOutputs) throw new Error('redrive: the embedded runtime needs a store and keepOutputs (the dead letters are what earlier runs stored)');
      // A sole reader's letters are its own still (run in its writer's unit, it reads the same topic).
      const dlq = topology.units.flatMap((u) => u.soleReaders ?? []).find((p) => p.service === service)?.deadLetter ?? serviceUnit(topology, service).deadLetter;
      const result = emptyResult();
      for (let p = 0; p < dlq.partitions; p++) {
        const mark = await redrivenThrough(o.store!, dlq, p);
        const letters: Array<{ at: string; records: RawRecord[] }> = [];
        let last: { row: number; index: number } | undefined;
        for (const { row, messages } of await commits.storedOutputs(`${dlq.name}/${p}`)) {
          messages.forEach((m, index) => {
            if (mark && (row < mark.row || (row === mark.row && index <= mark.index))) return;
            const frame = decodeFrame(m.data);
            letters.push({ at: `${row}.${index}`, records: frame.kind === 'data' ? frame.records : [] });
            last = { row, index };
          });
        }
        if (!last) continue;
        const groups = backToTopics(topology, dlq, p, letters, ro.since, result);
        // Sequences the messages will have (nothing else publishes to a topic here meanwhile), set
        // to what the bus answers once they are published.
        const upTo: Array<{ unit: string; channel: string; seq: number; group: number }> = [];
        for (const [gi, g] of groups.entries()) {
          const seq = (await bus.lastSeq(g.topic.name, g.partition)) + g.messages.length;
          for (const u of topology.units) if (u.inputs.some((i) => i.topic.name === g.topic.name)) upTo.push({ unit: u.id, channel: channelOf(g.topic.id, g.partition), seq, group: gi });
        }
        commits.commitOnceRead([{ operator: redrivenOperator(dlq, p), partition: 0, seq: last.row, meta: last }], upTo);
        for (const [gi, g] of groups.entries()) {
          const acks = await bus.publish(g.topic.name, g.partition, g.messages);
          const seq = Math.max(0, ...acks.map((a) => a.seq));
          for (const u of upTo) if (u.group === gi) u.seq = seq;
        }
      }
      await df.idle();
      return result;
    },
    async stop() {
      // What is in flight between units is processed and committed first (sources held).
      if (commits && !failure && !abort.signal.aborted) await Promise.race([commits.drain(), allDone.then(() => (failure ? undefined : commits.drain()))]);
      abort.abort();
      await allDone;
      commits?.close();
      await bus.close();
      if (failure) throw failure;
    },
  };
  return df;
}

/**
 * A value as a reader of a topic shows it: decoded by the topic's type, else as plain JSON, else
 * as text (topics hold what operators and producers wrote, not always the declared type).
 */
export function decodeLoose(t: RuntimeTopic, bytes: Uint8Array): unknown {
  try {
    return t.value.decode(bytes);
  } catch {
    const text = new TextDecoder().decode(bytes);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
}

/** The `_offsets` row of how far `ssdk redrive` sent a dead-letter partition's stored letters back. */
function redrivenOperator(dlq: RuntimeTopic, partition: number): string {
  return `${dlq.name}/${partition}#redriven`;
}

/** The last stored letter (row of a cut, message in it) a redrive sent back, if any. */
async function redrivenThrough(store: StateStore, dlq: RuntimeTopic, partition: number): Promise<{ row: number; index: number } | undefined> {
  const rows = await store.offsets(redrivenOperator(dlq, partition));
  return rows.get(0)?.meta as { row: number; index: number } | undefined;
}

/**
 * Puts `records` into carried batches of up to `size` records (made with `room`), in order, at the
 * end of their partition's list in `byPartition` (one per partition); keyless records go round
 * the partitions from `next`, and the returned position is where the next call goes on.
 *
 * A function of its own, not a loop in `produce`, and nothing but the loop in it: V8 compiles a
 * long loop while it runs (on-stack replacement), before any code after it has run, and code
 * with no feedback yet is compiled to give up. In `produce` that was the publishing after the
 * loop (the compiled loop was dropped on leaving it, every call) and the batches looked for past
 * an array's end; in a cold 300 000-sentence word count `produce` was compiled five times, one of
 * them thrown away mid-compile, about a sixth of the run's compile time. Code before the loop
 * has no feedback either the first time (V8 makes a function's feedback store only once the
 * function has run a while): `room` is worked out by the caller.
 */
function batchesOf(t: RuntimeTopic, records: readonly ProduceRecord[], size: number, room: number, next: number, now: () => number, byPartition: CarriedBatch[][]): number {
  // By index, not `for…of`: the first calls run before the loop is optimized, where an
  // iterator makes an object per record (~12 MB of a 300 000-reading run).
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const key = r.key === undefined || r.key === null ? null : t.key.carry(r.key);
    let partition: number;
    if (key !== null) partition = keyPartition(t, key);
    else partition = next++ % t.partitions;
    // The partition's last batch is the one filling. Its list is there from the start, an array
    // of references from birth (`referenceArray`): a read past an array's end, or the lists of the next
    // call being arrays of another kind, threw the compiled loop away.
    const batches = byPartition[partition]!;
    let batch = batches.length === 0 ? undefined : batches[batches.length - 1]!;
    if (batch === undefined || batch.length >= size) batches.push((batch = new CarriedBatch(t, room)));
    // Values are written as given (bytes as they are, raw strings as text, anything else as
    // JSON); the first operator checks them against the topic's type, so a bad input record
    // is dead-lettered there, with the reason, like any other. Headers are copied only when
    // there are some.
    const timestamp = frameTimestamp(r.timestamp ?? now());
    const headers = r.headers ? { ...r.headers } : undefined;
    if (r.value instanceof Uint8Array) batch.push(key, undefined, timestamp, headers, r.value.slice());
    else if (t.converter === 'raw') batch.push(key, typeof r.value === 'string' ? wellFormed(r.value) : JSON.stringify(r.value), timestamp, headers);
    else {
      // A value of the topic's usual shape that passes its check goes as a checked snapshot
      // (the same copy), which readers need not check again; any other, as JSON would give it.
      const usual = t.value.usual?.snapshot(r.value);
      if (usual !== undefined) batch.push(key, usual, timestamp, headers, undefined, true);
      else batch.push(key, t.value.copy(r.value), timestamp, headers);
    }
  }
  // Only a local after the loop: the loop is compiled on the stack in the first call, before
  // any code after it has run, and a property access there would find no feedback and drop it.
  return next;
}
