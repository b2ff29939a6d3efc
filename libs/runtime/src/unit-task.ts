/**
 * The operator host loop, written once for every runtime: read a batch of messages from the
 * unit's input channels, decode, run the unit's logic, publish what it produced (outputs, dead
 * letters, late events) with deterministic message ids, commit state + offsets + progress in
 * one checkpoint, then ack. A replay after a crash recomputes the same outputs from the same
 * committed state, and their ids make the bus drop the copies (docs/architecture.md section 4).
 */
import { heldRecordsJson, MemoryState, ownedRecord, recordValue, unreadRecord, type StateChange, type ChainFailure, type ChainOutput, type EngineRecord, type Key, type LateRecord, type ReadAs, type ValueSource, type WindowBounds } from '@ssdk/engine';
import type { Bus, BusMessage, PartitionReader, PublishMessage } from '@ssdk/bus';
import { decodeFrame, encodeFrame, encodeRecordFrames, frameBytesOf, frameTimestamp, partitionOfText, UNREADABLE_HEADER, type OutRecord, type ProgressEntry, type RawRecord } from '@ssdk/records';
import { carriedBatchOf, carriesRecords, carry, CarriedBatch, ownBytes } from './carried.ts';
import { channelOf, type Channel } from './channel.ts';
import type { CheckpointCommit, CheckpointStore } from './checkpoint.ts';
import type { UnitMetrics } from './metrics.ts';
import type { UnitObserver } from './observer.ts';
import type { RuntimeTopic, RuntimeUnit, SoleReaderPart } from './topology.ts';
import type { OperatorEffects, OperatorLogic, ReaderEffects } from '@ssdk/engine';
import { maxTimestamp, ProgressTracker } from './progress.ts';
import { scheduleReader } from './schedule.ts';
import { TtlPurger } from './ttl.ts';
import { compileRestart, isTransientUnitError, retrying, UnitStepError, type RestartOptions } from './failing.ts';
import { HELD_ROWS, heldRowId, heldRowKey } from './state-tables.ts';

export interface UnitTaskOptions {
  unit: RuntimeUnit;
  bus: Bus;
  checkpoints: CheckpointStore;
  metrics: UnitMetrics;
  /** Messages per fetch, per channel. @default 64 */
  batchMessages?: number;
  /** Frames stay under this size. @default 900_000 (NATS' max_payload is 1 MB) */
  maxFrameBytes?: number;
  /** How long a fetch waits for the first message, ms. @default 50 */
  pollMs?: number;
  /**
   * A task that reads one channel waits on it longer the longer it stays quiet (`pollMs`, then
   * twice as long each time, up to this): a message ends the wait at once, so only the clock's
   * work (idleness, `ttl` purges) comes up to this late, and a quiet process stops waking 20
   * times a second. The first quiet poll after a batch is `pollMs` as ever, so the progress a
   * batch left unpublished goes out as soon. Several channels are polled every `pollMs` (a wait
   * on one would hold back a message on another), and so is a schedule. @default pollMs
   */
  quietMaxMs?: number;
  /**
   * Which incarnation of the input streams this task reads (stream-check.ts): in the ids of the
   * messages it publishes, so the outputs of a stream made again are not dropped as duplicates
   * of the old one's (a replay of the same stream keeps its ids). @default none
   */
  msgIdScope?: string;
  /**
   * Resume from committed offsets (a durable bus, or input files read again), or read from the
   * start (an in-memory topic of a new process); per input topic when a function. @default true
   */
  resumeOffsets?: boolean | ((topic: RuntimeTopic) => boolean);
  /**
   * While it says so, the task reads nothing from the input topics it names (the embedded
   * runtime holds its sources back so a consistent cut can be committed, embedded-commits.ts).
   */
  hold?: (topic: RuntimeTopic) => boolean;
  now?: () => number;
  /**
   * Reads a state this unit does not write (a ref-state, or its service's state from another
   * unit), by table. Synchronous: in embedded mode it reads the owner's cache directly.
   */
  lookupRef?: (table: string, key: Key) => unknown;
  /**
   * The input partitions this task reads (a replica's share of the unit's partitions).
   * @default every partition of every input
   */
  partitions?: readonly number[];
  /**
   * Forward the end of input once every channel this task reads has ended. A replica that reads
   * only some partitions leaves it to whoever sees every partition ended. @default true
   */
  forwardEnd?: boolean;
  /**
   * Publish, commit and ack a batch while the next one is read and computed (one batch in
   * flight; commits stay in order). The loop otherwise waits on the servers for a large share of
   * its time. A failure surfaces one batch later, and the task restarts from the last commit as
   * ever. @default false
   */
  pipeline?: boolean;
  /**
   * With `pipeline`: a batch that publishes nothing and changes no state (progress frames that
   * moved no window, say) is acked without a commit of its own, its offsets going with the next
   * commit, at most this long after the last one. Committed offsets are the truth (a restart
   * reads on from them on a bus that keeps what was acked), so what such a batch read is read
   * again after a crash and comes to the same. @default 0 (every batch commits)
   */
  quietCommitMs?: number;
  /** Topics that get the end-of-input frame. @default the unit's outputs */
  endTopics?: readonly RuntimeTopic[];
  /** Tracing, metrics and function logs (observer.ts); without one the loop runs on the bare parts. */
  observer?: UnitObserver;
  /**
   * What the loop does when a batch cannot be finished for a reason that is not a record's (a
   * step that throws outside any record, the state store or the bus away): the unit reports
   * `failing` with the reason, waits (bounded exponential backoff with jitter) and tries the
   * batch again from where it started (failing.ts). @default one attempt: the error ends the task
   */
  restart?: RestartOptions;
  /** The metrics of the units whose steps run in this one (`RuntimeUnit.soleReaders`), by id: their records in and dead letters. */
  readerMetrics?: ReadonlyMap<string, UnitMetrics>;
  /** Called once the unit's own state is loaded, so readers elsewhere can look into it. */
  onStateReady?: (owned: ReadonlyArray<{ table: string; name: string }>, state: MemoryState) => void;
  signal: AbortSignal;
}

interface ChannelReader {
  channel: Channel;
  topic: RuntimeTopic;
  partition: number;
  reader: PartitionReader;
  ended: boolean;
  /** Values read as JSON.stringify writes them and kept (`keepingOf`), and how many of those went on as read. */
  keptAsWritten: number;
  passedAsRead: number;
  /** A sole reader's topic (`RuntimeUnit.inputs`' `tail`): only what the unit did not write itself is read from it. */
  tail?: SoleReaderPart;
  /** Its records' values are read when the unit's steps run them (`unreadRecord`), not as they come. */
  unread?: boolean;
}

/** Runs until every input has ended (resolves), or until `signal` aborts (resolves after the batch in hand). */
export async function runUnitTask(o: UnitTaskOptions): Promise<void> {
  const { unit, metrics } = o;
  const observed = o.observer?.observe({ unit, bus: o.bus, checkpoints: o.checkpoints, metrics });
  const bus = observed?.bus ?? o.bus;
  const checkpoints = observed?.checkpoints ?? o.checkpoints;
  const now = o.now ?? Date.now;
  const batchMessages = o.batchMessages ?? 64;
  const maxFrameBytes = o.maxFrameBytes ?? 900_000;
  const pollMs = o.pollMs ?? 50;
  const quietMaxMs = Math.max(pollMs, o.quietMaxMs ?? pollMs);
  // Quiet polls in a row (`quietMaxMs`).
  let quiet = 0;
  // How records travel is the bus's to say: carried as values to readers in this process
  // (carried.ts), else as frames. Reading follows each message as the bus hands it over
  // (`carriedBatchOf`), so a carried bus's byte frames (a producer's, an end) read as frames.
  const carryValues = carriesRecords(o.bus);
  const states = unit.plan.states;
  const owned = states.filter((s) => s.access === 'read-write');
  const tableOf = new Map(states.map((s) => [s.name, s.table]));
  const ttl = unit.ttl ?? new Map<string, number>();
  const state = new MemoryState(
    (name, key) => {
      const table = tableOf.get(name);
      return table === undefined ? undefined : o.lookupRef?.(table, key);
    },
    unit.stateChecks,
    ttl.keys(),
  );
  await checkpoints.loadState(unit.id, owned, state);
  const purger = new TtlPurger(ttl, state, now());
  // What a batch commits: the state it changed (and, for `ttl` states, when).
  const takeChanges = () => {
    const changes = state.takeChanges();
    if (purger.active) purger.written(changes, now());
    return changes;
  };
  o.onStateReady?.(owned, state);
  observed?.stateReady(owned, state);
  const committed = await checkpoints.load(unit.id);
  const channels: ChannelReader[] = [];
  const offsets = new Map(committed.offsets);
  for (const input of unit.inputs) {
    // A schedule's position is a fire time, a fact of the clock that outlives any bus: it always resumes.
    const resume = input.topic.schedule !== undefined || (typeof o.resumeOffsets === 'function' ? o.resumeOffsets(input.topic) : o.resumeOffsets !== false);
    for (let p = 0; p < input.topic.partitions; p++) {
      if (o.partitions && !o.partitions.includes(p)) continue;
      const channel = channelOf(input.topic.id, p);
      const afterSeq = resume ? (committed.offsets.get(channel) ?? 0) : 0;
      // An offset into a log that is gone says nothing about the new one.
      if (!resume) offsets.delete(channel);
      // A channel whose end was committed is not read again (its end frame lies behind the offset).
      const ended = resume && (committed.ended?.includes(channel) ?? false);
      const reader = input.topic.schedule
        ? scheduleReader(input.topic.schedule, { afterSeq: committed.offsets.get(channel) ?? 0, now, control: bus.read(input.topic.name, p) })
        : bus.read(input.topic.name, p, { afterSeq });
      channels.push({ channel, topic: input.topic, partition: p, reader, ended, keptAsWritten: 0, passedAsRead: 0, ...(input.tail ? { tail: input.tail } : {}) });
    }
  }
  // Where reading starts counts as read (a resumed input with nothing new is caught up).
  metrics.commit(offsets);
  // The channels the unit's own input comes by: a sole reader's topic is none of them (it is this unit's output).
  const live = channels.filter((c) => !c.tail);
  // What this unit published to its sole readers' topics: not read back (`Publisher.ownSeqs`).
  const ownSeqs = new Set<number>();
  const made: OperatorLogic = unit.makeLogic(state, live.map((c) => c.channel));
  const logic = observed ? observed.logic(made) : made;
  // Rows the logic keeps for itself are committed as a state of the unit's (HELD_ROWS).
  const takeRows = logic.takeRows?.bind(logic);
  const writeRow = made.takesUnread ? (value: unknown) => heldRecordsJson(value as EngineRecord[]) : (value: unknown) => JSON.stringify(value);
  // A topic of the dataflow's own holds JSON ssdk wrote, which its reader does not check
  // (`ValueCodec.asJsonText`): a value read only when the unit's steps run it cannot fail to
  // decode then, and its text is what a held row writes (`heldSourcesOf`).
  if (made.takesUnread) for (const c of live) c.unread = c.topic.kind === 'internal' && c.topic.value.asJsonText;
  const committing = takeRows ? [...owned, HELD_ROWS] : owned;
  if (takeRows) {
    const held = new MemoryState();
    await checkpoints.loadState(unit.id, [HELD_ROWS], held);
    const rows: Array<[string, unknown]> = [];
    for (const [key, value] of held.entries(HELD_ROWS.name)) {
      const id = heldRowId(unit.id, key);
      if (id !== undefined) rows.push([id, JSON.parse(value as string)]);
    }
    logic.restore(committed.meta, rows);
  } else if (unit.windowReader && (committed.meta === null || committed.meta === undefined)) {
    // A window run after this unit's chain that ran apart before (`RuntimeUnit.windowReader`): its progress is under its own unit.
    logic.restore((await checkpoints.load(unit.windowReader.id)).meta);
  } else logic.restore(committed.meta);
  /**
   * What a batch commits of state: the states' changes (`changes`, live values) and the logic's
   * rows changed since the last commit (`heldRows`), as changes of HELD_ROWS. A row is its JSON
   * text: a copy (the next batch changes the rows in place), and a JSON value stored as jsonb
   * would lose its key order, which results made of held records (a join's) carry. A text is
   * never changed in place, so a pipelined commit's snapshot need not copy it.
   */
  const batchChanges = (): { changes: StateChange[]; heldRows: StateChange[] } => {
    const heldRows: StateChange[] = [];
    if (takeRows) for (const [id, value] of takeRows()) heldRows.push({ state: HELD_ROWS.name, key: heldRowKey(unit.id, id), value: value === undefined ? undefined : writeRow(value) });
    return { changes: takeChanges(), heldRows };
  };
  const progress = unit.progress
    ? new ProgressTracker(unit.id, unit.progress, live.map((c) => ({ channel: c.channel, topic: c.topic.id })), committed.progress, now())
    : undefined;
  if (progress) for (const c of live) logic.bound(c.channel, progress.bound(c.channel), now());
  const held = (c: ChannelReader) => o.hold?.(c.topic) === true;
  // A chain unit that writes state can take back a record's state changes (`MemoryState.beginUndo`).
  const undoable = owned.length > 0;
  let ended = false;
  if (live.length > 0 && live.every((c) => c.ended)) {
    // Every input ended before a restart: the readers of this unit's outputs may be reading a
    // new log (an embedded run resumed), so the end goes out again (a repeat is a duplicate id).
    if (o.forwardEnd !== false) {
      await publishEnds(bus, unit.id, o.endTopics ?? unit.outputs);
      // Published, so committed too (nothing changed): the embedded runtime cuts only after a publisher's commit.
      const ends = live.map((c) => c.channel);
      await checkpoints.commit(unit.id, committing, { changes: [], dropped: [], offsets, meta: committed.meta, ended: ends, ...(progress ? { progress: progress.snapshot() } : {}) });
    }
    ended = true;
  }
  /** A step of the unit's logic: what it throws is not a record's failure (those are effects), so the unit's. */
  const step = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw err instanceof UnitStepError || isTransientUnitError(err) ? err : new UnitStepError(unit.id, err);
    }
  };
  // A window run after this unit's chain (`RuntimeUnit.windowReader`): the unit's records are its
  // chain's, taken in as a chain's (a refused one runs the message again, the window taken back with it).
  const part = unit.windowReader;
  const readerMetrics = part ? o.readerMetrics?.get(part.id) : undefined;
  const chain = logic.kind === 'chain' || part !== undefined;
  // The logic's watermark is the window reader's when it runs here: shown as the reader's, not the unit's.
  const showWatermark = (watermark: number | undefined): void => {
    metrics.watermark(part ? undefined : watermark);
    readerMetrics?.watermark(watermark);
  };
  // A chain (or a passthrough) may pass a record on as it came, or a variant's payload of it: a
  // value whose bytes are what JSON.stringify writes for it is kept to tell (`Publisher.output`).
  const forwards = chain || logic.kind === 'passthrough';
  /**
   * Takes in one message with its effects (`first`: from `processMany`, with where its state
   * changes start and whether it made any), or runs it alone. A record that fails anywhere in a
   * chain, or whose output cannot be written, is dead-lettered as a whole: its state changes and
   * its other outputs go with it, and the message runs again without it, from the state it found
   * (a later record of the message must not see what the failed one wrote). True when it ran
   * again: the state changes of the messages after it were taken back with its own.
   */
  const takeInOne = async (w: DecodedMessage, pending: Publisher, first?: { effects: OperatorEffects; mark: number; wrote: boolean; at: number }): Promise<boolean> => {
    const { ch, seq } = w.input;
    for (const args of w.undecodable) pending.deadLetter(...args);
    observed?.at(ch.partition, seq);
    const origin = `${ch.channel}:${seq}`;
    let input = w.input;
    const mark = first ? first.mark : chain && undoable ? state.undoMark() : 0;
    let effects = first ? first.effects : await step(() => logic.process(input.records, ch.channel, w.now));
    let ranAgain = false;
    if (part) ranAgain = await takeInWriter(w, effects, mark, first?.at ?? 0, origin, pending);
    else if (chain && unit.soleReaders) ranAgain = await takeInWithReaders(w, effects, mark, first ? first.wrote : undoable && state.undoMark() > mark, origin, pending);
    else if (chain) {
      // Whether the message wrote state: if not, a failed record's other outputs are simply
      // dropped (no run again, so no call a function made — ctx.http — is made twice).
      let wrote = first ? first.wrote : undoable && state.undoMark() > mark;
      for (let refused = pending.tryEffects(effects, origin, input, wrote); refused; refused = pending.tryEffects(effects, origin, input, wrote)) {
        if (undoable) state.undo(mark);
        ranAgain = true;
        input = readAgain(w, without(input, refused), unit.id);
        effects = await step(() => logic.process(input.records, ch.channel, w.now));
        wrote = undoable && state.undoMark() > mark;
      }
    } else pending.effects(effects, origin, input);
    if (progress) {
      const times = effects.times ?? { max: maxTimestamp(w.input.records), retimed: false };
      if (progress.observe(ch.channel, times.max, times.retimed, now())) logic.bound(ch.channel, progress.bound(ch.channel), now());
    }
    metrics.batchLatency(performance.now() - w.t0);
    return ranAgain;
  };
  /**
   * `takeInOne`'s run again for a unit with sole readers (`RuntimeUnit.soleReaders`): the unit's
   * own records are a unit of work per branch and run nothing again (it writes no state,
   * sole-reader.ts); a reader's record is a unit of work of the reader's, as when it read the
   * topic: one its steps failed is dead-lettered on the reader's topic, naming its place in the
   * topic, and when the reader wrote state in the message, the state goes back to before it and
   * the reader's steps run again without that record. A record the topic refused never reached
   * the reader: its steps run again without it. True when they ran again (the state of the
   * messages after this one was taken back with it).
   */
  // The sole reader of each route that has one (looked up per record).
  const readerOf = new Map((unit.soleReaders ?? []).map((p) => [p.route, p]));
  const takeInWithReaders = async (w: DecodedMessage, effects: OperatorEffects, mark: number, wroteFirst: boolean, origin: string, pending: Publisher): Promise<boolean> => {
    const { input } = w;
    const readerFailures = effects.failures.filter((f) => f.tailIndex !== undefined);
    const own = readerFailures.length === 0 ? effects : { ...effects, failures: effects.failures.filter((f) => f.tailIndex === undefined) };
    const stands = pending.routedEffects(own, origin, input);
    // Per route, the records that went to its topic (their place there) and those that did not.
    const placed = new Map<number, number[]>();
    const notWritten = new Map<number, Set<number>>();
    const counts = new Map<number, number>();
    const written = new Map<number, number>();
    for (const r of effects.outputs as ChainOutput[]) {
      const b = r.route!;
      if (!readerOf.has(b)) continue;
      const k = counts.get(b) ?? 0;
      counts.set(b, k + 1);
      let at = placed.get(b);
      if (!at) placed.set(b, (at = []));
      if (stands(r)) {
        const n = written.get(b) ?? 0;
        at[k] = n;
        written.set(b, n + 1);
      } else {
        let n = notWritten.get(b);
        if (!n) notWritten.set(b, (n = new Set()));
        n.add(k);
      }
    }
    for (const p of unit.soleReaders!) o.readerMetrics?.get(p.id)?.recordsIn((counts.get(p.route) ?? 0) - (notWritten.get(p.route)?.size ?? 0));
    let failures = readerFailures;
    let ranAgain = false;
    const skip = new Map<number, Set<number>>();
    for (const [b, n] of notWritten) skip.set(b, new Set(n));
    const dead = new Set<string>();
    for (;;) {
      // A record the topic refused, or a reader's failure of it: neither is the reader's to keep.
      let again = [...notWritten.values()].some((n) => n.size > 0) && !ranAgain;
      for (const f of failures) {
        const b = f.route!;
        if (f.tailIndex! >= 0 && notWritten.get(b)?.has(f.tailIndex!)) continue;
        const id = `${b}:${f.tailIndex}`;
        if (f.tailIndex! >= 0 && dead.has(id)) continue;
        dead.add(id);
        const part = readerOf.get(b)!;
        pending.readerFailure(part, f, origin, f.tailIndex! >= 0 ? placed.get(b)![f.tailIndex!]! : -1);
        o.readerMetrics?.get(part.id)?.deadLettered(1);
        if (f.tailIndex! >= 0) {
          let sk = skip.get(b);
          if (!sk) skip.set(b, (sk = new Set()));
          sk.add(f.tailIndex!);
          again = true;
        }
      }
      // Nothing of the reader's to take back: its failed records leave nothing behind.
      if (!again || !undoable || !(ranAgain ? state.undoMark() > mark : wroteFirst)) break;
      state.undo(mark);
      ranAgain = true;
      failures = (await step(() => made.tailAgain!(effects.outputs as ChainOutput[], skip))).filter((f) => !(f.tailIndex! >= 0 && skip.get(f.route!)?.has(f.tailIndex!)));
      if (failures.length === 0) break;
    }
    return ranAgain;
  };
  /**
   * `takeInOne` for a unit whose window runs after its chain (`RuntimeUnit.windowReader`): the
   * chain's records are a unit of work as in any chain — one that failed, or whose output the
   * topic refuses, is dead-lettered and the message runs again without it, from the state it found
   * — and the window saw none of them: it goes back to before the message (`rewind`; its state's
   * writes undone with the chain's) and sees the message again as its topic now has it. What the
   * window made of the message as it stands goes out as its own unit's (`Publisher.readerEffects`):
   * its failures naming their records' places in the topic. True when the message ran again.
   */
  const takeInWriter = async (w: DecodedMessage, first: OperatorEffects, mark: number, at: number, origin: string, pending: Publisher): Promise<boolean> => {
    const { ch } = w.input;
    let input = w.input;
    let effects = first;
    let ranAgain = false;
    for (let refused = pending.tryEffects(effects, origin, input, true); refused; refused = pending.tryEffects(effects, origin, input, true)) {
      state.undo(mark);
      made.rewind!(ranAgain ? 0 : at);
      ranAgain = true;
      input = readAgain(w, without(input, refused), unit.id);
      effects = await step(() => logic.process(input.records, ch.channel, w.now));
    }
    readerMetrics?.recordsIn(effects.outputs.length);
    if (effects.reader) takeReader(effects.reader, origin, pending);
    return ranAgain;
  };
  /** What the window reader made (`OperatorEffects.reader`), out as its own unit's; `read`: the message read from its topic it came of (a redrive's). */
  const takeReader = (r: ReaderEffects, origin: string, pending: Publisher, read?: Input): void => {
    pending.readerEffects(part!, r, origin, read ? { seq: read.seq, index: (i) => indexIn(read, i) } : undefined);
  };
  /** A message read from a sole reader's topic, counted as the reader's records in; what does not decode is the reader's dead letter, as when its own unit read it. */
  const readTail = (reader: SoleReaderPart, ch: ChannelReader, seq: number, frame: Waiting['frame'], pending: Publisher): Input => {
    const { input, undecodable } = decodeWaiting({ ch, seq, frame, t0: performance.now(), now: now() }, reader.id, false);
    for (const args of undecodable) pending.readerDeadLetter(reader, ...args);
    o.readerMetrics?.get(reader.id)?.recordsIn(input.records.length);
    return input;
  };
  /** A message on the window reader's topic this unit did not write (a redrive's): through the window alone, as its own unit read it. */
  const takeInWindowTail = async (ch: ChannelReader, seq: number, frame: Waiting['frame'], pending: Publisher): Promise<void> => {
    const input = readTail(part!, ch, seq, frame, pending);
    const effects = await step(() => made.windowRead!(input.records, now()));
    if (effects.reader) takeReader(effects.reader, `${ch.channel}:${seq}`, pending, input);
  };
  /** A message on a sole reader's topic this unit did not write (a redrive's): the reader's steps over it, a unit of work per record as the reader's own unit ran it. */
  const takeInTail = async (ch: ChannelReader, seq: number, frame: Waiting['frame'], pending: Publisher): Promise<void> => {
    const part = ch.tail!;
    const input = readTail(part, ch, seq, frame, pending);
    const mark = undoable ? state.undoMark() : 0;
    let keep = input.records.map((_, i) => i);
    for (;;) {
      const failures = await step(() => made.tailRead!(keep.map((i) => input.records[i]!), part.route));
      const failed = new Set(failures.filter((f) => f.input >= 0).map((f) => keep[f.input]!));
      for (const f of failures) {
        pending.readerFailure(part, f, `${ch.channel}:${seq}`, f.input >= 0 ? indexIn(input, keep[f.input]!) : -1, seq);
        o.readerMetrics?.get(part.id)?.deadLettered(1);
      }
      if (failed.size === 0 || !undoable || state.undoMark() === mark) break;
      state.undo(mark);
      keep = keep.filter((i) => !failed.has(i));
    }
  };
  /**
   * Takes in data messages read in a row: as many as fit in one call of the logic
   * (`processMany`), then the rest. When that call cannot be made (sandboxed functions) or was
   * taken back (past the time limit, or a function left a promise), the messages run one by
   * one, each under its own limit, as they would have anyway: same verdicts, found later.
   */
  const takeIn = async (read: Waiting[], pending: Publisher): Promise<void> => {
    if (read.length === 0) return;
    const waiting = read.map((w) => decodeWaiting(w, unit.id, forwards));
    read.length = 0;
    let from = 0;
    while (from < waiting.length) {
      const rest = from === 0 ? waiting : waiting.slice(from);
      const marks: number[] = [];
      // Records a call holds: those read and those made of them (flat-map: six words a sentence).
      let held = 0;
      // The last message the call started to run: it and those before it run again from fresh records.
      let started = -1;
      const many =
        rest.length > 1 && logic.processMany
          ? await step(() =>
              logic.processMany!(
                rest.map((w) => ({ records: w.input.records, channel: w.input.ch.channel, now: w.now })),
                {
                  starting: (i) => {
                    if (i > started) started = i;
                    // The call may run again (ctx.sql rounds): it counts afresh.
                    if (i === 0) held = 0;
                    if (chain && undoable) marks[i] = state.undoMark();
                  },
                  logging: (i) => observed?.at(rest[i]!.input.ch.partition, rest[i]!.input.seq),
                  waits: (i, made, times) => {
                    held += rest[i]!.input.records.length + made;
                    if (held >= GROUP_RECORDS) return true;
                    // The first retimed records of a channel change its bound, so the logic's view of the rest.
                    return progress !== undefined && times !== undefined && progress.rebounds(rest[i]!.input.ch.channel, times.retimed);
                  },
                },
              ),
            )
          : undefined;
      if (!many) {
        // Taken back (or never made: sandboxed functions): one by one, each under its own limit.
        for (let i = 0; i < rest.length; i++) await takeInOne(i <= started ? { ...rest[i]!, input: readAgain(rest[i]!, rest[i]!.input, unit.id) } : rest[i]!, pending);
        break;
      }
      marks[many.length] = chain && undoable ? state.undoMark() : 0;
      let taken = many.length;
      for (let i = 0; i < many.length; i++) {
        const wrote = chain && undoable && marks[i + 1]! > marks[i]!;
        // A message run again took back what the messages after it wrote: they run again too.
        if ((await takeInOne(rest[i]!, pending, { effects: many[i]!, mark: marks[i] ?? 0, wrote, at: i })) && undoable) {
          taken = i + 1;
          break;
        }
      }
      // The messages after one that ran again run again too (their state changes were taken back with it).
      for (let i = taken; i < many.length; i++) waiting[from + i] = { ...rest[i]!, input: readAgain(rest[i]!, rest[i]!.input, unit.id) };
      from += taken;
    }
  };
  /** Reads nothing: what a batch of messages makes (what to publish), its state in `state`; undefined when a quiet tick made nothing. */
  const computeBatch = async (batch: Array<{ ch: ChannelReader; messages: BusMessage[] }>): Promise<Publisher | undefined> => {
  const pending = new Publisher(bus, unit, maxFrameBytes, carryValues, o.msgIdScope, ownSeqs);
  let recordsIn = 0;
    // Keys past their `ttl` are deleted in this batch's checkpoint.
    const purged = purger.active && purger.purge(now());
    if (batch.length === 0) {
      // Quiet: the clock may still close windows (idleness), and sources turn idle.
      const effects = await step(() => logic.tick(now()));
      const entries = progress?.due(now(), true, part ? undefined : logic.watermark());
      if (isEmpty(effects) && !entries && !purged) return undefined;
      pending.effects(effects, TICK, undefined);
      if (entries) pending.progress(entries, unit.progress!.publishTo);
    }
    // Data messages in a row wait here to be run together (`logic.processMany`): one guarded
    // call for them all instead of one each. Anything else in between (an end, progress, a
    // message that is no frame) runs them first, so every message is taken in its order.
    const waiting: Waiting[] = [];
    let waitingRecords = 0;
    for (const { ch, messages } of batch) {
      for (const m of messages) {
        if (ch.tail) {
          // A sole reader's topic: this unit's own records were its reader's already; the rest
          // (a redrive's) go through the reader's steps. Its progress and end are this unit's own.
          offsets.set(ch.channel, m.seq);
          if (ownSeqs.delete(m.seq)) continue;
          const frame = carriedBatchOf(m) ?? safeDecode(m.data);
          if (frame === undefined || (frame.kind !== 'data' && frame.kind !== 'carried')) continue;
          waitingRecords = 0;
          await takeIn(waiting, pending);
          await (ch.tail.outputs ? takeInWindowTail : takeInTail)(ch, m.seq, frame, pending);
          continue;
        }
        const frame = carriedBatchOf(m) ?? safeDecode(m.data);
        if (frame !== undefined && (frame.kind === 'data' || frame.kind === 'carried')) {
          const records = frame.kind === 'carried' ? frame.length : frame.records.length;
          waiting.push({ ch, seq: m.seq, frame, t0: performance.now(), now: now() });
          recordsIn += records;
          offsets.set(ch.channel, m.seq);
          // Bounded, so what the group makes dies young (GROUP_RECORDS).
          waitingRecords += records;
          if (waitingRecords >= GROUP_RECORDS) {
            waitingRecords = 0;
            await takeIn(waiting, pending);
          }
          continue;
        }
        waitingRecords = 0;
        await takeIn(waiting, pending);
        if (frame === undefined) {
          pending.deadLetter(`${unit.id}`, `message ${m.seq} on ${ch.channel} is not an ssdk frame or a JSON record`, ch, m.seq, 0, undefined, m.data);
        } else if (frame.kind === 'end') {
          ch.ended = true;
        } else if (frame.kind === 'progress') {
          // The writers moved on: a window may close.
          if (progress?.receive(ch.channel, frame.entries)) {
            logic.bound(ch.channel, progress.bound(ch.channel), now());
            pending.effects(await step(() => logic.tick(now())), `${ch.channel}:${m.seq}`, undefined);
          }
        }
        offsets.set(ch.channel, m.seq);
      }
    }
    await takeIn(waiting, pending);
    if (!ended && live.every((c) => c.ended)) {
      ended = true;
      pending.effects(await step(() => logic.end()), 'end', undefined);
      if (o.forwardEnd !== false) pending.endOfInput(o.endTopics ?? unit.outputs);
    } else if (batch.length > 0) {
      const entries = progress?.due(now(), false, part ? undefined : logic.watermark());
      if (entries) pending.progress(entries, unit.progress!.publishTo);
    }
  metrics.recordsIn(recordsIn);
  return pending;
  };
  let rr = 0;
  const restart = compileRestart(o.restart);
  /**
   * Publishes a batch and commits it. A server away is waited out here (the unit `failing`
   * meanwhile): the publish repeats under the same message ids and the commit is the same
   * values again, so trying both again is safe.
   */
  const settle = (pending: Publisher, commit: CheckpointCommit) =>
    retrying(restart, o.signal, metrics, isTransientUnitError, async () => {
      await pending.flush(metrics, o.readerMetrics);
      await checkpoints.commit(unit.id, committing, commit);
    });
  metrics.setState('running');
  // The previous batch's publish + commit + ack, when pipelined.
  let inFlight: Promise<void> = Promise.resolve();
  const quietCommitMs = o.quietCommitMs ?? 0;
  let lastCommitAt = now();
  // Batches were acked without a commit (`quietCommitMs`): their offsets wait for the next one.
  let deferred = false;

  try {
    while (!o.signal.aborted) {
      // Round-robin over channels so one busy partition cannot starve the others.
      let batch: Array<{ ch: ChannelReader; messages: BusMessage[] }> = [];
      for (let i = 0; i < channels.length; i++) {
        const ch = channels[(rr + i) % channels.length]!;
        if (ch.ended || held(ch)) continue;
        const messages = await ch.reader.fetch(batchMessages, 0);
        if (messages.length) batch.push({ ch, messages });
      }
      rr = (rr + 1) % Math.max(1, channels.length);
      if (batch.length === 0) {
        if (live.every((c) => c.ended)) break;
        const open = channels.find((c) => !c.ended && !held(c));
        if (open) {
          const lone = open.topic.schedule === undefined && channels.every((c) => c === open || c.ended || held(c));
          const wait = lone ? Math.min(quietMaxMs, pollMs * 2 ** Math.min(quiet, 16)) : pollMs;
          quiet++;
          const messages = await open.reader.fetch(batchMessages, wait);
          if (messages.length) batch = [{ ch: open, messages }];
        } else await sleep(pollMs);
      }
      if (batch.length > 0) quiet = 0;
      // What a quiet batch took to see that it changed nothing: committed with it after all.
      let taken: { changes: ReturnType<typeof batchChanges>; dropped: ReturnType<OperatorLogic['takeDroppedWindows']> } | undefined;
      // A batch that fails for a reason not of a record is tried again from where it started,
      // when the unit can go back there in place: a chain's state writes are in the undo log and
      // it keeps no other state (a window unit restarts from its checkpoint instead).
      const inPlace = restart.maxAttempts > 1 && (logic.kind === 'chain' || logic.kind === 'passthrough');
      const before = inPlace ? { offsets: new Map(offsets), ended: channels.map((c) => c.ended), wasEnded: ended } : undefined;
      let pending = await retrying(
        restart,
        o.signal,
        metrics,
        (err) => inPlace && (err instanceof UnitStepError || isTransientUnitError(err)),
        async () => {
          if (undoable && chain) state.beginUndo();
          try {
            return await computeBatch(batch);
          } catch (err) {
            if (before) {
              if (undoable && chain) state.undo();
              offsets.clear();
              for (const [k, v] of before.offsets) offsets.set(k, v);
              channels.forEach((c, i) => (c.ended = before.ended[i]!));
              ended = before.wasEnded;
            }
            throw err;
          } finally {
            if (undoable && chain) state.endUndo();
          }
        },
      );
      if (pending === undefined) {
        // Quiet, and nothing failed: a unit that was failing is well again.
        metrics.recovered();
        // What batches acked without a commit read is committed once the input is quiet.
        if (!deferred) continue;
      }
      if (pending !== undefined && batch.length > 0 && o.pipeline && quietCommitMs > 0 && !ended && pending.empty && now() - lastCommitAt < quietCommitMs) {
        const changes = batchChanges();
        const dropped = logic.takeDroppedWindows();
        if (changes.changes.length + changes.heldRows.length === 0 && dropped.length === 0) {
          const acks = batch.map(({ ch, messages }) => ({ ch, seq: messages.at(-1)!.seq }));
          const watermark = logicWatermark(logic);
          await inFlight;
          inFlight = (async () => {
            for (const a of acks) await a.ch.reader.ack(a.seq);
            showWatermark(watermark);
          })();
          inFlight.catch(() => {});
          deferred = true;
          continue;
        }
        taken = { changes, dropped };
      }
      deferred = false;
      pending ??= new Publisher(bus, unit, maxFrameBytes, carryValues, o.msgIdScope, ownSeqs);
      if (o.pipeline) {
        lastCommitAt = now();
        // A snapshot of what this batch commits: the next batch changes state and progress in
        // place while this commit is on its way. Held rows are texts, taken as they are (a q11
        // session unit's are nearly all of its commit's bytes: ~47 MB a run copied again).
        const { changes, heldRows } = taken?.changes ?? batchChanges();
        const commit = structuredClone({
          changes,
          dropped: taken?.dropped ?? logic.takeDroppedWindows(),
          offsets,
          meta: logic.meta(),
          ended: channels.filter((c) => c.ended).map((c) => c.channel),
          ...(progress ? { progress: progress.snapshot() } : {}),
        });
        for (const row of heldRows) commit.changes.push(row);
        const acks = batch.map(({ ch, messages }) => ({ ch, seq: messages.at(-1)!.seq }));
        const watermark = logicWatermark(logic);
        await inFlight;
        inFlight = (async () => {
          await settle(pending, commit);
          metrics.commit(commit.offsets);
          for (const m of o.readerMetrics?.values() ?? []) m.commit(commit.offsets);
          for (const a of acks) await a.ch.reader.ack(a.seq);
          showWatermark(watermark);
        })();
        // Awaited before the next batch's commit, or below; not an unhandled rejection meanwhile.
        inFlight.catch(() => {});
        if (ended) break;
        continue;
      }
      const { changes, heldRows } = batchChanges();
      await settle(pending, {
        changes: heldRows.length === 0 ? changes : [...changes, ...heldRows],
        dropped: logic.takeDroppedWindows(),
        offsets,
        meta: logic.meta(),
        ended: channels.filter((c) => c.ended).map((c) => c.channel),
        ...(progress ? { progress: progress.snapshot() } : {}),
      });
      metrics.commit(offsets);
      // The sole readers' progress is committed with this unit's.
      for (const m of o.readerMetrics?.values() ?? []) m.commit(offsets);
      for (const { ch, messages } of batch) await ch.reader.ack(messages.at(-1)!.seq);
      showWatermark(logicWatermark(logic));
      if (ended) break;
    }
    await inFlight;
  } finally {
    await inFlight.catch(() => {});
    for (const c of channels) await c.reader.close();
    await observed?.close();
    // A task that threw leaves the state to its runner (`failing` and a retry, or `failed`).
    if (ended) metrics.setState('ended');
    else if (o.signal.aborted) metrics.setState('stopped');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function logicWatermark(logic: OperatorLogic): number | undefined {
  // Not from `meta()`, which a session unit builds from every open session.
  return logic.watermark();
}

function isEmpty(e: OperatorEffects): boolean {
  return e.outputs.length + e.flushes.length + e.failures.length + e.late.length === 0 && e.reader === undefined;
}

function safeDecode(data: Uint8Array) {
  try {
    return decodeFrame(data);
  } catch {
    return undefined;
  }
}

/**
 * Which values of a frame are kept to tell whether they pass on as read (`Decoded.kept`): none;
 * those read as JSON.stringify writes them (`ValueCodec.decode`'s `asWritten`: any topic); or every
 * one, for a topic of the dataflow's own, whose bytes ssdk wrote with JSON.stringify.
 */
type Keeping = 'none' | 'asWritten' | 'all';

/**
 * Values read as written a channel keeps before it gives up keeping them, when none went on as
 * read: a unit that makes a new value of each (q0's `{auction, bidder, …}` of a bid) only pays for
 * the copies, and the collector for keeping them alive until their group is published.
 */
const KEEP_TRIAL = 10_000;

/**
 * What a forwarding unit keeps of what it reads on `ch`: every value of its topic's usual shape
 * for a topic of the dataflow's own (ssdk wrote its bytes with JSON.stringify); of another topic,
 * the values read as JSON.stringify writes them, while that has ever paid (`KEEP_TRIAL`).
 */
function keepingOf(ch: ChannelReader): Keeping {
  if (ch.topic.kind === 'internal') return 'all';
  return ch.passedAsRead > 0 || ch.keptAsWritten < KEEP_TRIAL ? 'asWritten' : 'none';
}

/** What `decode` tells of each value's bytes: one for the process, read right after each decode. */
const readAs: ReadAs = { asWritten: false };

/** The records of a frame, and the bytes each came from (`raws[i]` for `records[i]`). */
function decodeRecords(frame: readonly RawRecord[], ch: ChannelReader, seq: number, pending: DeadLetters, unitId: string, keeping: Keeping): Decoded {
  const records: EngineRecord[] = [];
  const raws: RawRecord[] = [];
  const kept: unknown[] | undefined = keeping !== 'none' ? [] : undefined;
  const read: unknown[] | undefined = kept ? [] : undefined;
  const told = keeping === 'asWritten' ? readAs : undefined;
  let positions: number[] | undefined;
  const again = framesOf(ch.topic);
  for (let i = 0; i < frame.length; i++) {
    const raw = frame[i]!;
    const decoded = decodeRecord(raw, ch.topic, again, told, ch.unread === true);
    if (typeof decoded === 'string') {
      pending.deadLetter(unitId, decoded, ch, seq, i, undefined, raw.value, raw);
      positions ??= Array.from({ length: records.length }, (_, j) => j);
    } else {
      positions?.push(i);
      records.push(decoded);
      raws.push(raw);
      read?.push(decoded.value);
      if (!told) kept?.push(ch.topic.value.keep(decoded.value));
      else if (!told.asWritten) kept!.push(undefined);
      else {
        ch.keptAsWritten++;
        kept!.push(ch.topic.value.keep(decoded.value));
      }
    }
  }
  const out: Decoded = positions ? { records, raws, positions } : { records, raws };
  if (kept) {
    out.kept = kept;
    out.read = read!;
  }
  return out;
}

interface Decoded {
  records: EngineRecord[];
  /** The bytes of each record, when it arrived as bytes. */
  raws?: RawRecord[];
  /**
   * Per record, a copy of its value as read (`ValueCodec.keep`), when its bytes are what
   * JSON.stringify writes for it (a topic of the dataflow's own, or what the reader proved);
   * undefined when not so or not of its topic's usual shape: a value (or a variant's payload)
   * passed on unchanged travels as those bytes.
   */
  kept?: unknown[];
  /**
   * With `kept`, each record's value as it was decoded: a map's result may go into the record
   * itself (the engine's `takesResult`), so its `value` is no longer the value read.
   */
  read?: unknown[];
  /** Each record's place in its message, when some before it were dead-lettered (else its index). */
  positions?: number[];
}

/** A record's offset: its message's sequence and its place in the message. */
function indexIn(input: Decoded, record: number): number {
  return input.positions?.[record] ?? record;
}

/** An input message: where it was read, and what it held (the logic's outputs refer to `records` by index). */
interface Input extends Decoded {
  ch: ChannelReader;
  seq: number;
}

/**
 * Data messages read in a row are run together (`takeIn`) until they hold this many records,
 * read and made (a flat-map's outputs count). Together they make one guarded call where each
 * made its own (a native time limit starts a watchdog thread per call: 10 001 calls for
 * bench:engine's 1 000 000 sensor readings, ~2 600 in groups); but a group's records and what
 * they make live until it is taken in. A whole fetched batch (32 000 readings) outlived the
 * young generation and the collector's time tripled; groups of 4 096 records read but not
 * counting what they made (26 000 words of word count's split) still cost a million sentences
 * a CPU second more than one call per message.
 */
const GROUP_RECORDS = 4096;

/** The origin of what a quiet batch's tick makes (the clock's: no message). */
const TICK = 'tick';

/** Where dead letters of records that do not decode go. */
type DeadLetters = Pick<Publisher, 'deadLetter'>;
type DeadLetterArgs = Parameters<Publisher['deadLetter']>;

/** A data message read and waiting to be run with those read after it (`takeIn`). */
interface Waiting {
  ch: ChannelReader;
  seq: number;
  frame: Extract<ReturnType<typeof decodeFrame>, { kind: 'data' }> | CarriedBatch;
  /** When it was read (its latency counts from here), and the clock the logic sees for it. */
  t0: number;
  now: number;
}

/** A waiting message decoded: its records, and the dead letters of those that did not decode (told when it is taken in). */
interface DecodedMessage {
  input: Input;
  undecodable: DeadLetterArgs[];
  t0: number;
  now: number;
  /** What the records were made from (`readAgain`). */
  frame: Waiting['frame'];
}

/** Dead letters kept for later. */
class HeldDeadLetters {
  readonly held: DeadLetterArgs[] = [];
  deadLetter(...args: DeadLetterArgs): void {
    this.held.push(args);
  }
}

function decodeWaiting(w: Waiting, unitId: string, forwards: boolean): DecodedMessage {
  const { ch, seq, frame } = w;
  const later = new HeldDeadLetters();
  const decoded =
    frame.kind === 'carried' ? adoptRecords(frame, ch, seq, later, unitId) : decodeRecords(frame.records, ch, seq, later, unitId, forwards ? keepingOf(ch) : 'none');
  return { input: { ch, seq, ...decoded }, undecodable: later.held, t0: w.t0, now: w.now, frame };
}

/**
 * `input` (the message's records, or some of them) with each record made again from what the
 * message holds, for a run again: a function may have changed the value it was given in place,
 * and a run again must see what the first run saw. A chain that runs an owned record again reads
 * its value again itself (`ownedRecord`'s `again`), but a window unit with no step before its
 * window hands the records to the window's steps as they are, never through such a chain: the
 * loop's runs again make them afresh here. Dead letters of records that do not decode were told
 * the first time.
 */
function readAgain(m: DecodedMessage, input: Input, unitId: string): Input {
  const { frame } = m;
  const told = new HeldDeadLetters();
  const again = frame.kind === 'carried' ? adoptRecords(frame, input.ch, input.seq, told, unitId) : decodeRecords(frame.records, input.ch, input.seq, told, unitId, 'none');
  const byPosition = new Map<number, EngineRecord>();
  again.records.forEach((r, i) => byPosition.set(indexIn(again, i), r));
  const records = input.records.map((_r, i) => byPosition.get(indexIn(input, i))!);
  return input.read ? { ...input, records, read: records.map((r) => r.value) } : { ...input, records };
}

/** The message's records less those at `drop` (indexes into `input.records`); each keeps its place in the message. */
function without(input: Input, drop: ReadonlySet<number>): Input {
  const records: EngineRecord[] = [];
  const raws: RawRecord[] | undefined = input.raws ? [] : undefined;
  const kept: unknown[] | undefined = input.kept ? [] : undefined;
  const read: unknown[] | undefined = input.read ? [] : undefined;
  const positions: number[] = [];
  for (let i = 0; i < input.records.length; i++) {
    if (drop.has(i)) continue;
    records.push(input.records[i]!);
    raws?.push(input.raws![i]!);
    kept?.push(input.kept![i]);
    read?.push(input.read![i]);
    positions.push(indexIn(input, i));
  }
  const out: Input = raws ? { ch: input.ch, seq: input.seq, records, raws, positions } : { ch: input.ch, seq: input.seq, records, positions };
  if (kept) out.kept = kept;
  if (read) out.read = read;
  return out;
}

/** `decodeRecords` for records carried in process: the same values, checks and dead letters, without the bytes. */
function adoptRecords(batch: CarriedBatch, ch: ChannelReader, seq: number, pending: DeadLetters, unitId: string): Decoded {
  const records: EngineRecord[] = new Array(batch.length);
  let positions: number[] | undefined;
  let n = 0;
  for (let i = 0; i < batch.length; i++) {
    // An input line that was not a record reached its first reader: dead-lettered with why.
    let reason = batch.headers(i)?.[UNREADABLE_HEADER];
    if (reason === undefined) {
      try {
        records[n] = batch.adopt(i);
        n++;
        positions?.push(i);
        continue;
      } catch (err) {
        reason = mismatch(ch.topic, err);
      }
    }
    positions ??= Array.from({ length: n }, (_, j) => j);
    const raw = batch.raw(i);
    pending.deadLetter(unitId, reason, ch, seq, i, undefined, raw.value, raw);
  }
  records.length = n;
  return positions ? { records, positions } : { records };
}

function mismatch(topic: RuntimeTopic, err: unknown): string {
  return `record does not match topic \`${topic.id}\`: ${(err as Error).message}`;
}

function decodeRecord(raw: RawRecord, topic: RuntimeTopic, again: ValueSource, told: ReadAs | undefined, unread: boolean): EngineRecord | string {
  // An input line that was not a record reached its first reader: dead-lettered with why.
  if (raw.headers !== undefined && raw.headers[UNREADABLE_HEADER] !== undefined) return raw.headers[UNREADABLE_HEADER];
  try {
    if (unread) return unreadRecord(raw.key ? topic.key.decode(raw.key) : null, raw.timestamp, raw.headers, again, raw);
    const value = topic.value.decode(raw.value, told);
    const key = raw.key ? topic.key.decode(raw.key) : null;
    // A run again decodes the value from its bytes again.
    return ownedRecord(key, value, raw.timestamp, raw.headers, again, raw);
  } catch (err) {
    return mismatch(topic, err);
  }
}

/** Per topic, the values of its frames' records read again from their bytes (`ownedRecord`'s `again`). */
const frameValues = new WeakMap<RuntimeTopic, ValueSource>();
function framesOf(topic: RuntimeTopic): ValueSource {
  let source = frameValues.get(topic);
  if (!source) {
    source = {
      valueAgain: (raw) => topic.value.decode((raw as RawRecord).value),
      // A record's value is a view into its whole frame: a held record keeps a copy of its own bytes.
      detach: (raw) => ownBytes(topic, (raw as RawRecord).value),
    };
    frameValues.set(topic, source);
  }
  return source;
}

const fromUtf8 = new TextDecoder();
const utf8 = new TextEncoder();

/** Room in a frame for a record's key, timestamp and headers: a value within the limit less this needs no measuring. */
const FRAME_SLACK = 64 * 1024;
/** Dead letters stay far below any frame limit: a larger value is shown as a preview. */
const DEAD_LETTER_VALUE_LIMIT = 256 * 1024;
const DEAD_LETTER_PREVIEW = 1024;

function oversized(step: string, topic: RuntimeTopic, size: number, limit: number): string {
  return `${step} produced a record of ${size} bytes for topic \`${topic.id}\`, over the frame limit of ${limit} bytes (NATS max_payload): make the record smaller or split it (flat-map)`;
}

/**
 * Whether `value` as JSON surely takes at most `budget` bytes: a bound (every string as if each
 * character were escaped), so a typical record is ruled out after a glance at its few fields.
 */
function withinBytes(value: unknown, budget: number): boolean {
  // Most records are a scalar or a short string: no walk for them.
  if (typeof value === 'string') return value.length * 6 + 2 <= budget;
  if (value === null || typeof value !== 'object') return budget >= 24;
  return boundLeft(value, budget) >= 0;
}

/**
 * `budget` less the bound of `v`'s JSON size; negative once over (the walk stops there). A
 * module-level function, not a closure per call: under tsx (the workspace's loader) every
 * closure made is also named with `Object.defineProperty`, which cost ~1.5 µs per record.
 */
function boundLeft(v: unknown, budget: number): number {
  if (typeof v === 'string') return budget - (v.length * 6 + 2);
  if (v === null || typeof v !== 'object') return budget - 24;
  if (v instanceof Uint8Array) return budget - (v.length * 2 + 16);
  let left = budget - 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length && left >= 0; i++) left = boundLeft(v[i], left);
    return left;
  }
  for (const k in v) {
    left = boundLeft((v as Record<string, unknown>)[k], left - (k.length * 6 + 4));
    if (left < 0) return left;
  }
  return left;
}

/** Dead letters keep what arrived, even when it is not valid UTF-8. */
function lenientUtf8(b: Uint8Array): string {
  return fromUtf8.decode(b);
}

/**
 * The bytes `value`, made of record `from` of `input`, may go to `topic` as: those it came in, for
 * a primitive it returned as it was that fits the topic; for an object that is the value read, or
 * a variant's payload of it, still equal to the copy kept as it was read (its bytes are what
 * JSON.stringify writes, `Decoded.kept`), those bytes or the payload's slice of them, when the topic
 * writes it as JSON.stringify does. Undefined: written anew.
 */
function bytesAsRead(value: unknown, input: Input, from: number, raw: RawRecord, topic: RuntimeTopic): Uint8Array | undefined {
  const read = input.read ? input.read[from] : input.records[from]!.value;
  if (typeof value !== 'object') return Object.is(value, read) && topic.value.check(value) === undefined ? raw.value : undefined;
  const kept = input.kept?.[from];
  if (kept === undefined) return undefined;
  const bytes = input.ch.topic.value.asRead(value, read, kept, raw.value);
  return bytes && topic.value.writesAsIs(value) ? bytes : undefined;
}

/** Keys as written to a topic, and their partitions: keys repeat (words, sensors), their text and hash need not. */
const wireKeys = new WeakMap<RuntimeTopic, Map<Key, { text: string; partition: number }>>();
const WIRE_KEYS_MAX = 100_000;

function wireKey(topic: RuntimeTopic, key: Key): { text: string; partition: number } {
  let known = wireKeys.get(topic);
  if (!known) wireKeys.set(topic, (known = new Map()));
  let k = known.get(key);
  if (!k) {
    // A bounded memo: past the limit it starts over rather than hold every key of a stream.
    if (known.size >= WIRE_KEYS_MAX) known.clear();
    // `keyPartition`'s rule, on the text it keeps.
    const text = topic.key.encode(key);
    known.set(key, (k = { text, partition: partitionOfText(text, topic.partitions) }));
  }
  return k;
}

/**
 * Collects what one batch publishes, grouped per (topic, partition) and per origin, so every
 * frame has a deterministic id: `<unit>|<origin>|<topic>/<partition>|<n>`. The origin is the
 * input message (`<channel>:<seq>`) or, for a window's result, the window itself.
 */
class Publisher {
  /** origin → topic → records per partition: frames, and (`carry`) records carried in process. */
  private readonly groups = new Map<string, Map<RuntimeTopic, OutRecord[][]>>();
  /** Frames made so far, per topic partition, in the order they go out. */
  private readonly messages = new Map<string, { topic: RuntimeTopic; partition: number; messages: PublishMessage[] }>();
  /** Frames made per `<unit>|<origin>|<topic>/<partition>`: an origin that gets more records after it was sealed goes on counting. */
  private readonly framesMade = new Map<string, number>();
  private readonly carried = new Map<string, Map<RuntimeTopic, CarriedBatch[]>>();
  // '' (no origin is empty) rather than undefined: the comparisons with it in `carriedBatch`
  // were compiled for two strings and thrown away when one found it undefined.
  private lastOrigin = '';
  private lastGroup: Map<RuntimeTopic, CarriedBatch[]> | undefined;
  /** The batch of (`lastOrigin`, its topic, `lastBatchPartition`), see `carriedBatch`. */
  private lastBatch: CarriedBatch | undefined;
  private lastBatchPartition = 0;
  /** Records the effects being written out hold (their origin's batches are made with room for them). */
  private outputsMade = 0;
  private readonly carry: boolean;
  private readonly ends: RuntimeTopic[] = [];
  private progressFrame: { data: Uint8Array; topics: readonly string[] } | undefined;
  private readonly bus: Bus;
  private readonly unit: RuntimeUnit;
  /** Where a record of a unit without branches goes. */
  private readonly everyOutput: { topics: readonly RuntimeTopic[]; lastStep: string };
  private readonly maxFrameBytes: number;
  /** A value this long or shorter fits a frame without measuring. */
  private readonly quickBytes: number;
  private outCount = 0;
  private failed = 0;
  private late = 0;

  /** What message ids start with: the unit, and the incarnation of its inputs when given. */
  private readonly idPrefix: string;

  constructor(bus: Bus, unit: RuntimeUnit, maxFrameBytes: number, carry: boolean, msgIdScope?: string, ownSeqs?: Set<number>) {
    this.bus = bus;
    this.ownSeqs = ownSeqs;
    this.unit = unit;
    // A window run after the unit's chain writes its own outputs (`readerEffects`).
    const readerOutputs = unit.windowReader?.outputs;
    this.everyOutput = { topics: readerOutputs ? unit.outputs.filter((t) => !readerOutputs.includes(t)) : unit.outputs, lastStep: unit.lastStep };
    this.idPrefix = msgIdScope ? `${unit.id}~${msgIdScope}` : unit.id;
    this.maxFrameBytes = maxFrameBytes;
    // A server whose max_payload is small leaves less room for the rest of a record.
    this.quickBytes = maxFrameBytes - Math.min(FRAME_SLACK, maxFrameBytes >> 2);
    this.carry = carry;
  }

  /**
   * `effects` of one input message for a chain unit, whose every output names its record: when
   * some records failed in a step of the chain or their outputs cannot be written, none of the
   * message's outputs is kept, those records are dead-lettered (once each, with the first
   * reason), and their indexes are returned so the caller runs the message again without them —
   * without their state changes and their other outputs (a record is one unit of work: a step
   * that throws after an earlier step wrote state takes that write back).
   */
  tryEffects(e: OperatorEffects, origin: string, input: Input, wrote = true): Set<number> | undefined {
    // What came before (dead letters of undecodable records) stays whatever happens below.
    this.seal();
    if (this.unit.routes && !wrote) {
      this.routedEffects(e, origin, input);
      return undefined;
    }
    const outCount = this.outCount;
    this.outputsMade = e.outputs.length;
    const refused: ChainFailure[] = [];
    // Records that failed in a step, when the message wrote no state: nothing to take back but
    // their other outputs, which are left out here.
    let failed: Set<number> | undefined;
    if (!wrote) for (const f of e.failures) if (f.input >= 0) (failed ??= new Set()).add(f.input);
    this.refused = refused;
    try {
      for (const r of e.outputs) if (!failed?.has((r as ChainOutput).input)) this.output(r, origin, input);
    } finally {
      this.refused = undefined;
    }
    if (refused.length === 0 && failed) {
      const once = new Set<number>();
      for (const f of e.failures) {
        if (f.input >= 0 && once.has(f.input)) continue;
        once.add(f.input);
        this.failure(f, origin, input);
      }
      for (const l of e.late) this.lateRecord(l, origin, input);
      this.seal();
      return undefined;
    }
    for (const f of e.failures) if (f.input >= 0) refused.push(f);
    if (refused.length === 0) {
      for (const f of e.failures) this.failure(f, origin, input);
      for (const l of e.late) this.lateRecord(l, origin, input);
      this.seal();
      return undefined;
    }
    this.unwrite(origin, outCount);
    const records = new Set<number>();
    for (const f of refused) {
      if (records.has(f.input)) continue;
      records.add(f.input);
      this.failure(f, origin, input);
    }
    this.seal();
    return records;
  }

  /**
   * `tryEffects` for a unit with branches that wrote no state: a record is a unit of work per
   * branch, as it was in the sink's own unit before the branches were folded in. A record that
   * failed in a branch, or whose output there cannot be written, is dead-lettered once and leaves
   * that branch's topics alone; its other branches' outputs stand (one that failed in the trunk
   * reached no branch). Nothing to take back, so nothing runs again.
   */
  routedEffects(e: OperatorEffects, origin: string, input: Input): (r: ChainOutput) => boolean {
    const routes = this.unit.routes!.length;
    // A record failed in the trunk loses all its outputs (as in any chain); in a branch, that branch's.
    const inTrunk = new Set<number>();
    const inBranch = new Set<number>();
    const keyOf = (input: number, route: number) => input * routes + route;
    // Each once: the first reason of a record in the trunk, or in a branch.
    const dead: ChainFailure[] = [];
    for (const f of e.failures) {
      if (f.input >= 0 && f.route === undefined) {
        if (inTrunk.has(f.input)) continue;
        inTrunk.add(f.input);
      } else if (f.input >= 0) {
        const key = keyOf(f.input, f.route!);
        if (inBranch.has(key)) continue;
        inBranch.add(key);
      }
      dead.push(f);
    }
    const outCount = this.outCount;
    this.outputsMade = e.outputs.length;
    for (;;) {
      const refused: ChainFailure[] = [];
      this.refused = refused;
      try {
        for (const r of e.outputs) {
          const { input: i, route } = r as ChainOutput;
          if (dead.length === 0 || !(inTrunk.has(i) || inBranch.has(keyOf(i, route!)))) this.output(r, origin, input);
        }
      } finally {
        this.refused = undefined;
      }
      if (refused.length === 0) break;
      // An output refused: its record leaves that branch, and the outputs are made again without it.
      for (const f of refused) {
        const key = keyOf(f.input, (f.record as ChainOutput).route!);
        if (inBranch.has(key)) continue;
        inBranch.add(key);
        dead.push(f);
      }
      this.unwrite(origin, outCount);
    }
    // In the order of their records (the trunk's come first in `failures`).
    if (dead.length > 1) dead.sort((a, b) => a.input - b.input);
    for (const f of dead) this.failure(f, origin, input);
    for (const l of e.late) this.lateRecord(l, origin, input);
    this.seal();
    // Whether an output was written (its record failed in neither the trunk nor its branch, nor was it refused).
    return (r) => dead.length === 0 || !(inTrunk.has(r.input) || inBranch.has(keyOf(r.input, r.route!)));
  }

  /**
   * A sole reader's record failed in its steps (`RuntimeUnit.soleReaders`): a dead letter on the
   * reader's topic naming the record's place in the topic it read — `index` in the message
   * `origin` made there (its sequence known once that is published, `flush`), or in the message
   * `seq` read from it — so `ssdk redrive` puts it back there.
   */
  readerFailure(part: SoleReaderPart, f: ChainFailure, origin: string, index: number, seq?: number): void {
    this.readerLetters.push({ part, f, origin, index, ...(seq !== undefined ? { seq } : {}) });
  }

  private readerLetters: Array<{ part: SoleReaderPart; f: ChainFailure; origin: string; index: number; seq?: number }> = [];
  /** The origin each message to a sole reader's topic was made for (`make`). */
  private readonly originOf = new WeakMap<PublishMessage, string>();
  private readonly ownSeqs: Set<number> | undefined;

  /** The sole readers' dead letters, once their topics' messages are published (`bySeq`: origin → sequence there). */
  private makeReaderLetters(bySeq: ReadonlyMap<string, number>): void {
    for (const { part, f, origin, index, seq: known } of this.readerLetters) {
      const seq = known ?? bySeq.get(`${part.topic.id}|${origin}`);
      const where = seq !== undefined ? { topic: part.topic.id, partition: 0, seq, ...(index >= 0 ? { index } : {}) } : undefined;
      const value = { reason: f.reason, operator: f.operator, ...(where ? { input: where } : {}), ...(f.record.key !== null ? { key: f.record.key } : {}), value: f.record.value, timestamp: f.record.timestamp };
      this.push(part.deadLetter, 0, `${part.topic.id}/0:${seq ?? origin}`, {
        key: null,
        value: this.deadLetterText(value),
        timestamp: f.record.timestamp,
        headers: { 'ssdk-reason': f.reason.slice(0, 1000), 'ssdk-operator': f.operator },
      });
    }
    this.readerLetters = [];
    this.seal();
  }

  /**
   * What a window run after the unit's chain made (`RuntimeUnit.windowReader`), as its own unit
   * published it: its results to its outputs (a result they refuse dead-lettered as its), its late
   * records on its late-events topic, its failures on its dead-letter topic naming the record's
   * place in the topic it reads — in the message `origin` made there, or (`read`) the message read
   * from it at `seq`, `index` giving a record's place in it.
   */
  readerEffects(part: SoleReaderPart, r: ReaderEffects, origin: string, read?: { seq: number; index: (record: number) => number }): void {
    this.seal();
    const outCount = this.outCount;
    this.readerTo = part;
    try {
      for (const f of r.flushes) this.output(f.record, `window:${f.window.start}:${f.window.end}`, undefined);
    } finally {
      this.readerTo = undefined;
    }
    const counts = this.countsOf(part);
    counts.out += this.outCount - outCount;
    counts.failed += r.failures.length;
    counts.late += r.late.length;
    for (const f of r.failures) this.readerFailure(part, f, origin, f.input >= 0 ? (read ? read.index(f.input) : f.input) : -1, read?.seq);
    for (const l of r.late) this.lateRecord(l, origin, undefined, part.lateEvents);
    this.seal();
  }

  /** While `readerEffects` writes a window reader's results: where they go, whose fault a refused one is. */
  private readerTo: SoleReaderPart | undefined;
  /** What went out as a sole reader's own unit's, by its id (its unit's metrics count it; `outCount` holds its records out too). */
  private readonly readerCounts = new Map<string, { out: number; failed: number; late: number }>();
  private countsOf(part: SoleReaderPart): { out: number; failed: number; late: number } {
    let c = this.readerCounts.get(part.id);
    if (!c) this.readerCounts.set(part.id, (c = { out: 0, failed: 0, late: 0 }));
    return c;
  }

  /** Drops the outputs `origin` has made so far (they are made again), back to `outCount` records out. */
  private unwrite(origin: string, outCount: number): void {
    this.groups.delete(origin);
    this.carried.delete(origin);
    this.lastOrigin = '';
    this.lastGroup = undefined;
    this.lastBatch = undefined;
    this.outCount = outCount;
  }

  /** Outputs refused while `tryEffects` runs, collected instead of dead-lettered. */
  private refused: ChainFailure[] | undefined;

  /** An output that cannot be written: its record is dead-lettered (by `tryEffects` once the message is settled). */
  private refuse(f: ChainFailure, origin: string, input: Input | undefined): void {
    if (this.readerTo) {
      this.countsOf(this.readerTo).failed++;
      this.readerFailure(this.readerTo, f, origin, -1);
    } else if (this.refused && f.input >= 0) this.refused.push(f);
    else this.failure(f, origin, input);
  }

  effects(e: OperatorEffects, origin: string, input: Input | undefined): void {
    this.outputsMade = e.outputs.length;
    for (const r of e.outputs) this.output(r, origin, input);
    // A window's result is its own origin: a replay that closes it in another batch makes the same
    // frame. So is a session's, unless only the unit's input messages move its watermark
    // (`watermarkByMessages`): then a replay closes each session at the same message, and the
    // results of those a message (or the end) closes share its frames — one message where there
    // was one a session (q11: 3 925 one-record messages for the next unit to read, publish again
    // and ack). A tick's (the clock's) keep their own.
    const bySession = this.unit.watermarkByMessages !== true || origin === TICK;
    for (const f of e.flushes) this.output(f.record, f.session === undefined ? `window:${f.window.start}:${f.window.end}` : bySession ? `session:${f.window.start}:${f.window.end}:${f.session}` : origin, undefined);
    for (const f of e.failures) this.failure(f, origin, input);
    for (const l of e.late) this.lateRecord(l, origin, input);
    this.seal();
    if (e.reader) this.readerEffects(this.unit.windowReader!, e.reader, origin);
  }

  deadLetter(operator: string, reason: string, ch: ChannelReader, seq: number, index: number, record: EngineRecord | undefined, rawValue?: Uint8Array, raw?: RawRecord): void {
    const value = {
      reason,
      operator,
      input: { topic: ch.topic.id, partition: ch.partition, seq, index },
      ...(raw?.key ? { key: lenientUtf8(raw.key) } : record?.key !== undefined && record.key !== null ? { key: record.key } : {}),
      ...(record ? { value: record.value } : rawValue ? { raw: lenientUtf8(rawValue) } : {}),
      ...(raw ? { timestamp: raw.timestamp } : record ? { timestamp: record.timestamp } : {}),
    };
    const to = this.letterTo ?? this.unit.deadLetter;
    if (!this.letterTo) this.failed++;
    this.push(to, ch.partition % to.partitions, `${ch.channel}:${seq}`, {
      key: null,
      value: this.deadLetterText(value),
      timestamp: raw?.timestamp ?? record?.timestamp ?? 0,
      headers: { 'ssdk-reason': reason.slice(0, 1000), 'ssdk-operator': operator },
    });
  }

  /** `deadLetter` for a record a sole reader could not read from its topic (a redrive's): on its dead-letter topic. */
  readerDeadLetter(part: SoleReaderPart, ...args: DeadLetterArgs): void {
    this.countsOf(part).failed++;
    this.letterTo = part.deadLetter;
    try {
      this.deadLetter(...args);
    } finally {
      this.letterTo = undefined;
    }
  }

  private letterTo: RuntimeTopic | undefined;

  private failure(f: ChainFailure, origin: string, input: Input | undefined): void {
    const where = input ? { topic: input.ch.topic.id, partition: input.ch.partition, seq: input.seq, ...(f.input >= 0 ? { index: indexIn(input, f.input) } : {}) } : undefined;
    const value = { reason: f.reason, operator: f.operator, ...(where ? { input: where } : {}), ...(f.record.key !== null ? { key: f.record.key } : {}), value: f.record.value, timestamp: f.record.timestamp };
    this.failed++;
    this.push(this.unit.deadLetter, (input?.ch.partition ?? 0) % this.unit.deadLetter.partitions, origin, {
      key: null,
      value: this.deadLetterText(value),
      timestamp: f.record.timestamp,
      headers: { 'ssdk-reason': f.reason.slice(0, 1000), 'ssdk-operator': f.operator },
    });
  }

  /**
   * A dead letter as JSON text, within a frame: the record that failed for its size would make
   * a dead letter as large, so its value is cut to a preview (the reason says how large it was).
   */
  private deadLetterText(value: { reason: string; value?: unknown; raw?: string }): string {
    const text = JSON.stringify(value);
    // Far below the frame limit too, however small the server's max_payload makes it.
    if (text.length <= Math.min(DEAD_LETTER_VALUE_LIMIT, this.maxFrameBytes / 8)) return text;
    const shown = value.raw ?? JSON.stringify(value.value) ?? '';
    const { value: _value, raw: _raw, ...rest } = value;
    return JSON.stringify({ ...rest, truncated: { bytes: utf8.encode(shown).length, preview: shown.slice(0, DEAD_LETTER_PREVIEW) } });
  }

  private lateRecord(l: LateRecord, origin: string, input: { ch: ChannelReader; seq: number } | undefined, t = this.unit.lateEvents): void {
    if (t === this.unit.lateEvents) this.late++;
    this.push(t, (input?.ch.partition ?? 0) % t.partitions, origin, {
      key: l.record.key === null ? null : t.key.encode(l.record.key),
      value: JSON.stringify(recordValue(l.record)),
      timestamp: l.record.timestamp,
      headers: { 'ssdk-reason': l.reason },
    });
  }

  /** Where a record goes: its branch's topics (a unit with branches), else every output. */
  private routeOf(r: EngineRecord): { topics: readonly RuntimeTopic[]; lastStep: string } {
    if (this.readerTo) return { topics: this.readerTo.outputs!, lastStep: this.readerTo.lastStep! };
    const routes = this.unit.routes;
    const route = routes ? (r as Partial<ChainOutput>).route : undefined;
    return route !== undefined ? routes![route]! : this.everyOutput;
  }

  private output(r: EngineRecord, origin: string, input: Input | undefined): void {
    const inputPartition = input?.ch.partition;
    if (this.carry) return this.outputCarried(r, origin, input);
    const from = (r as Partial<ChainOutput>).input;
    const raw = from === undefined ? undefined : input?.raws?.[from];
    const { topics, lastStep } = this.routeOf(r);
    for (const topic of topics) {
      let value: string | Uint8Array;
      try {
        // A value that went through unchanged (a filter, a key assignment), or the payload of
        // the variant it held (`event.bid`), travels as the bytes it came in: writing it again is
        // one of the larger costs per record of a hop. A primitive's bytes hold the same value.
        // An object could have been changed in place: it goes as it came when it still equals the
        // copy kept as it was read, its bytes are what JSON.stringify writes (`kept`) and this
        // topic would write it the same way — the same bytes.
        const asRead = raw && topic.converter === input!.ch.topic.converter ? bytesAsRead(r.value, input!, from!, raw, topic) : undefined;
        if (asRead) input!.ch.passedAsRead++;
        value = asRead ?? topic.value.encodeText(r.value);
      } catch (err) {
        // The function returned something its declared output does not allow.
        const reason = `${lastStep} returned a value that does not fit topic \`${topic.id}\`: ${(err as Error).message}`;
        this.refuse({ input: from ?? -1, operator: lastStep, reason, record: r }, origin, input);
        continue;
      }
      const keyed = r.key === null ? undefined : wireKey(topic, r.key);
      const key = keyed ? keyed.text : null;
      // A record no frame can hold would be refused by the bus (and refused again after every
      // restart): it is dead-lettered, the partition goes on. Only a long value is measured.
      if ((typeof value === 'string' ? value.length * 3 : value.length) > this.quickBytes) {
        const size = frameBytesOf({ key, value, timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) });
        if (size > this.maxFrameBytes) {
          this.refuse({ input: from ?? -1, operator: lastStep, reason: oversized(lastStep, topic, size, this.maxFrameBytes), record: r }, origin, input);
          continue;
        }
      }
      // A keyless window result goes to partition 0: results stay in window order, and a replay
      // that groups flushes into batches differently publishes each to the same place (same id).
      const partition = keyed ? keyed.partition : inputPartition !== undefined ? inputPartition % topic.partitions : 0;
      this.outCount++;
      this.push(topic, partition, origin, { key, value, timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) });
    }
  }

  /** `output` in process: the checked snapshot of the value instead of its text (carried.ts). */
  private outputCarried(r: EngineRecord, origin: string, input: Input | undefined): void {
    const inputPartition = input?.ch.partition;
    const from = (r as Partial<ChainOutput>).input;
    const { topics, lastStep } = this.routeOf(r);
    for (let t = 0; t < topics.length; t++) {
      const topic = topics[t]!;
      let value: unknown;
      // A value of the topic's usual shape that passes its check: its readers copy it unchecked.
      let usual: unknown;
      try {
        usual = topic.value.usual?.snapshot(r.value);
        value = usual !== undefined ? usual : topic.value.snapshot(r.value);
      } catch (err) {
        const reason = `${lastStep} returned a value that does not fit topic \`${topic.id}\`: ${(err as Error).message}`;
        this.refuse({ input: from ?? -1, operator: lastStep, reason, record: r }, origin, input);
        continue;
      }
      const key = r.key === null ? null : topic.key.carry(r.key);
      // The same limit as on the wire (`output`), so both runtimes give one verdict: a value is
      // encoded to be measured only when a quick bound cannot rule it out.
      if (!withinBytes(value, this.quickBytes)) {
        const size = frameBytesOf({ key: key === null ? null : topic.key.encode(key), value: topic.value.wire(value), timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) });
        if (size > this.maxFrameBytes) {
          this.refuse({ input: from ?? -1, operator: lastStep, reason: oversized(lastStep, topic, size, this.maxFrameBytes), record: r }, origin, input);
          continue;
        }
      }
      // Partitions as `output` picks them (the key's text is only needed when there is a choice).
      const partition =
        topic.partitions === 1 ? 0 : key !== null ? wireKey(topic, key).partition : inputPartition !== undefined ? inputPartition % topic.partitions : 0;
      this.outCount++;
      this.carriedBatch(origin, topic, partition).push(key, value, frameTimestamp(r.timestamp), r.headers, undefined, usual !== undefined);
    }
  }

  /**
   * The batch `origin`'s records for (topic, partition) go to. A message's outputs mostly go to
   * one topic partition in a row, so the last batch is kept at hand: two map lookups and an
   * array read per record were a tenth of a hop.
   */
  private carriedBatch(origin: string, topic: RuntimeTopic, partition: number): CarriedBatch {
    const last = this.lastBatch;
    if (last !== undefined && last.topic === topic && this.lastBatchPartition === partition && this.lastOrigin === origin) return last;
    let byTopic = origin === this.lastOrigin ? this.lastGroup : this.carried.get(origin);
    if (!byTopic) this.carried.set(origin, (byTopic = new Map()));
    this.lastOrigin = origin;
    this.lastGroup = byTopic;
    let parts = byTopic.get(topic);
    if (!parts) byTopic.set(topic, (parts = []));
    // Room for what the message made, spread over the topic's partitions (`CarriedBatch`).
    const batch = (parts[partition] ??= new CarriedBatch(topic, this.outputsMade / topic.partitions));
    this.lastBatch = batch;
    this.lastBatchPartition = partition;
    return batch;
  }

  endOfInput(topics: readonly RuntimeTopic[]): void {
    this.ends.push(...topics);
  }

  /**
   * The unit's event-time progress, to every partition of `topics` after the batch's records.
   * No message id: a repeat says nothing new (progress.ts).
   */
  progress(entries: ProgressEntry[], topics: readonly string[]): void {
    this.progressFrame = { data: encodeFrame({ kind: 'progress', entries }), topics };
  }

  private push(topic: RuntimeTopic, partition: number, origin: string, record: OutRecord): void {
    let byTopic = this.groups.get(origin);
    if (!byTopic) this.groups.set(origin, (byTopic = new Map()));
    let parts = byTopic.get(topic);
    if (!parts) byTopic.set(topic, (parts = []));
    (parts[partition] ??= []).push(record);
  }

  /**
   * Encodes what is pending into frames. Called after every input message, so its records (and
   * their value texts) die young: held until the batch is published, they outlived the
   * collector's young generation by the hundred thousand and cost more to move than to make.
   */
  private seal(): void {
    for (const [origin, byTopic] of this.groups) {
      for (const [topic, parts] of byTopic) {
        parts.forEach((records, partition) => {
          const p = this.partitionMessages(topic, partition);
          const id = `${this.idPrefix}|${origin}|${topic.id}/${partition}`;
          let n = this.framesMade.get(id) ?? 0;
          for (const data of encodeRecordFrames(records, this.maxFrameBytes)) p.messages.push({ data, msgId: `${id}|${n++}` });
          this.framesMade.set(id, n);
        });
      }
    }
    this.groups.clear();
  }

  private partitionMessages(topic: RuntimeTopic, partition: number) {
    const k = `${topic.name}/${partition}`;
    let p = this.messages.get(k);
    if (!p) this.messages.set(k, (p = { topic, partition, messages: [] }));
    return p;
  }

  /** Nothing to publish: no record, dead letter or late event, no progress, no end. */
  get empty(): boolean {
    return this.groups.size === 0 && this.messages.size === 0 && this.carried.size === 0 && this.readerLetters.length === 0 && this.ends.length === 0 && this.progressFrame === undefined && this.outCount + this.failed + this.late === 0 && this.readerCounts.size === 0;
  }

  /** Set once the batch's messages are made (`flush` may run again after a server came back). */
  private made = false;
  private counted = false;
  private readersPublished = false;

  async flush(metrics: UnitMetrics, readerMetrics?: ReadonlyMap<string, UnitMetrics>): Promise<void> {
    const byPartition = this.messages;
    if (!this.made) this.make();
    const readers = this.unit.soleReaders;
    if (readers && !this.readersPublished) {
      // The sole readers' topics first: their readers' dead letters name their records' places there.
      const bySeq = new Map<string, number>();
      for (const p of byPartition.values()) {
        if (!readers.some((r) => r.topic === p.topic)) continue;
        const acks = await this.bus.publish(p.topic.name, p.partition, p.messages);
        acks.forEach((a, i) => {
          this.ownSeqs?.add(a.seq);
          const origin = this.originOf.get(p.messages[i]!);
          if (origin !== undefined) bySeq.set(`${p.topic.id}|${origin}`, a.seq);
        });
      }
      this.readersPublished = true;
      this.makeReaderLetters(bySeq);
    }
    await Promise.all([...byPartition.values()].filter((p) => !(readers && readers.some((r) => r.topic === p.topic))).map((p) => this.bus.publish(p.topic.name, p.partition, p.messages)));
    // The end goes out once everything before it is stored: a reader that stops at the end of a
    // topic (a dead-letter or late-events topic other units write too) misses nothing.
    await publishEnds(this.bus, this.unit.id, this.ends);
    if (this.counted) return;
    this.counted = true;
    let readersOut = 0;
    for (const [id, c] of this.readerCounts) {
      readersOut += c.out;
      const m = readerMetrics?.get(id);
      m?.recordsOut(c.out);
      m?.deadLettered(c.failed);
      m?.late(c.late);
    }
    metrics.recordsOut(this.outCount - readersOut);
    metrics.deadLettered(this.failed);
    metrics.late(this.late);
  }

  /** The batch's messages, in the order they go out: frames, carried records, then progress. */
  private make(): void {
    this.made = true;
    this.seal();
    for (const [origin, byTopic] of this.carried) {
      for (const [topic, parts] of byTopic) {
        parts.forEach((batch, partition) => {
          const m = { data: carry(batch), msgId: `${this.idPrefix}|${origin}|${topic.id}/${partition}|0` };
          if (this.unit.soleReaders) this.originOf.set(m, origin);
          this.partitionMessages(topic, partition).messages.push(m);
        });
      }
    }
    if (this.progressFrame) {
      for (const id of this.progressFrame.topics) {
        const topic = this.unit.outputs.find((t) => t.id === id)!;
        for (let partition = 0; partition < topic.partitions; partition++) this.partitionMessages(topic, partition).messages.push({ data: this.progressFrame.data });
      }
    }
  }
}

export type { WindowBounds };

/** End-of-input frames on every partition of `topics`, with ids that make a repeat a duplicate. */
export async function publishEnds(bus: Bus, unitId: string, topics: readonly RuntimeTopic[]): Promise<void> {
  await Promise.all(
    topics.flatMap((t) =>
      Array.from({ length: t.partitions }, (_, partition) =>
        bus.publish(t.name, partition, [{ data: encodeFrame({ kind: 'end' }), msgId: `${unitId}|end|${t.id}/${partition}` }]),
      ),
    ),
  );
}
