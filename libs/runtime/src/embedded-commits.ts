/**
 * How the embedded runtime commits: through the same partitioned checkpoint store and layout as
 * an operator service (partitioned-checkpoints.ts: every partition, no fence), but the units of
 * one process commit together, at consistent cuts.
 *
 * Why: the topics between units live in memory and die with the process. A unit that committed
 * its input offsets while its outputs still sat unread in memory would, after a crash, lose them;
 * a reader that committed past them would read the new process's topics at the wrong place. So a
 * unit's commit is held (`pending`), and every unit's pending commit is written in one
 * transaction at a moment when nothing is in flight between units: every topic a unit of this
 * process writes has been read, to its last message, by every unit that reads it, and every unit
 * that published has handed over the commit that goes with it. At such a cut the state of all
 * units is what an uninterrupted run had at the same source offsets, so a restarted run that
 * replays its input files from those offsets (and reads the in-memory topics from their new
 * beginning) ends exactly as an uninterrupted one. To make cuts happen while records flow, the
 * sources are held back when a cut is due (`holdSources`), so the units between drain.
 *
 * The topics no unit of this process reads (its sinks: output topics, dead letters, late events)
 * would die with the process too: what was published to them before a cut goes into that cut's
 * transaction (one `_offsets` row per sink partition and cut, operator `<topic>/<partition>#outputs`),
 * and a resumed run publishes it again before its units start (`restoreOutputs`). So a run killed
 * and resumed ends with the outputs of an uninterrupted run, not only its state.
 */
import type { Bus, PublishMessage } from '@ssdk/bus';
import { encodeKey, windowId, type StateChange, type WindowBounds } from '@ssdk/engine';
import type { PlanStateAccess } from '@ssdk/plan';
import type { Commit, StateStore } from '@ssdk/state';
import { channelOf, type Channel } from './channel.ts';
import type { CheckpointCommit, CheckpointStore } from './checkpoint.ts';
import { partitionedCheckpointStore, unitPartitions, type PartitionedCheckpoints } from './partitioned-checkpoints.ts';
import type { RuntimeTopic, RuntimeUnit } from './topology.ts';
import { wireData, wrapping } from './carried.ts';

export interface EmbeddedCommitOptions {
  store: StateStore;
  units: readonly RuntimeUnit[];
  /** A cut is due this long after the last one, ms. @default 200 */
  intervalMs?: number;
}

interface Pending {
  states: readonly PlanStateAccess[];
  /** Changes since the last cut, the last per (state, window, key). */
  changes: Map<string, StateChange>;
  dropped: WindowBounds[];
  last: CheckpointCommit;
}

export class EmbeddedCommits {
  private readonly store: StateStore;
  private readonly units: readonly RuntimeUnit[];
  private readonly stores = new Map<string, PartitionedCheckpoints>();
  private readonly pending = new Map<string, Pending>();
  /** Per unit, how far it has read each channel, by the last commit it handed over (cut or not). */
  private readonly read = new Map<string, ReadonlyMap<Channel, number>>();
  /** Units that published since they last handed over a commit. */
  private readonly dirty = new Set<string>();
  /** The last sequence published per in-process topic partition (`<topic name>/<partition>`). */
  private readonly published = new Map<string, number>();
  /** Per unit, the channels it reads that a unit of this process writes. */
  private readonly inner: Array<{ unit: string; channel: Channel; at: string }>;
  private readonly written: Set<string>;
  private readonly intervalMs: number;
  private lastCut = performance.now();
  private due = false;
  private writing: Promise<void> | undefined;
  private failure: unknown;
  private readonly waiters: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;
  /** Topic names written here and read by no unit here (sinks): their messages are kept at cuts. */
  private readonly sinks: Set<string>;
  /** Sink messages published since the last cut, per `<topic name>/<partition>`. */
  private readonly outputs = new Map<string, Array<{ data: Uint8Array; msgId?: string }>>();
  /** The last stored row of each sink partition (row 0 says from which row on they count). */
  private readonly outputRows = new Map<string, number>();

  constructor(o: EmbeddedCommitOptions) {
    this.store = o.store;
    this.units = o.units;
    this.intervalMs = o.intervalMs ?? 200;
    this.written = new Set(o.units.flatMap((u) => u.outputs.map((t) => t.name)));
    this.inner = o.units.flatMap((u) =>
      u.inputs
        // A sole reader's topic: the unit wrote it and ran its reader's steps already (a redrive's records wait on their own, `commitOnceRead`).
        .filter((i) => this.written.has(i.topic.name) && !i.tail)
        .flatMap((i) => Array.from({ length: i.topic.partitions }, (_, p) => ({ unit: u.id, channel: channelOf(i.topic.id, p), at: `${i.topic.name}/${p}` }))),
    );
    const read = new Set(o.units.flatMap((u) => u.inputs.map((i) => i.topic.name)));
    // Dead letters and late events are written too, and read by no operator.
    const sinks = o.units.flatMap((u) => [...u.outputs, u.deadLetter, u.lateEvents, ...(u.soleReaders ?? []).flatMap((p) => [p.deadLetter, p.lateEvents])].map((t) => t.name));
    this.sinks = new Set(sinks.filter((t) => !read.has(t)));
    for (const unit of o.units) {
      const all = Array.from({ length: unitPartitions(unit) }, (_, p) => p);
      this.stores.set(unit.id, partitionedCheckpointStore({ store: o.store, unit, partitions: all, leases: [] }));
    }
    // A quiet dataflow hands over no commits that would try a cut: the clock does.
    this.timer = setInterval(() => this.tryCut(), this.intervalMs);
    this.timer.unref();
  }

  /** Whether `topic` is written by a unit of this process (else it is a source: input files, the shell). */
  inProcess(topic: RuntimeTopic): boolean {
    return this.written.has(topic.name);
  }

  /** Sources wait while a cut is due, so the units between them drain. */
  holdSources(): boolean {
    return this.due;
  }

  /** The unit's checkpoints: loaded from the store, committed at the next cut. */
  checkpoints(unit: RuntimeUnit): CheckpointStore {
    const inner = this.stores.get(unit.id)!;
    return {
      load: (id) => inner.load(id),
      loadState: (id, states, into) => inner.loadState(id, states, into),
      commit: async (id, states, c) => {
        if (this.failure) throw this.failure;
        this.hold(id, states, c);
        this.dirty.delete(id);
        this.tryCut();
      },
      close: async () => {},
    };
  }

  /** `bus` as `unit` publishes on it: what it publishes is in flight until it hands over its commit. */
  bus(unit: RuntimeUnit, bus: Bus): Bus {
    return wrapping({
      ensureTopic: (t) => bus.ensureTopic(t),
      topic: (name) => bus.topic(name),
      read: (topic, partition, options) => bus.read(topic, partition, options),
      lastSeq: (topic, partition) => bus.lastSeq(topic, partition),
      streamIdentity: (topic) => bus.streamIdentity(topic),
      close: () => bus.close(),
      publish: async (topic, partition, messages) => {
        this.dirty.add(unit.id);
        const acks = await bus.publish(topic, partition, messages);
        if (this.written.has(topic)) {
          const at = `${topic}/${partition}`;
          for (const a of acks) if (a.seq > (this.published.get(at) ?? 0)) this.published.set(at, a.seq);
        }
        if (this.sinks.has(topic)) this.keepOutputs(`${topic}/${partition}`, messages, acks.map((a) => a.duplicate));
        return acks;
      },
    }, bus);
  }

  /**
   * Writes a cut once one is possible (sources are held meanwhile) and resolves when it is
   * stored: after every unit ended, or before a graceful stop.
   */
  async drain(): Promise<void> {
    this.due = true;
    await new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      this.tryCut(true);
    });
    await this.writing;
    if (this.failure) throw this.failure;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /**
   * Before any unit runs, what earlier runs' cuts stored for the sink topics: `replay` (a resumed
   * run on the same input) publishes it on `bus`, in order; `forget` makes those rows stop
   * counting (a new run's outputs start empty, as its in-memory topics do); `keep` leaves them
   * counting and unpublished, and new cuts add after them (`ssdk redrive` reads them).
   */
  async restoreOutputs(bus: Bus, topics: readonly RuntimeTopic[], mode: 'replay' | 'forget' | 'keep'): Promise<void> {
    const forget: Commit = { writes: [], offsets: [] };
    for (const t of topics) {
      if (!this.sinks.has(t.name)) continue;
      for (let p = 0; p < t.partitions; p++) {
        const at = `${t.name}/${p}`;
        const { rows, from, last } = await this.outputRowsOf(at);
        this.outputRows.set(at, last);
        if (mode === 'forget') {
          if (last >= from) forget.offsets.push({ operator: outputsOperator(at), partition: 0, seq: 0, meta: { from: last + 1 } });
          continue;
        }
        if (mode === 'keep') continue;
        for (const row of rows) if (row.messages.length > 0) await bus.publish(t.name, p, row.messages);
      }
    }
    if (forget.offsets.length > 0) await this.store.commit(forget);
  }

  /**
   * Which run of the dataflow this is, for the ids of the messages its units publish
   * (`UnitTaskOptions.msgIdScope`), once `restoreOutputs` has run: undefined while no cut has
   * stored any output, then the number of output rows stored so far. An in-memory topic starts
   * again at sequence 1 in every process, so an output made from its records would otherwise take
   * the id of one an earlier run stored — published again on a resume — and be dropped as its
   * copy. The count grows with every row a run stores; a run that stored none makes no
   * message that could be taken for another's, so the next may have its number.
   */
  incarnation(): string | undefined {
    let rows = 0;
    for (const last of this.outputRows.values()) rows += last;
    return rows > 0 ? `r${rows}` : undefined;
  }

  /** What the cuts stored for a sink partition (`<topic name>/<partition>`) and still counts, row by row. */
  async storedOutputs(at: string): Promise<Array<{ row: number; messages: PublishMessage[] }>> {
    return (await this.outputRowsOf(at)).rows;
  }

  private async outputRowsOf(at: string) {
    const stored = await this.store.offsets(outputsOperator(at));
    const from = (stored.get(0)?.meta as { from?: number } | undefined)?.from ?? 1;
    const last = Math.max(0, ...stored.keys());
    const rows = [...stored.keys()]
      .filter((k) => k >= from)
      .sort((a, b) => a - b)
      .map((row) => {
        const kept = (stored.get(row)!.meta as { messages: Array<{ data: string; msgId?: string }> }).messages;
        return { row, messages: kept.map((m): PublishMessage => ({ data: Buffer.from(m.data, 'base64'), ...(m.msgId ? { msgId: m.msgId } : {}) })) };
      });
    return { rows, from, last };
  }

  /**
   * `rows` go into the first cut at which every unit named in `upTo` has read its channel up to
   * `seq`, and no cut is made before: everything reading those messages did is in the same
   * transaction as the rows (`ssdk redrive`'s marks, so a redrive killed midway sends them all
   * again and none twice). `upTo` may be corrected in place once the messages are published
   * (their real sequences).
   */
  commitOnceRead(rows: Commit['offsets'], upTo: Array<{ unit: string; channel: Channel; seq: number }>): void {
    this.afterRead.push({ rows, upTo });
  }

  private wasRead(upTo: ReadonlyArray<{ unit: string; channel: Channel; seq: number }>): boolean {
    return upTo.every((u) => (this.read.get(u.unit)?.get(u.channel) ?? 0) >= u.seq);
  }

  private readonly afterRead: Array<{ rows: Commit['offsets']; upTo: ReadonlyArray<{ unit: string; channel: Channel; seq: number }> }> = [];

  private keepOutputs(at: string, messages: readonly PublishMessage[], duplicate: readonly boolean[]): void {
    let kept = this.outputs.get(at);
    if (!kept) this.outputs.set(at, (kept = []));
    messages.forEach((m, i) => {
      if (!duplicate[i]) kept.push({ data: wireData(m.data), ...(m.msgId ? { msgId: m.msgId } : {}) });
    });
  }

  private hold(unit: string, states: readonly PlanStateAccess[], c: CheckpointCommit): void {
    // Held past the batch: the loop goes on with its offsets (and a function may change an
    // object value in place), so what is held is a copy.
    const last = { ...c, offsets: new Map(c.offsets) };
    let p = this.pending.get(unit);
    if (!p) this.pending.set(unit, (p = { states, changes: new Map(), dropped: [], last }));
    for (const ch of c.changes) {
      const held = ch.value !== null && typeof ch.value === 'object' ? { ...ch, value: structuredClone(ch.value) } : ch;
      p.changes.set(`${ch.state}\0${windowId(ch.window)}\0${encodeKey(ch.key)}`, held);
    }
    if (c.dropped.length > 0) {
      // A dropped window's rows go with it: its held changes need not be written first.
      const gone = new Set(c.dropped.map((w) => windowId(w)));
      for (const [id, ch] of p.changes) if (ch.window && gone.has(windowId(ch.window))) p.changes.delete(id);
      p.dropped.push(...c.dropped);
    }
    p.last = last;
    this.read.set(unit, last.offsets);
  }

  /** Nothing in flight between units: every in-process channel read to its end, every publisher's commit handed over. */
  private consistent(): boolean {
    if (this.dirty.size > 0) return false;
    for (const { unit, channel, at } of this.inner) {
      const read = this.read.get(unit)?.get(channel) ?? 0;
      if (read < (this.published.get(at) ?? 0)) return false;
    }
    return true;
  }

  private tryCut(force = false): void {
    if (this.writing || this.failure) return;
    if (this.pending.size === 0 && this.waiters.length === 0) return;
    if (!force && !this.due && performance.now() - this.lastCut < this.intervalMs) return;
    // Rows waiting for their messages to be read hold every cut back until they are: what reading
    // them does is committed whole, with the rows, or not at all (a redrive killed before sends
    // them all again, none twice). The sources must flow meanwhile, so no cut is due.
    if (this.afterRead.some((a) => !this.wasRead(a.upTo))) {
      this.due = false;
      return;
    }
    if (!this.consistent()) {
      this.due = true;
      return;
    }
    const cut = [...this.pending];
    this.pending.clear();
    const waiters = this.waiters.splice(0);
    const commit: Commit = { writes: [], dropWindows: [], offsets: [] };
    for (const [unit, p] of cut) {
      const c = this.stores.get(unit)!.commitOf(unit, p.states, { ...p.last, changes: [...p.changes.values()], dropped: p.dropped });
      // Loops, not spreads: a cut may hold more writes than a call has arguments.
      for (const w of c.writes) commit.writes.push(w);
      for (const d of c.dropWindows ?? []) commit.dropWindows!.push(d);
      for (const o of c.offsets) commit.offsets.push(o);
    }
    // Rows whose messages are read (all of them, by the check above): every commit handed over
    // is in this cut or an earlier one, so what `read` says is committed once this cut is.
    for (const a of this.afterRead.splice(0)) for (const r of a.rows) commit.offsets.push(r);
    // What the sinks got since the last cut, in the same transaction as the state that made it.
    for (const [at, messages] of this.outputs) {
      if (messages.length === 0) continue;
      const n = (this.outputRows.get(at) ?? 0) + 1;
      this.outputRows.set(at, n);
      const meta = { messages: messages.map((m) => ({ data: Buffer.from(m.data).toString('base64'), ...(m.msgId ? { msgId: m.msgId } : {}) })) };
      commit.offsets.push({ operator: outputsOperator(at), partition: n, seq: messages.length, meta });
    }
    this.outputs.clear();
    const write = async (): Promise<void> => {
      if (commit.writes.length + commit.offsets.length + commit.dropWindows!.length > 0) await this.store.commit(commit);
    };
    // `.then` runs later, after `writing` is set, even when there was nothing to write.
    this.writing = write().then(
      () => this.cutWritten(waiters),
      (err: unknown) => {
        this.failure = err;
        this.cutWritten(waiters);
      },
    );
  }

  private cutWritten(waiters: Array<() => void>): void {
    this.lastCut = performance.now();
    this.writing = undefined;
    // Stopping or ending: sources stay held.
    this.due = this.waiters.length > 0;
    for (const w of waiters) w();
    // A drain asked for while this cut was written waits for the next one.
    if (this.waiters.length > 0) this.tryCut(true);
  }
}

/** The `_offsets` operator under which a sink partition's stored outputs are kept. */
function outputsOperator(at: string): string {
  return `${at}#outputs`;
}
