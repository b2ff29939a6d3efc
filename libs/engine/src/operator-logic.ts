/**
 * What one operator does with a batch, whatever runs it (the embedded runtime or an operator
 * service, both the runtime's host loop): a chain of steps (stateless, or keyed with
 * update-state), a window (window assignment, late records, keyed steps, flush when the
 * watermark passes a window's end), session windows, a join (join-logic.ts), or a passthrough.
 * State lives in a `MemoryState` cache that the host loop loads and checkpoints; the operator's
 * own progress (watermark, open windows) is `meta`, committed with it. Pure of I/O: functions run
 * through a `ChainExecutor` the runtime makes (native, or a WebAssembly sandbox).
 */
import { createHash } from 'node:crypto';
import { keptRecord, readsAgain, rereadableRecord, startRun, timeMadeWith, windowCopy, type ChainFailure, type ChainInput, type ChainOutput, type ChainResult, type EngineRecord, type Key, type StateAccess, type ValueSource } from './chain.ts';
import { encodeKey, type MemoryState } from './memory-state.ts';
import { assignSessions, restoreSessions, takeClosedSessions, takeSessionRows, type ClosedSession, type Session, type SessionConfig, type SessionsState } from './sessions.ts';
import { addChannel, advance, boundChannel, type WatermarkState } from './watermark.ts';
import { assignWindows, endWindows, initialWindowState, tickWatermark, windowInputWith, windowsToFlush, type LateRecord, type WindowConfig } from './window-operator.ts';
import type { WindowBounds } from './windows.ts';

export interface OperatorEffects {
  outputs: EngineRecord[];
  /**
   * Window results, each with its window: their output ids derive from the window, not the
   * input (and from `session`, the key's encoding, for a session: sessions of several keys may
   * have the same bounds).
   */
  flushes: Array<{ window: WindowBounds; record: EngineRecord; session?: string }>;
  failures: ChainFailure[];
  late: LateRecord[];
  /**
   * The event times the records got from the unit's timestamp step (only a unit with one says):
   * the highest, and whether any differs from the time its record came with.
   */
  times?: { max: number; retimed: boolean };
  /**
   * A window reader run in this unit after its writer (`WindowedLogicOptions.writer`): what its
   * window made — its flushes, its late records and its failures (a record's `input`: its index
   * among the message's records on the writer's topic; -1 for a flush's). The rest of the effects
   * are the writer's, as its own unit's.
   */
  reader?: ReaderEffects;
}

/** What a window reader run in its writer's unit made (`OperatorEffects.reader`). */
export interface ReaderEffects {
  flushes: OperatorEffects['flushes'];
  failures: ChainFailure[];
  late: LateRecord[];
}

/** `discardOutputs`, `owned` and `handOver` as `runChain` takes them (a sandbox makes its own records: it may ignore `owned` and `handOver`). */
export interface RunOptions {
  discardOutputs?: boolean;
  owned?: boolean;
  handOver?: boolean;
}

/** The host loop's records: the first steps of a unit change their key and time in place (`ChainOptions.owned`). */
const OWNED: RunOptions = { owned: true };
/** A trunk's records for the branch that runs last, which takes those the trunk made as its own (`ChainOptions.handOver`). */
const HANDED_OVER: RunOptions = { handOver: true };
/** A sole reader's steps after a branch: what they make goes nowhere (`BranchedChain.tails`). */
const DISCARDED: RunOptions = { discardOutputs: true };

/**
 * Runs a unit's steps over a batch: natively (the engine's `runChain` on compiled functions) or
 * in a sandbox (a WebAssembly component running the same executor). Both see the unit's state
 * through `StateAccess` and leave their changes in it.
 */
export interface ChainExecutor {
  /** Asynchronous: a sandboxed chain's `ctx.sql` queries run on this thread while its guest waits. */
  run(inputs: readonly ChainInput[], state: StateAccess, options?: RunOptions): Promise<ChainResult>;
  /** The chain's flush step over a closing window. */
  flush(window: WindowBounds, state: StateAccess): Promise<{ output?: EngineRecord; failure?: ChainFailure }>;
  close?(): void;
  /** Makes several calls of this and other executors as one (`SectionRunner`); without it, each call is made on its own. */
  section?: SectionRunner;
}

/** The calls a section's job makes: an executor's `run` and `flush`, synchronous, with no guard of their own. */
export interface SectionCalls {
  run(executor: ChainExecutor, inputs: readonly ChainInput[], options?: RunOptions): ChainResult;
  flush(executor: ChainExecutor, window: WindowBounds): { output?: EngineRecord; failure?: ChainFailure };
  /** `f` runs once the section stands, before the `ctx.log` lines made after this call are told: where they come from. */
  beforeLines(f: () => void): void;
  /** How much of the section's time limit its job has used so far (1: all of it). */
  limitUsed(): number;
}

/**
 * A section that takes several input messages stops taking more once its job has used this
 * share of the limit: the next messages go in a section of their own, so work that is merely
 * long (many messages, each well within the limit) never runs past a limit and twice.
 */
const SECTION_SHARE = 0.5;

/** An input message for `processMany`: its records, where it came from, the clock when it was read. */
export interface MessageIn {
  records: readonly EngineRecord[];
  channel: string;
  now: number;
}

/**
 * What the host loop does while `processMany` runs its messages: synchronously, inside the
 * section (which may run more than once: each call with the same `i` replaces the last).
 */
export interface ManyHost {
  /** Message `i` is about to run (the loop marks where its state changes start, to take them back alone). */
  starting(i: number): void;
  /** Once the section stands, before the `ctx.log` lines of message `i` are told. */
  logging(i: number): void;
  /**
   * Message `i` ran: `made` records came of it (outputs and what its steps passed on, held until
   * the loop takes them in), `times` what its timestamp step gave (a unit with one). Whether the
   * messages after it must wait for a call of their own: the loop bounds what a call holds, and
   * the first retimed records of a channel change the logic's view of the rest (their bound).
   */
  waits(i: number, made: number, times: OperatorEffects['times']): boolean;
}

/**
 * Runs `job` — several `run`/`flush` calls of an operator's executors — as one call (the runtime's
 * native executors: under one time limit, `runSection`), or answers undefined when the calls must
 * be made one by one (a sandboxed executor, a section past its limit). `job` may run more than
 * once and must change nothing but the state it is given.
 */
export type SectionRunner = <R>(executors: ReadonlyArray<ChainExecutor | undefined>, state: StateAccess, job: (calls: SectionCalls) => R) => Promise<{ value: R } | undefined>;

/** No sections: every call on its own. */
const oneByOne: SectionRunner = async () => undefined;

/** `processMany` for one message (`process`): nothing to mark, nothing waits behind it. */
const ONE_MESSAGE: ManyHost = { starting: () => undefined, logging: () => undefined, waits: () => false };

export interface OperatorLogic {
  readonly kind: 'chain' | 'window' | 'session' | 'join' | 'passthrough';
  /**
   * Its records may come with their values not read yet (`unreadRecord`): nothing reads a value
   * before the steps run its record, and those are native (a sandboxed call is given the value
   * itself). Its rows (`takeRows`) are then held records, written by `heldRecordsJson`.
   */
  readonly takesUnread?: boolean;
  process(records: readonly EngineRecord[], channel: string, now: number): Promise<OperatorEffects>;
  /**
   * `process` for several messages in a row as one call (native functions: under one time
   * limit, so one watchdog thread and one promise watch for them all, not one per message):
   * the effects of the first messages in order, at least the first's (the rest to be given
   * again), or undefined when each message must go through `process` (sandboxed functions, a
   * section past its limit, functions that leave promises behind). Absent: always `process`.
   */
  processMany?(messages: readonly MessageIn[], host: ManyHost): Promise<OperatorEffects[] | undefined>;
  /** The clock moved and nothing arrived (idleness may close windows). */
  tick(now: number): Promise<OperatorEffects>;
  /** Every input has ended: flush what is left. */
  end(): Promise<OperatorEffects>;
  /** The unit's progress, committed with its offsets. */
  meta(): unknown;
  /**
   * Buffers the logic keeps per key as rows of their own (a session unit's held records, a
   * join's sides), those changed since the last call: id → value, undefined once gone. A
   * checkpoint writes these, so its size follows what a batch changed, not all that is held.
   * Live values: the caller copies what it keeps. Absent: the logic keeps no rows.
   */
  takeRows?(): ReadonlyArray<readonly [string, unknown]>;
  /** From the last checkpoint: its `meta`, and (a logic with `takeRows`) its rows. */
  restore(meta: unknown, rows?: Iterable<readonly [string, unknown]>): void;
  /** Windows dropped since the last call (their state rows go in the same commit). */
  takeDroppedWindows(): WindowBounds[];
  /** A channel's in-band event-time progress (progress.ts), or undefined to go by its records. */
  bound(channel: string, bound: number | undefined, now: number): void;
  /** A window unit's watermark (what it forwards as its progress); undefined for other units. */
  watermark(): number | undefined;
  /**
   * A sole reader's steps after a branch (`BranchedChain.tails`) run again over a message's
   * outputs, leaving out per branch the records (indices among that branch's outputs) in `skip`:
   * the reader's failures, `tailIndex` set.
   */
  tailAgain?(outputs: readonly ChainOutput[], skip: ReadonlyMap<number, ReadonlySet<number>>): Promise<ChainFailure[]>;
  /** A sole reader's steps over records read from branch `route`'s topic (a redrive put them there): failures name `input` in `records`. */
  tailRead?(records: readonly EngineRecord[], route: number): Promise<ChainFailure[]>;
  /**
   * A window run after its writer (`WindowedLogicOptions.writer`): message `message` of the last
   * `process`/`processMany` call runs again (the host refused the writer's part of it), so the
   * window goes back to before it — its watermark, its open windows and the windows it and the
   * messages after it closed (their state; the host undoes the state's writes).
   */
  rewind?(message: number): void;
  /** A window run after its writer: records read from the writer's topic that the writer did not make (a redrive's), through the window alone; its effects as `reader`. */
  windowRead?(records: readonly EngineRecord[], now: number): Promise<OperatorEffects>;
}

/** Effects with nothing in them. */
export const noEffects = (): OperatorEffects => ({ outputs: [], flushes: [], failures: [], late: [] });
const none = noEffects;
const nothing = async (): Promise<OperatorEffects> => none();

/**
 * An operator from its `process` and whatever else it needs: the rest defaults to an operator
 * with no progress of its own — the clock and the end of input make nothing, nothing to commit
 * or restore beside the state, no windows, no watermark (Flink's and Arroyo's shape: a stateless
 * or keyed operator writes only `process`).
 */
export function operatorLogic(o: Pick<OperatorLogic, 'kind' | 'process'> & Partial<OperatorLogic>): OperatorLogic {
  return {
    tick: nothing,
    end: nothing,
    meta: () => null,
    restore: () => undefined,
    takeDroppedWindows: () => [],
    bound: () => undefined,
    watermark: () => undefined,
    ...o,
  };
}

export function passthroughLogic(): OperatorLogic {
  return operatorLogic({ kind: 'passthrough', process: async (records) => ({ ...none(), outputs: [...records] }) });
}

/**
 * A chain whose trunk's records go on through branches, each to its own topics (a service's sink
 * transforms folded into the operator that makes their trunk): `branches[b]` undefined is a
 * branch without steps (the trunk's records as they are). `copy` gives a branch its own copy of a
 * value, so no branch sees what another one's functions changed in place: every branch but the
 * last run gets copies (a branch without steps runs last, its records written after the others ran).
 */
export interface BranchedChain {
  trunk: ChainExecutor;
  branches: ReadonlyArray<ChainExecutor | undefined>;
  copy: (value: unknown) => unknown;
  /**
   * A sole reader's steps after a branch (the embedded runtime, sole-reader.ts): `tails[b]` runs
   * over copies (`tailCopy`) of branch b's outputs, in the same section, after every branch ran;
   * it makes no outputs, and its failures carry `tailIndex`. A reader's record is its own unit of
   * work: `tailAgain` runs the tails again over a message's outputs without some of them.
   */
  tails?: ReadonlyArray<ChainExecutor | undefined>;
  /** A value of branch `route`'s records as its reader gets it (its topic's copy). */
  tailCopy?: (value: unknown, route: number) => unknown;
}

/** `assignsTime`: the chain has a timestamp step, so its effects report the times it gave. */
export function chainLogic(chain: ChainExecutor | BranchedChain, state: MemoryState, assignsTime = false): OperatorLogic {
  const branched = 'trunk' in chain ? chain : undefined;
  const executors = branched ? [branched.trunk, ...branched.branches, ...(branched.tails ?? [])] : [chain as ChainExecutor];
  const runSection = executors.find((e) => e?.section)?.section ?? oneByOne;
  const tails = branched?.tails;
  const tailCopy = branched?.tailCopy ?? ((v: unknown) => v);
  const copyFor = (value: unknown, b: number) => (typeof value === 'object' && value !== null ? tailCopy(value, b) : value);
  /** A record as branch `b`'s reader gets it: its own copy of the value. */
  const tailInput = (o: EngineRecord, b: number): ChainInput =>
    o.headers ? { key: o.key, value: copyFor(o.value, b), timestamp: o.timestamp, headers: o.headers } : { key: o.key, value: copyFor(o.value, b), timestamp: o.timestamp };
  /** The tails' inputs: copies of each tailed branch's outputs (`skip`: indices among them left out). */
  const tailInputs = (outputs: readonly ChainOutput[], b: number, skip?: ReadonlySet<number>): { inputs: ChainInput[]; index: number[] } => {
    const inputs: ChainInput[] = [];
    const index: number[] = [];
    let k = 0;
    for (const o of outputs) {
      if (o.route !== b) continue;
      if (!skip?.has(k)) {
        inputs.push(tailInput(o, b));
        index.push(k);
      }
      k++;
    }
    return { inputs, index };
  };
  /** A tail's failures as the reader's: its record's place among the branch's outputs, the unit's input it came from. */
  const tailFailures = (r: ChainResult, outputs: readonly ChainOutput[], b: number, index: readonly number[], into: ChainFailure[]) => {
    if (r.failures.length === 0) return;
    const ofRoute = outputs.filter((o) => o.route === b);
    for (const f of r.failures) {
      const k = f.input >= 0 ? index[f.input]! : -1;
      into.push({ ...f, input: k >= 0 ? ofRoute[k]!.input : -1, route: b, tailIndex: k });
    }
  };
  /** Each tail's run over a message's outputs: its executor, branch, inputs and their places. */
  const tailRuns = (outputs: readonly ChainOutput[], skip?: ReadonlyMap<number, ReadonlySet<number>>) =>
    (tails ?? []).flatMap((e, b) => (e ? [{ e, b, ...tailInputs(outputs, b, skip?.get(b)) }] : []));
  const withTails = (r: ChainResult, run: (e: ChainExecutor, inputs: readonly ChainInput[]) => ChainResult): ChainResult => {
    for (const t of tailRuns(r.outputs)) tailFailures(run(t.e, t.inputs), r.outputs, t.b, t.index, r.failures);
    return r;
  };
  const effectsOf = (records: readonly EngineRecord[], r: ChainResult): OperatorEffects => ({
    ...none(),
    outputs: r.outputs,
    failures: r.failures,
    ...(assignsTime ? { times: timesOf(records, r.outputs) } : {}),
  });
  // A branch's inputs: the trunk's outputs, copied for every branch but the last to run.
  const order = branched ? branchOrder(branched.branches) : [];
  const inputsOf = (i: number, trunk: ChainResult): readonly ChainInput[] =>
    i === order.length - 1 ? trunk.outputs : trunk.outputs.map((o) => copied(o, branched!.copy));
  /**
   * Call by call (sandboxed functions, a section refused): a native branch's call runs its inputs
   * again by itself (a `ctx.sql` round, halves past the limit), without the trunk. So each gets
   * copies that read their values again from the trunk's outputs, which no branch changes (the
   * branch without steps, run last, gets the outputs themselves). A sandboxed call copies every
   * value it is given anyway.
   */
  const again: ValueSource = { valueAgain: (o) => copyOf((o as ChainOutput).value, branched!.copy) };
  const runAll = async (records: readonly EngineRecord[]): Promise<ChainResult> => {
    const trunk = await branched!.trunk.run(records, state, OWNED);
    const results: Array<ChainResult | undefined> = [];
    for (let i = 0; i < order.length; i++) {
      const e = branched!.branches[order[i]!];
      if (!e) continue;
      const inputs = e.section ? trunk.outputs.map((o) => rereadableRecord(o.key, copyOf(o.value, branched!.copy), o.timestamp, o.headers, again, o)) : inputsOf(i, trunk);
      results[order[i]!] = await e.run(inputs, state);
    }
    const r = routed(trunk, results);
    for (const t of tailRuns(r.outputs)) tailFailures(await t.e.run(t.inputs, state), r.outputs, t.b, t.index, r.failures);
    return r;
  };
  const runSync = (records: readonly EngineRecord[], calls: SectionCalls): ChainResult => {
    const trunk = calls.run(branched!.trunk, records, OWNED);
    // Which of the unit's inputs each of the trunk's records came from, read before the branch
    // that runs last takes the records the trunk made as its outputs (each an output made per
    // record of the trunk's: ~240 000 of the car-sensors' 300 000 readings leave by that branch).
    const from = trunk.outputs.map((o) => o.input);
    const results: Array<ChainResult | undefined> = [];
    for (let i = 0; i < order.length; i++) {
      const e = branched!.branches[order[i]!];
      results[order[i]!] = e ? calls.run(e, inputsOf(i, trunk), i === order.length - 1 ? HANDED_OVER : undefined) : undefined;
    }
    return withTails(routed(trunk, results, from), (e, inputs) => calls.run(e, inputs, DISCARDED));
  };
  const processMany = async (messages: readonly MessageIn[], host: ManyHost): Promise<OperatorEffects[] | undefined> => {
    const section = await runSection(executors, state, (calls) => {
      const all: OperatorEffects[] = [];
      for (let i = 0; i < messages.length; i++) {
        host.starting(i);
        calls.beforeLines(() => host.logging(i));
        const { records } = messages[i]!;
        const effects = effectsOf(records, branched ? runSync(records, calls) : calls.run(chain as ChainExecutor, records, OWNED));
        all.push(effects);
        if (host.waits(i, effects.outputs.length, effects.times) || calls.limitUsed() >= SECTION_SHARE) break;
      }
      return all;
    });
    return section?.value;
  };
  return operatorLogic({
    kind: 'chain',
    async process(records, channel, now) {
      if (!branched) return effectsOf(records, await (chain as ChainExecutor).run(records, state, OWNED));
      // The trunk and its branches in one section where they can (native): a run again of it
      // (a `ctx.sql` round) runs the trunk again too, over the records as read.
      const one = await processMany([{ records, channel, now }], ONE_MESSAGE);
      return one ? one[0]! : effectsOf(records, await runAll(records));
    },
    processMany,
    ...(tails
      ? {
          async tailAgain(outputs: readonly ChainOutput[], skip: ReadonlyMap<number, ReadonlySet<number>>): Promise<ChainFailure[]> {
            const failures: ChainFailure[] = [];
            for (const t of tailRuns(outputs, skip)) tailFailures(await t.e.run(t.inputs, state), outputs, t.b, t.index, failures);
            return failures;
          },
          async tailRead(records: readonly EngineRecord[], route: number): Promise<ChainFailure[]> {
            const e = tails[route];
            if (!e) return [];
            return (await e.run(records.map((o) => tailInput(o, route)), state)).failures;
          },
        }
      : {}),
  });
}

/** The order branches run in: those with steps first, in order; one without steps last (its records are the trunk's, written once all ran). */
function branchOrder(branches: ReadonlyArray<ChainExecutor | undefined>): number[] {
  const order: number[] = [];
  branches.forEach((e, b) => e && order.push(b));
  branches.forEach((e, b) => !e && order.push(b));
  return order;
}

/** A trunk's output with a value of its own, for a branch that runs before another one. */
function copied(o: ChainOutput, copy: (value: unknown) => unknown): ChainOutput {
  const value = copyOf(o.value, copy);
  return o.headers ? { key: o.key, value, timestamp: o.timestamp, headers: o.headers, input: o.input } : { key: o.key, value, timestamp: o.timestamp, input: o.input };
}

/** A value of a branch's own. */
function copyOf(value: unknown, copy: (value: unknown) => unknown): unknown {
  try {
    return typeof value === 'object' && value !== null ? copy(value) : value;
  } catch {
    // A value the copy cannot take (not JSON): the branch gets it as it is.
    return value;
  }
}

/**
 * The records of a branched chain: each branch's outputs with the trunk's input they came from
 * and their branch (`route`), branch after branch; the trunk's failures and the branches', each
 * naming the trunk's input. `from`: the input each of the trunk's records came from, when a
 * branch may have taken some of them as its own outputs (their `input` is then the branch's).
 */
function routed(trunk: ChainResult, results: ReadonlyArray<ChainResult | undefined>, from: readonly number[] = trunk.outputs.map((o) => o.input)): ChainResult {
  const outputs: ChainOutput[] = [];
  const failures: ChainFailure[] = [...trunk.failures];
  const t = trunk.outputs;
  for (let b = 0; b < results.length; b++) {
    const r = results[b];
    if (!r) {
      t.forEach((o, i) => outputs.push(o.headers ? { key: o.key, value: o.value, timestamp: o.timestamp, headers: o.headers, input: from[i]!, route: b } : { key: o.key, value: o.value, timestamp: o.timestamp, input: from[i]!, route: b }));
      continue;
    }
    for (const o of r.outputs) {
      o.input = from[o.input]!;
      o.route = b;
      outputs.push(o);
    }
    for (const f of r.failures) failures.push({ ...f, input: f.input >= 0 ? from[f.input]! : f.input, route: b });
  }
  return { outputs, failures };
}

/** The times a timestamp step gave: the highest, and whether one differs from its record's own. */
function timesOf(inputs: readonly EngineRecord[], outputs: readonly EngineRecord[]): { max: number; retimed: boolean } {
  let max = Number.NEGATIVE_INFINITY;
  let retimed = false;
  for (const o of outputs) {
    if (o.timestamp > max) max = o.timestamp;
    const from = (o as { input?: number }).input;
    if (!retimed && from !== undefined && inputs[from] !== undefined && timeMadeWith(inputs[from]) !== o.timestamp) retimed = true;
  }
  return { max, retimed };
}

interface WindowMeta {
  watermark: WatermarkState;
  /** Windows that received records and have not been flushed, as [start, end]. */
  open: Array<[number, number]>;
}

/** What a windowed operator (tumbling/sliding windows, or sessions) is made of. */
export interface WindowedLogicOptions<Config> {
  config: Config;
  /** Steps that run before window assignment (a fused unit's assign-timestamp and assign-key). */
  pre?: ChainExecutor;
  /** The keyed steps that run per window, and the window's flush. */
  body: ChainExecutor;
  /** States the unit keeps per window (dropped once a window is flushed). */
  windowStates: readonly string[];
  hasFlush: boolean;
  state: MemoryState;
  /** Input channels (topic/partition) known up front: each holds the watermark back until it speaks. */
  channels: readonly string[];
  /** The `pre` steps hold a timestamp step: effects report the times it gave. */
  assignsTime?: boolean;
  /**
   * `ownCopy`, quicker for the values the window's steps are given (`quickerCopy` with the type
   * the steps before made): a sliding window's record gets a copy for each window after its first.
   * @default ownCopy
   */
  ownCopy?: (value: unknown) => unknown;
  /**
   * The unit that alone writes the window's one input topic, run first in this unit (the embedded
   * runtime, sole-reader.ts): each message goes through its chain, whose outputs are the unit's
   * outputs (that topic still written), and the window reads them as reading the topic gave them.
   */
  writer?: WindowWriter;
}

/** A window's writer run in its unit (`WindowedLogicOptions.writer`). */
export interface WindowWriter {
  chain: ChainExecutor;
  /** The chain has a timestamp step: effects report the times it gave. */
  assignsTime: boolean;
  /** The topic's channel: the window's one channel, as when it read the topic. */
  channel: string;
  /** An output of the chain as the window's record: what reading it from the topic gave (the topic's copy of the value, its key and time as the topic carries them). */
  toReader: (output: ChainOutput) => EngineRecord;
  /**
   * Whether an output may be lent to the window's steps before its keyed ones as it is: set when
   * those steps only set a key and a time; true for an output the topic would give back the same
   * (`toReader` would make an equal record). Absent: the window always gets `toReader`'s records.
   */
  lendable?: (output: ChainOutput) => boolean;
}

/** A source that gives a copy of the value it holds (`ownCopy`) on each run again: the held value itself reaches no function. */
const OWN_COPIES: ValueSource = { valueAgain: (held) => ownCopy(held) };

/**
 * A copy of a value for a native function of its own: plain objects and arrays copied field by
 * field (each as it is: a native step may have made a value JSON would change, and the record's
 * other windows see it as it is), bytes sliced, scalars as they are; anything else (a `Map`, a
 * `Date`, a cycle, deeper than 64) through `structuredClone`, and as it is when that cannot take
 * it (a function). A spread copies a plain object's own fields at once, the walk only looks for
 * objects among them (an object of scalars, the usual value, allocates nothing else).
 */
export function ownCopy(v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (depth > 64) return cloned(v);
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = ownCopy(v[i], depth + 1);
    return out;
  }
  if (v instanceof Uint8Array) return v.slice();
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return cloned(v);
  const out: Record<string, unknown> = proto === null ? Object.assign(Object.create(null) as Record<string, unknown>, v) : { ...v };
  for (const k in out) {
    const field = out[k];
    if (typeof field === 'object' && field !== null) out[k] = ownCopy(field, depth + 1);
  }
  return out;
}

function cloned(v: object): unknown {
  try {
    return structuredClone(v);
  } catch {
    return v;
  }
}

export function windowLogic(opts: WindowedLogicOptions<WindowConfig>): OperatorLogic {
  const { config, body, state, writer } = opts;
  // Sections as the body's executor makes them (native: one time limit for all the calls).
  const runSection = body.section ?? oneByOne;
  const sectionExecutors = writer ? [writer.chain, opts.pre, body] : [opts.pre, body];
  // A sliding window's record goes to several windows. Native steps would share its value among
  // them, so a change one window's function made in place would reach the next (sandboxed, each
  // input is decoded on its own): each window after the first gets a copy, made before any ran.
  // In a section, a run again assigns the records again (new copies); call by call, the steps
  // may run their inputs again by themselves, so each copy reads again as its record does.
  const sharesValues = body.section !== undefined && config.assigner.kind === 'sliding';
  const copy = opts.ownCopy ?? ownCopy;
  const anotherInSection = sharesValues ? (r: EngineRecord, w: WindowBounds): ChainInput => windowInputWith(r, w, copy(r.value)) : undefined;
  const anotherCallByCall = sharesValues ? (r: EngineRecord, w: WindowBounds): ChainInput => windowCopy(r, copy(r.value), w, OWN_COPIES) : undefined;
  // With a writer, the window's one channel is the writer's topic's, as when it read that topic.
  let wm: WatermarkState = (writer ? [writer.channel] : opts.channels).reduce((s, c) => addChannel(s, c, 0), initialWindowState());
  const open = new Map<string, WindowBounds>();
  // One object per window, shared by all its records (state caches key on it).
  const interned = new Map<number, WindowBounds>();
  let dropped: WindowBounds[] = [];
  /**
   * With a writer, per message of the last `process`/`processMany` call: the window's progress
   * before it and the windows it closed with what they held, so `rewind` can take it back (the
   * host runs a message again when the writer's part of it is refused).
   */
  let marks: Array<{ wm: WatermarkState; open: Map<string, WindowBounds>; interned: Map<number, WindowBounds>; dropped: number; closed: Array<{ w: WindowBounds; kept: unknown[] }> }> = [];
  const markBefore = (): void => {
    if (writer) marks.push({ wm, open: new Map(open), interned: new Map(interned), dropped: dropped.length, closed: [] });
  };

  /** The flushes of `due` (each window's result or failure, in order), in as few guarded calls as they fit. */
  const flushAll = async (due: readonly WindowBounds[]): Promise<FlushResult[]> => {
    if (!opts.hasFlush || due.length === 0) return [];
    if (due.length === 1) return [await body.flush(due[0]!, state)];
    const all = await runSection([body], state, (calls) => due.map((w) => calls.flush(body, w)));
    if (all) return all.value;
    // Past the limit together (or not native): halves, until the slow window's flush is alone.
    const mid = due.length >> 1;
    return [...(await flushAll(due.slice(0, mid))), ...(await flushAll(due.slice(mid)))];
  };

  /** Closes the windows `due` with their flushes' results: effects out, window state dropped (`keep`: kept for `rewind`). */
  const close = (due: readonly WindowBounds[], results: readonly FlushResult[], effects: OperatorEffects, keep?: Array<{ w: WindowBounds; kept: unknown[] }>): void => {
    due.forEach((w, i) => {
      const r = results[i];
      if (r?.output) effects.flushes.push({ window: w, record: r.output });
      if (r?.failure) effects.failures.push(r.failure);
      if (keep) keep.push({ w, kept: opts.windowStates.map((name) => state.takeWindow(name, w)) });
      else for (const name of opts.windowStates) state.dropWindow(name, w);
      open.delete(key(w));
      interned.delete(w.start);
      dropped.push(w);
    });
  };

  const flushReady = async (): Promise<OperatorEffects> => {
    marks = [];
    const effects = none();
    const due = windowsToFlush([...open.values()], wm);
    close(due, await flushAll(due), effects);
    return asReader(effects);
  };

  /** With a writer, what the window made goes out as its reader's (`OperatorEffects.reader`). */
  const asReader = (e: OperatorEffects): OperatorEffects =>
    writer ? { ...none(), ...(e.flushes.length + e.failures.length + e.late.length > 0 ? { reader: { flushes: e.flushes, failures: e.failures, late: e.late } } : {}) } : e;

  /**
   * The one object of `w`'s window (`assignWindows`' `share`): the open window's, or the one a
   * record of this call opened first, kept in `fresh` (the windows not open yet, in the order
   * they opened). Asked once per window a run of records counts for: a pass over every input
   * to put their windows' objects in was ~2% of a word count's main thread.
   */
  const sharer = (fresh: Map<number, WindowBounds>) => (w: WindowBounds): WindowBounds => {
    let shared = interned.get(w.start) ?? fresh.get(w.start);
    if (!shared) fresh.set(w.start, (shared = w));
    return shared;
  };
  const opened = (fresh: Iterable<WindowBounds>): void => {
    for (const w of fresh) {
      interned.set(w.start, w);
      open.set(key(w), w);
    }
  };

  /**
   * What one message left once its steps ran, and all that is kept of it until the section
   * stands: the records its steps made went into window state (a window unit has no outputs), so
   * a section of many messages holds only their failures and late records, not what they made —
   * and, with a writer, the writer's outputs (the unit's own, as a chain's).
   */
  interface MessageRun {
    failures: ChainFailure[];
    late: LateRecord[];
    times: OperatorEffects['times'];
    watermark: WatermarkState;
    written: ChainResult | undefined;
  }
  const runOf = (records: readonly EngineRecord[], own: readonly EngineRecord[], written: ChainResult | undefined, before: ChainResult | undefined, given: readonly EngineRecord[], assigned: ReturnType<typeof assignWindows>, r: ChainResult): MessageRun => ({
    failures: [...(before?.failures ?? []), ...placed(r.failures, assigned.inputs, given, before)],
    late: assigned.late,
    times: written ? (writer!.assignsTime ? timesOf(records, written.outputs) : undefined) : opts.assignsTime && before ? timesOf(own, before.outputs) : undefined,
    watermark: assigned.state,
    written,
  });

  /** What leaves the unit for one message: each window's flush (records inside a window feed its state); with a writer, its outputs and the window's part as its reader's. */
  const effectsOf = (run: MessageRun, closed: OperatorEffects): OperatorEffects => {
    const failures = [...run.failures, ...closed.failures];
    if (run.written)
      return {
        outputs: run.written.outputs,
        flushes: [],
        failures: run.written.failures,
        late: [],
        ...(run.times ? { times: run.times } : {}),
        ...(closed.flushes.length + failures.length + run.late.length > 0 ? { reader: { flushes: closed.flushes, failures, late: run.late } } : {}),
      };
    return { outputs: [], flushes: closed.flushes, failures, late: run.late, ...(run.times ? { times: run.times } : {}) };
  };

  /**
   * The writer's records as they are, lent to the window's steps before its keyed ones (in a
   * section: a run again makes them afresh), when those steps only set a key and a time
   * (`WindowWriter.lendable`) and each record is what reading the topic would give (a scalar value
   * no function can change, no headers): their key, time and place are kept here and put back
   * (`giveBack`) before the writer's records go to its topic. Saves the window's copy of each.
   */
  const lend = (outputs: readonly ChainOutput[]): { keys: Array<Key | null>; times: number[]; from: number[] } | undefined => {
    const lendable = writer!.lendable;
    if (!lendable) return undefined;
    const n = outputs.length;
    const keys = new Array<Key | null>(n);
    const times = new Array<number>(n);
    const from = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const o = outputs[i]!;
      if (!lendable(o)) return undefined;
      keys[i] = o.key;
      times[i] = o.timestamp;
      from[i] = o.input;
    }
    return { keys, times, from };
  };
  /** Puts back what `lend` kept; what the window holds on to of them (late records, failures) keeps its own copy as the window saw it. */
  const giveBack = (lent: { keys: Array<Key | null>; times: number[]; from: number[] }, outputs: readonly ChainOutput[], run: MessageRun): void => {
    if (run.late.length > 0) run.late = run.late.map((l) => ({ ...l, record: plainCopy(l.record) }));
    if (run.failures.length > 0) run.failures = run.failures.map((f) => ({ ...f, record: plainCopy(f.record) }));
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i]!;
      o.key = lent.keys[i]!;
      o.timestamp = lent.times[i]!;
      o.input = lent.from[i]!;
    }
  };

  /** The window's records of a message: its own, or with a writer, the writer's outputs as read from its topic. */
  const readerRecords = (written: ChainResult): EngineRecord[] => {
    const out: EngineRecord[] = new Array<EngineRecord>(written.outputs.length);
    for (let i = 0; i < out.length; i++) out[i] = writer!.toReader(written.outputs[i]!);
    return out;
  };

  /**
   * Messages in a row in one section (native functions: one guarded call for the steps before
   * assignment, the windowed steps and the flushes of the windows they close), each seeing the
   * watermark and the open windows the one before left. A window closes (its state dropped,
   * `close`) once the section stands; no later message can reach it meanwhile, since the
   * watermark passed its end and a record for it is late. Undefined: call by call. `viaWriter`:
   * each message goes through the writer first (a redrive's records on the writer's topic do not).
   */
  const many = async (messages: readonly MessageIn[], host: ManyHost, viaWriter: boolean): Promise<OperatorEffects[] | undefined> => {
    const section = await runSection(sectionExecutors, state, (calls) => {
      let watermark = wm;
      const stillOpen = new Map(open);
      const fresh = new Map<number, WindowBounds>();
      const share = sharer(fresh);
      const all: Array<{ run: MessageRun; due: WindowBounds[]; flushed: FlushResult[]; opens: WindowBounds[] }> = [];
      for (let i = 0; i < messages.length; i++) {
        host.starting(i);
        calls.beforeLines(() => host.logging(i));
        const { records, now } = messages[i]!;
        const channel = writer ? writer.channel : messages[i]!.channel;
        const written = viaWriter ? calls.run(writer!.chain, records, OWNED) : undefined;
        // The writer's records lent to the window's key and time steps, or the window's own copies.
        const lent = written && opts.pre ? lend(written.outputs) : undefined;
        const own = written ? (lent ? written.outputs : readerRecords(written)) : records;
        const before = opts.pre ? calls.run(opts.pre, own, lent ? HANDED_OVER : OWNED) : undefined;
        const known = fresh.size;
        const assigned = assignWindows(before ? before.outputs : own, channel, now, config, watermark, before !== undefined || startedAll(own), anotherInSection, share);
        watermark = assigned.state;
        // The windows this message opened: the last ones in `fresh` (a Map keeps its order).
        const opens: WindowBounds[] = [];
        let n = 0;
        if (fresh.size > known)
          for (const w of fresh.values())
            if (n++ >= known) {
              stillOpen.set(key(w), w);
              opens.push(w);
            }
        const r = calls.run(body, assigned.inputs, { discardOutputs: true });
        const due = windowsToFlush([...stillOpen.values()], watermark);
        for (const w of due) stillOpen.delete(key(w));
        const run = runOf(records, own, written, before, before ? before.outputs : own, assigned, r);
        if (lent) giveBack(lent, written!.outputs, run);
        all.push({ run, due, flushed: opts.hasFlush ? due.map((w) => calls.flush(body, w)) : [], opens });
        // Held until the loop takes them in: late records and failures (what the steps made is in state), and the writer's outputs.
        if (host.waits(i, run.late.length + run.failures.length + (written ? written.outputs.length : 0), run.times) || calls.limitUsed() >= SECTION_SHARE) break;
      }
      return all;
    });
    if (!section) return undefined;
    marks = [];
    return section.value.map(({ run, due, flushed, opens }) => {
      markBefore();
      opened(opens);
      wm = run.watermark;
      const closed = none();
      close(due, flushed, closed, writer ? marks.at(-1)!.closed : undefined);
      return effectsOf(run, closed);
    });
  };

  /** One message (`process`), or a redrive's records on the writer's topic (`windowRead`: not through the writer). */
  const one = async (records: readonly EngineRecord[], channel: string, now: number, viaWriter: boolean): Promise<OperatorEffects> => {
    // Records read from the writer's topic: what the window made of them is its reader's.
    const readerIfRead = (e: OperatorEffects): OperatorEffects => (writer && !viaWriter ? asReader(e) : e);
    const inSection = await many([{ records, channel, now }], ONE_MESSAGE, viaWriter);
    if (inSection) return readerIfRead(inSection[0]!);
    // Call by call, each under its own limit (a batch past it is halved to its slow record).
    marks = [];
    markBefore();
    const written = viaWriter ? await writer!.chain.run(records, state, OWNED) : undefined;
    const own = written ? readerRecords(written) : records;
    const before = opts.pre ? await opts.pre.run(own, state, OWNED) : undefined;
    const fresh = new Map<number, WindowBounds>();
    const given = before ? keptForWindow(before.outputs, body) : own;
    const assigned = assignWindows(given, writer ? writer.channel : channel, now, config, wm, before !== undefined || startedAll(own), anotherCallByCall, sharer(fresh));
    wm = assigned.state;
    opened(fresh.values());
    const r = await body.run(assigned.inputs, state, { discardOutputs: true });
    const closed = none();
    const due = windowsToFlush([...open.values()], wm);
    close(due, await flushAll(due), closed, writer ? marks.at(-1)!.closed : undefined);
    return readerIfRead(effectsOf(runOf(records, own, written, before, given, assigned, r), closed));
  };

  return {
    kind: 'window',
    process: (records, channel, now) => one(records, channel, now, writer !== undefined),
    processMany: (messages, host) => many(messages, host, writer !== undefined),
    ...(writer
      ? {
          windowRead: (records: readonly EngineRecord[], now: number) => one(records, writer.channel, now, false),
          rewind(message: number): void {
            const m = marks[message];
            if (!m) throw new Error(`window: no message ${message} to take back`);
            for (let k = marks.length - 1; k >= message; k--) for (const { w, kept } of marks[k]!.closed) opts.windowStates.forEach((name, s) => state.restoreWindow(name, w, kept[s]));
            wm = m.wm;
            open.clear();
            for (const [k, w] of m.open) open.set(k, w);
            interned.clear();
            for (const [k, w] of m.interned) interned.set(k, w);
            dropped.length = m.dropped;
            marks.length = message;
          },
        }
      : {}),
    bound(channel, bound, now) {
      // With a writer, the window's channel is the writer's topic's: the writer's own inputs' bounds are not its.
      if (writer && channel !== writer.channel) return;
      wm = boundChannel(wm, channel, bound, now);
    },
    watermark: () => wm.watermark,
    async tick(now) {
      wm = tickWatermark(now, config, wm);
      return flushReady();
    },
    async end() {
      wm = endWindows(wm);
      return flushReady();
    },
    meta(): WindowMeta {
      return { watermark: wm, open: [...open.values()].map((w) => [w.start, w.end]) };
    },
    restore(meta) {
      const m = meta as WindowMeta | null;
      if (!m) return;
      wm = m.watermark;
      open.clear();
      for (const [start, end] of m.open) {
        const w = { start, end };
        open.set(key(w), w);
        interned.set(start, w);
      }
    },
    takeDroppedWindows() {
      // Committed: no message before this can be taken back.
      marks = [];
      const out = dropped;
      dropped = [];
      return out;
    },
  };
}

type FlushResult = Awaited<ReturnType<ChainExecutor['flush']>>;

/** A record's fields as they are now, in a record of its own. */
function plainCopy(r: EngineRecord): EngineRecord {
  return r.headers ? { key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers } : { key: r.key, value: r.value, timestamp: r.timestamp };
}

/**
 * A window's keyed steps' failures, each naming its record's place in the message (`input`), as
 * a dead letter must for `ssdk redrive`: the steps were given the window's inputs, which leave
 * late records out and hold a sliding window's record once per window. `given`: the records the
 * windows were assigned from, made by `before` (the steps before the window) when there are some.
 * A failure whose record is not found names none (-1).
 */
function placed(failures: readonly ChainFailure[], inputs: readonly ChainInput[], given: readonly EngineRecord[], before: ChainResult | undefined): ChainFailure[] {
  if (failures.length === 0) return failures as ChainFailure[];
  const at = new Map<unknown, number>();
  given.forEach((r, i) => at.set(r, before ? (before.outputs[i] as ChainOutput).input : i));
  return failures.map((f) => {
    if (f.input < 0) return f;
    const x = inputs[f.input] as (ChainInput & { source?: EngineRecord }) | undefined;
    return { ...f, input: at.get(x?.source ?? x) ?? -1 };
  });
}

/**
 * The records the steps before a window made, for its steps called on their own: a native call
 * runs them again by itself (a `ctx.sql` round, halves past the limit), without the steps before
 * it, so each object value is held as those steps left it and the window's steps get copies of it
 * (`OWN_COPIES`: a new one every run). That holds for a record they passed on as it was read too:
 * read again from its message, it would lose what they changed in place (a filter writing into
 * its record), which the first run saw.
 */
function keptForWindow(outputs: readonly ChainOutput[], body: ChainExecutor): readonly EngineRecord[] {
  if (!body.section) return outputs;
  return outputs.map((o) => (typeof o.value !== 'object' || o.value === null ? o : rereadableRecord(o.key, ownCopy(o.value), o.timestamp, o.headers, OWN_COPIES, o.value)));
}

/**
 * A window unit with no steps before its window starts each run of its records itself, as a
 * chain does for its owned inputs (`startRun`): a run again of the section (a `ctx.sql` round)
 * or of the message call by call sees each value as it was read. True when every record is the
 * host's own (`ownedRecord`): each may then be the input of its first window as it is.
 */
function startedAll(records: readonly EngineRecord[]): boolean {
  let all = true;
  for (const r of records) if (!startRun(r)) all = false;
  return all;
}

function key(w: WindowBounds): string {
  return `${w.start}:${w.end}`;
}

interface SessionMeta {
  watermark: WatermarkState;
  /** The open sessions with their records, in a checkpoint from before they were rows (`takeRows`). */
  sessions?: Session[];
}

/**
 * Session windows (engine/sessions.ts): records are held per key and session until the session
 * closes; then the window's keyed steps run over them and its flush, as for a window of those
 * bounds, and the session's window state goes at once. Open sessions are part of the unit's
 * progress (`meta`), committed with its offsets.
 */
export function sessionLogic(opts: WindowedLogicOptions<SessionConfig>): OperatorLogic {
  const { config, body, state } = opts;
  // Sections as the body's executor makes them (native: one time limit for all the calls).
  const runSection = body.section ?? oneByOne;
  let sessions: SessionsState = { watermark: opts.channels.reduce((s, c) => addChannel(s, c, 0), initialWindowState()), sessions: new Map(), changes: { appended: new Map(), rewritten: new Set(), rows: new Map() } };

  // A held record that reads its value again (`keptCopy`) is the input itself, in its session's
  // window: a run of the session's steps after its first reads it again from where it came, a new
  // object per run would not. Any other (a value a step before the session made, fused q11's
  // `event.bid`) is given as a record of its own; native steps get a copy of its value, and a new
  // copy on every run after the first (call by call: they run it again by themselves), so the held
  // value stays as the steps before left it — a sandbox decodes one per run.
  const inputsOf = (closed: ClosedSession): ChainInput[] =>
    closed.records.map((record) => {
      if (readsAgain(record)) {
        (record as ChainInput).window = closed.window;
        return record;
      }
      if (body.section && typeof record.value === 'object' && record.value !== null) {
        const input = rereadableRecord(record.key, ownCopy(record.value), record.timestamp, record.headers, OWN_COPIES, record.value) as ChainInput;
        input.window = closed.window;
        return input;
      }
      return { key: record.key, value: record.value, timestamp: record.timestamp, ...(record.headers ? { headers: record.headers } : {}), window: closed.window };
    });

  /** A session's keyed steps and flush, with what they left: effects out, its state dropped. */
  const finish = (closed: ClosedSession, run: ChainResult, flush: FlushResult | undefined, effects: OperatorEffects): void => {
    effects.failures.push(...run.failures.map((f) => ({ ...f, input: -1 })));
    if (flush?.output) effects.flushes.push({ window: closed.window, record: flush.output, session: sessionId(closed.key) });
    if (flush?.failure) effects.failures.push(flush.failure);
    // The session's state lived for this flush only: it was never committed.
    for (const name of opts.windowStates) state.dropWindow(name, closed.window);
  };

  /**
   * Runs closed sessions, in order, in one guarded call; past the limit, halved until the slow
   * session is alone, which runs call by call (its slow record dead-lettered). Sessions of other
   * keys may have the same bounds, so each one's window state is dropped inside the call, before
   * the next runs: a call taken back leaves nothing behind all the same, since a session's state
   * is made by its own run and never committed (what the call wrote into a dropped window is gone
   * with it; the rest is undone).
   */
  const runClosed = async (part: readonly ClosedSession[], effects: OperatorEffects): Promise<void> => {
    if (part.length === 0) return;
    const section = await runSection([body], state, (calls) =>
      part.map((c) => {
        const run = calls.run(body, inputsOf(c), { discardOutputs: true });
        const flush = opts.hasFlush ? calls.flush(body, c.window) : undefined;
        for (const name of opts.windowStates) state.dropWindow(name, c.window);
        return { run, flush };
      }),
    );
    if (section) {
      part.forEach((c, i) => finish(c, section.value[i]!.run, section.value[i]!.flush, effects));
      return;
    }
    if (part.length > 1) {
      const mid = part.length >> 1;
      await runClosed(part.slice(0, mid), effects);
      await runClosed(part.slice(mid), effects);
      return;
    }
    const closed = part[0]!;
    const run = await body.run(inputsOf(closed), state, { discardOutputs: true });
    finish(closed, run, opts.hasFlush ? await body.flush(closed.window, state) : undefined, effects);
  };

  const flushReady = async (): Promise<OperatorEffects> => {
    const effects = none();
    await runClosed(takeClosedSessions(sessions), effects);
    return effects;
  };

  return {
    kind: 'session',
    // A session reads only its records' keys and times until it closes (`assignSessions`).
    takesUnread: !opts.pre && body.section !== undefined,
    async process(records, channel, now) {
      const before = opts.pre ? await opts.pre.run(records, state, OWNED) : undefined;
      const assigned = assignSessions(before ? before.outputs : records, channel, now, config, sessions);
      sessions = assigned.state;
      const flushed = await flushReady();
      return {
        outputs: [],
        flushes: flushed.flushes,
        failures: [...(before?.failures ?? []), ...flushed.failures],
        late: assigned.late,
        ...(opts.assignsTime && before ? { times: timesOf(records, before.outputs) } : {}),
      };
    },
    bound(channel, bound, now) {
      sessions = { ...sessions, watermark: boundChannel(sessions.watermark, channel, bound, now) };
    },
    watermark: () => sessions.watermark.watermark,
    async tick(now) {
      sessions = { ...sessions, watermark: advance(sessions.watermark, config.watermark, now) };
      return flushReady();
    },
    async end() {
      sessions = { ...sessions, watermark: endWindows(sessions.watermark) };
      return flushReady();
    },
    meta(): SessionMeta {
      return { watermark: sessions.watermark };
    },
    takeRows: () => takeSessionRows(sessions),
    restore(meta, rows = []) {
      const m = meta as SessionMeta | null;
      if (!m) return;
      const restored = restoreSessions(rows, config.gapMs);
      // A checkpoint from before rows holds the sessions in meta: written as rows at the next one.
      for (const s of m.sessions ?? []) {
        const id = s.key === null ? '' : encodeKey(s.key);
        const held = { ...s, records: s.records.map((r) => keptRecord(r.key, r.value, r.timestamp, r.headers)) };
        restored.sessions.set(id, [...(restored.sessions.get(id) ?? []), held]);
        restored.changes.rewritten.add(id);
      }
      sessions = { watermark: m.watermark, ...restored };
    },
    takeDroppedWindows: () => [],
  };
}

/**
 * A session's key as it goes into its result's message id (a NATS header): its encoding when
 * short and plain, else a digest of it.
 */
function sessionId(key: Key | null): string {
  const encoded = key === null ? '' : encodeKey(key);
  return /^[\w.:@-]{0,64}$/.test(encoded) ? encoded : `#${createHash('sha256').update(encoded).digest('hex').slice(0, 32)}`;
}
