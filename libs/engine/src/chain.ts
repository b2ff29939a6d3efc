/**
 * The chain executor: runs a unit's steps over a batch of decoded records. Pure and
 * synchronous, with no imports beyond types, so the same code runs on the host (trusted
 * functions) and inside a WebAssembly guest (bundled into the component with the user's
 * functions), which keeps the semantics in one place.
 *
 * Per record, in order: each step sees what the previous one produced (filter drops, flat-map
 * fans out, assign-key re-keys, update-state changes the current key's state and passes the
 * record on). A function that throws, or returns the wrong kind of value, sends that record to
 * the dead-letter list with the reason; the rest of the batch goes on.
 */
import type { OperatorKind } from '@ssdk/spec';
import { httpRequestOf, httpResponseOf, type HttpAccess, type HttpInit, type HttpResponse } from './http.ts';
import type { WindowBounds } from './windows.ts';
import { compileChain, type ChainRuntime, type CompiledChain } from './chain-compiler.ts';
import { ownResult, resultOwner, type ResultOwner } from './own-result.ts';

export type Key = string | number | boolean;

export interface EngineRecord {
  key: Key | null;
  value: unknown;
  /** Event time, epoch ms. */
  timestamp: number;
  headers?: Record<string, string>;
}

/** A record entering a chain, with the window it is processed for (inside a window unit). */
export interface ChainInput extends EngineRecord {
  window?: WindowBounds;
}

export interface ChainOutput extends EngineRecord {
  /** Index of the input record this one came from. */
  input: number;
  /** The branch of its operator it leaves by (`branchedChain`); absent: an operator without branches. */
  route?: number;
}

export interface ChainFailure {
  /** Index of the input record that failed. */
  input: number;
  /** The operator id of the failing step. */
  operator: string;
  /** What went wrong, for the dead-letter record. */
  reason: string;
  /** The error itself (host side), for locating the user's line. */
  error?: unknown;
  /** The record as the failing step saw it. */
  record: EngineRecord;
  /** The branch of its operator the record failed in (`branchedChain`); absent: before any branch. */
  route?: number;
  /**
   * A sole reader's step failed (`BranchedChain.tails`): the index of the record among its
   * branch's outputs, which are its place in the topic the branch writes (-1: not a record's). Such a
   * failure is the reader's, not the unit's: the branch's record stays written.
   */
  tailIndex?: number;
}

export interface ChainResult {
  outputs: ChainOutput[];
  failures: ChainFailure[];
}

/**
 * State as a chain sees it: synchronous. The runtime loads the batch's keys before the call
 * (and, in a guest, passes them in) and collects what changed afterwards.
 */
export interface StateAccess {
  get(state: string, key: Key, window?: WindowBounds): unknown;
  set(state: string, key: Key, value: unknown, window?: WindowBounds): void;
  delete(state: string, key: Key, window?: WindowBounds): void;
  /** Every key of a state (for a window: that window's keys, across all partitions). */
  entries(state: string, window?: WindowBounds): Iterable<[Key, unknown]>;
  /** Any key of a state this service owns or references (`from:`), committed values. */
  lookup(state: string, key: Key): unknown;
  /**
   * Throws when a write could not be stored (a key of the wrong type, a row that does not fit
   * its columns); `set` checks the same. Lets a caller check a batch of writes before applying any.
   */
  check?(state: string, key: Key, value: unknown): void;
}

export interface FunctionContext {
  key(): Key | undefined;
  window(): WindowBounds;
  param(name: string): string | undefined;
  log(...args: unknown[]): void;
  state<V = unknown>(name: string): StateHandle<V>;
  /** An environment variable the step's `env` grant names (undefined when unset). */
  env(name: string): string | undefined;
  /** The wall clock, epoch ms (the `clock` grant). */
  now(): number;
  /** A random number in [0, 1) (the `random` grant). */
  random(): number;
  /** Read-only SQL over the dataflow's committed state tables: rows as plain objects. */
  sql(query: string, params?: unknown[]): SqlRow[];
  /** A blocking HTTP request to a host the step's `http` grant names. */
  http(url: string, init?: HttpInit): HttpResponse;
}

/** A row of `ctx.sql`: column name → value (JSON-compatible). */
export type SqlRow = Record<string, unknown>;

/**
 * Answers `ctx.sql` synchronously. Only a sandboxed chain has one (the guest blocks while the
 * host runs the query asynchronously); see docs/decisions.md.
 */
export type SqlAccess = (query: string, params: readonly unknown[]) => SqlRow[];

/** What a step may reach beyond its record and state (the services file's `grants`). */
export interface StepGrants {
  clock?: boolean;
  random?: boolean;
  /** Environment variables `ctx.env` may read. */
  env?: readonly string[];
  /** Hosts `ctx.http` may call (`*`: any). */
  http?: readonly string[];
}

/** Where granted capabilities come from: the host's clock, randomness and environment. */
export interface Capabilities {
  now(): number;
  random(): number;
  env(name: string): string | undefined;
}

/** A function used a capability its step was not granted: its record is dead-lettered with this. */
export class GrantDeniedError extends Error {
  override name = 'GrantDeniedError';
  readonly grant: 'clock' | 'random' | 'env' | 'http';
  constructor(what: string, grant: 'clock' | 'random' | 'env' | 'http', step: string | undefined, example: string) {
    super(`${what} needs the \`${grant}\` grant, which ${step ? `step \`${step}\`` : 'this step'} does not have: add \`grants: [${example}]\` to the step (or to \`config\`)`);
    this.grant = grant;
  }
}

export interface StateHandle<V> {
  get(): V | undefined;
  set(value: V): void;
  update(fn: (previous: V | undefined) => V): V;
  increment(by?: number): number;
  delete(): void;
  lookup(key: Key): V | undefined;
  entries(): Iterable<[Key, V]>;
}

export interface ChainStep {
  /** Operator id, `<service>.<function>`. */
  id: string;
  operator: OperatorKind;
  fn: (...args: unknown[]) => unknown;
  /** The function's declared output is a `key-value`: `{key, value}` results set the record key. */
  setsKey?: boolean;
  params?: Record<string, string>;
  /** Where in the user's code an error `fn` threw comes from (its deepest frame in the function's code); none: the reason has no place. */
  locate?: (error: unknown) => ThrowSite | undefined;
  /** States the function may name in `ctx.state()`; others are an error. */
  states?: readonly string[];
  grants?: StepGrants;
  /**
   * The function cannot read the value it is given (`ignoresFirstArgument`): a record whose value
   * is not read yet (`unreadRecord`) runs through a chain of such steps that keeps no outputs as
   * it is, unread.
   */
  ignoresValue?: boolean;
}

export interface ChainOptions {
  state?: StateAccess;
  /** The records' way ends here (a window's state): run the steps, keep no outputs. */
  discardOutputs?: boolean;
  log?: (operator: string, record: EngineRecord, args: unknown[]) => void;
  /** Serves `ctx.now/random/env` for steps granted them; without it, they are unavailable. */
  capabilities?: Capabilities;
  /** Serves `ctx.sql`; without it, `ctx.sql` fails the record with `unavailableSqlReason`. */
  sql?: SqlAccess;
  /** Why `ctx.sql` is unavailable here (the record's dead-letter reason). */
  unavailableSqlReason?: string;
  /** Makes `ctx.http` requests for steps granted them; without it, `ctx.http` fails the record. */
  http?: HttpAccess;
  /**
   * The inputs are the caller's own records, made by `ownedRecord` (the host loop's, read from a
   * topic, given to no one else): steps change their key and time in place instead of making a
   * record of their own per input, and every run starts from the key and time each was made with
   * (a run again — a batch halved past its limit, a message run again without a refused record —
   * sees what the first run saw). A record with no more than key and time changed leaves as itself.
   */
  owned?: boolean;
  /**
   * The inputs are handed over: records the caller's own steps made (a branched unit's trunk, for
   * the branch that runs last), which nothing else reads once this call is made. Such a record —
   * one a chain made, not an owned or kept one — is this chain's own from its first step: it
   * leaves as itself, changed in place, instead of as a record made for it per input.
   */
  handOver?: boolean;
  /**
   * Set to the index of the input record whose functions are running (what the caller needs to
   * name the record a promise left behind by a function belongs to).
   */
  position?: { input: number };
}

/** A function broke its contract (wrong return type, unknown state): reported like a throw. */
export class FunctionContractError extends Error {
  override name = 'FunctionContractError';
}

/**
 * Runs the steps over a batch: as the chain's compiled function (chain-compiler.ts) where this
 * setting makes code from strings, else with the interpreter (`runFrom`). Same results either way.
 */
export function runChain(steps: readonly ChainStep[], inputs: readonly ChainInput[], options: ChainOptions = {}): ChainResult {
  return runBatch(steps, inputs, options, compiledFor(steps));
}

/** `runChain` with the interpreter alone: the reference compiled chains are tested against. */
export function interpretChain(steps: readonly ChainStep[], inputs: readonly ChainInput[], options: ChainOptions = {}): ChainResult {
  return runBatch(steps, inputs, options, undefined);
}

function runBatch(steps: readonly ChainStep[], inputs: readonly ChainInput[], options: ChainOptions, compiled: CompiledChain | undefined): ChainResult {
  const room = options.discardOutputs ? 0 : outputsRoom(steps, inputs.length);
  const outputs: ChainOutput[] = room > 0 ? new Array<ChainOutput>(room) : [];
  const failures: ChainFailure[] = [];
  const ctx = new RecordContext(options);
  const keep = options.discardOutputs ? undefined : outputs;
  const position = options.position;
  const owned = options.owned === true;
  const handOver = options.handOver === true;
  // Steps that cannot read a value, whose records go nowhere after them (a session's at its close):
  // a value not read yet stays so (a failure's record reads it: `asRecord`).
  const leavesUnread = options.discardOutputs === true && ignoreValues(steps);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    if (position) position.input = i;
    const own = owned && startRun(input);
    // A later chain of the unit (a window's steps, a branch's) running a record again — a
    // `ctx.sql` round, a batch halved past its limit — reads its value again as the first did.
    if (!own && rereads(input) && !(leavesUnread && input.ran & RAN_UNREAD)) {
      if (input.ran & (RAN_LATER | RAN_UNREAD)) input.value = input.again.valueAgain(input.againFrom);
      input.ran = (input.ran & ~RAN_UNREAD) | RAN_LATER;
    }
    const mine = handOver && !own && madeByAChain(input);
    ctx.currentWindow = input.window;
    if (compiled) compiled(input, i, ctx, keep, failures, own, mine);
    else runFrom(steps, 0, input, mine, i, ctx, keep, failures, own);
  }
  outputs.length = ctx.made;
  if (keep && inputs.length > 0) madePerInput.set(steps, ctx.made / inputs.length);
  return { outputs, failures };
}

function ignoreValues(steps: readonly ChainStep[]): boolean {
  for (const s of steps) if (s.ignoresValue !== true) return false;
  return steps.length > 0;
}

/**
 * A record a chain's step made (`Derived`), not an owned record (its key and time are put back on
 * every run) nor one that reads its value again (`Rereadable`), or an owned record that holds a
 * map's result (`takesResult`: a run again of the unit's first steps puts back its key, time and
 * value): handed over, it is the next chain's own (`ChainOptions.handOver`).
 */
function madeByAChain(r: EngineRecord): boolean {
  const c = recordClassOf(r);
  if (c === DERIVED) return (r as Derived).madeTime === undefined;
  return c === REREADABLE && (r as Rereadable).madeTime !== undefined && ((r as Rereadable).ran & RAN_MADE) !== 0;
}

/**
 * Whether a step's run of `r` after its first reads its value again from where it came (an
 * `ownedRecord` with its source, a `keptRecord`): not once it holds a value a step made in it
 * (`takesResult`), which is then the value as that step left it, as for any record a step made.
 */
function rereads(r: EngineRecord): r is Rereadable {
  return isRereadable(r) && (r.ran & RAN_MADE) === 0;
}

/**
 * Whether a map's (or filter-map's) result may go into `r` itself, a record the chain was given
 * as the unit's own (`own`) and does not own yet: an owned record whose value is read again from
 * where it came (`ownedRecord` with a source; from then on marked as holding a value a step made).
 * The record made per input instead (~600 000 a 300 000-reading sensors run) is not needed: every
 * run of the unit's first steps starts from the value read again (`startRun`), and the steps after
 * them, a window's or a branch's, take it as a record a step made (`rereads`, `madeByAChain`).
 * An owned record with no source (a scalar value) cannot go back to its value: false.
 */
function takesResult(r: EngineRecord): boolean {
  if (!isRereadable(r) || r.madeTime === undefined) return false;
  r.ran |= RAN_MADE;
  return true;
}

/**
 * What each chain's last batch made per input. A batch's outputs are made with room for as many
 * (`outputsRoom`): grown output by output, the array was copied each time it filled — a word
 * count's split makes ~6 000 words a message, and the copies left behind were twice what the
 * array came to (~40 MB of a 300 000-sentence run).
 */
const madePerInput = new WeakMap<readonly ChainStep[], number>();

/** Room for a batch's outputs: what the chain's last batch made per input, a little over, at most MAX_OUTPUTS_ROOM. */
function outputsRoom(steps: readonly ChainStep[], inputs: number): number {
  const perInput = madePerInput.get(steps);
  return perInput === undefined ? 0 : Math.min(Math.ceil(inputs * perInput * 1.05) + 8, MAX_OUTPUTS_ROOM);
}

/**
 * The most room a batch's outputs are made with ahead (more comes by growing): an array past
 * 128 KB is made in the old generation's large-object space, freed only by a full collection.
 */
const MAX_OUTPUTS_ROOM = 16_000;

/**
 * Where an owned record's value can be read again (`ownedRecord`'s `again`): the message it came
 * in, given what `againFrom` says of the record's place in it.
 */
export interface ValueSource {
  valueAgain(from: unknown): unknown;
  /**
   * For a record kept past its message (a session's held records, `keptCopy`): a source and place
   * that hold this record's own bytes or snapshot alone. Without it the kept record holds `from`
   * as it is, and with it the whole frame or batch it points into, until its session closes.
   */
  detach?(from: unknown): { again: ValueSource; from: unknown };
  /**
   * The value's JSON text as `from` holds it, when `JSON.parse` of it gives what `valueAgain`
   * does (a topic of the dataflow's own: `ValueCodec.asJsonText`): a held row of a value never
   * read is written from it (`heldRecordsJson`). Undefined: write the value read.
   */
  json?(from: unknown): string | undefined;
}

/**
 * An owned record (`ownedRecord`) at the start of a run of the unit's first steps: its key and
 * time as made, no window, and, on every run after its first, its value read again from where it
 * came — a run again (a batch halved past its limit, a `ctx.sql` round, a section taken back and
 * run message by message) must see the value as it was read, not as a function changed it in
 * place. False for any other record (nothing to do). A chain does this for its owned inputs; a
 * window, session or join unit with no step before its window does it for its records itself.
 */
export function startRun(input: EngineRecord): boolean {
  if (!isDerived(input) || input.madeTime === undefined) return false;
  input.key = input.madeKey!;
  input.timestamp = input.madeTime;
  input.window = undefined;
  if (isRereadable(input)) {
    if (input.ran & (RAN_FIRST | RAN_UNREAD)) input.value = input.again.valueAgain(input.againFrom);
    // A first run of the unit's first steps: the later steps' next run is their first again, and
    // the value is the one read (a map's result taken in before is gone with it).
    input.ran = RAN_FIRST;
  }
  return true;
}

/**
 * A record its maker owns, for `ChainOptions.owned`: the chain may change its key and time in
 * place. With `again`, every run after the first starts from its value read again from there.
 */
export function ownedRecord(key: Key | null, value: unknown, timestamp: number, headers?: Record<string, string>, again?: ValueSource, againFrom?: unknown): EngineRecord {
  // A scalar cannot be changed in place: only an object needs the way back (and its fields).
  const r = again && typeof value === 'object' && value !== null ? new Rereadable(key, value, timestamp, headers, again, againFrom) : new Derived(key, value, timestamp, headers, -1);
  r.madeKey = key;
  r.madeTime = timestamp;
  return r;
}

/**
 * A record a unit keeps for the steps after its first (a session's held records, a window's
 * inputs made by its steps before it when they run call by call): not owned (its key and time are
 * what they are), but every run of those steps after the first reads its value again from its
 * JSON text, made here — the value as it was kept, not as a function changed it in place.
 */
export function keptRecord(key: Key | null, value: unknown, timestamp: number, headers?: Record<string, string>): EngineRecord {
  const plain: EngineRecord = headers ? { key, value, timestamp, headers } : { key, value, timestamp };
  return new Rereadable(key, value, timestamp, headers, KEPT_TEXT, JSON.stringify(plain));
}

/**
 * A copy of `r` to keep past its run (a session's held records): its key, value, time and headers,
 * and, when `r` reads its value again (`ownedRecord`, `keptRecord`), the same source — every run of
 * the copy after its first reads the value again from there. Any other record is copied plainly.
 */
export function keptCopy(r: EngineRecord): EngineRecord {
  if (rereads(r)) {
    const own = r.again.detach?.(r.againFrom) ?? { again: r.again, from: r.againFrom };
    const copy = new Rereadable(r.key, r.value, r.timestamp, r.headers, own.again, own.from);
    // A value not read yet stays so: the copy reads it from its own source when it is needed.
    copy.ran = r.ran & RAN_UNREAD;
    return copy;
  }
  return r.headers ? { key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers } : { key: r.key, value: r.value, timestamp: r.timestamp };
}

/**
 * An owned record (`ownedRecord`) whose value is not read yet: a step's run reads it from `again`
 * first (`startRun`, or as a later chain's input), and so does anything else that needs it
 * (`recordValue`: a late event, a failure's record). A session unit with no step before its
 * window reads its records this way: its steps run them only when their session closes, so a value
 * read as the record came would be held until then — ~184 000 Nexmark bids in q11's session unit,
 * each an object and three strings that outlive the young generation, beside the bytes the
 * record keeps anyway (`ValueSource.detach`). Read at close, each value is garbage right after its
 * run, and steps that cannot read it (`ChainStep.ignoresValue`, q11's count) never read it; a held
 * row writes the value's text as it came (`heldRecordsJson`).
 */
export function unreadRecord(key: Key | null, timestamp: number, headers: Record<string, string> | undefined, again: ValueSource, againFrom: unknown): EngineRecord {
  const r = new Rereadable(key, undefined, timestamp, headers, again, againFrom);
  r.madeKey = key;
  r.madeTime = timestamp;
  r.ran = RAN_UNREAD;
  return r;
}

/** A record's value: read from its source for a record whose value is not read yet (`unreadRecord`), without keeping it there. */
export function recordValue(r: EngineRecord): unknown {
  return isRereadable(r) && r.ran & RAN_UNREAD ? r.again.valueAgain(r.againFrom) : r.value;
}

/**
 * `JSON.stringify(records)` (a session's held row), each record whose value was never read
 * (`unreadRecord`) written with its value's text as its source holds it (`ValueSource.json`)
 * instead of read and written again: the same text but for how JSON.stringify would space and
 * escape the value, which `JSON.parse` reads back alike.
 */
export function heldRecordsJson(records: readonly EngineRecord[]): string {
  const parts: string[] = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const text = isRereadable(r) && r.ran & RAN_UNREAD ? r.again.json?.(r.againFrom) : undefined;
    // The fields in `asRecord`'s order, as JSON.stringify writes the record.
    parts[i] =
      text === undefined
        ? JSON.stringify(r)
        : `{"key":${JSON.stringify(r.key)},"value":${text},"timestamp":${JSON.stringify(r.timestamp)}${r.headers ? `,"headers":${JSON.stringify(r.headers)}` : ''}}`;
  }
  return `[${parts.join(',')}]`;
}

/** `keptRecord` with a source of the caller's: every run after the first reads the value again from `again`, given `againFrom`. */
export function rereadableRecord(key: Key | null, value: unknown, timestamp: number, headers: Record<string, string> | undefined, again: ValueSource, againFrom: unknown): EngineRecord {
  return new Rereadable(key, value, timestamp, headers, again, againFrom);
}

/**
 * The input of one more of `r`'s windows (a sliding window's after its first, its steps native),
 * called by itself (call by call: it may run its inputs again on its own): `value`, a copy of
 * `r`'s made before any window's steps ran, and on every run after its first the value read
 * again as `r` reads it (from `r`'s source), or, for a record with no source, from `copies` given
 * `r`'s value as it is then (such a record keeps the value its maker gave, as it does itself).
 */
export function windowCopy(r: EngineRecord, value: unknown, window: WindowBounds, copies: ValueSource): ChainInput {
  const input = rereads(r) ? new Rereadable(r.key, value, r.timestamp, r.headers, r.again, r.againFrom) : new Rereadable(r.key, value, r.timestamp, r.headers, copies, r.value);
  input.window = window;
  return input;
}

/** Whether a run of a unit's steps after the first reads `r`'s value again (an `ownedRecord` with its source, a `keptRecord`). */
export function readsAgain(r: EngineRecord): boolean {
  return rereads(r);
}

const KEPT_TEXT: ValueSource = { valueAgain: (text) => (JSON.parse(text as string) as EngineRecord).value };

/** A record as it came: for an `ownedRecord`, its key and time before any step changed them (and its value, once a map's result went into it). */
export function recordAsMade(r: EngineRecord): EngineRecord {
  if (!isDerived(r) || r.madeTime === undefined) return r;
  const value = isRereadable(r) && r.ran & (RAN_MADE | RAN_UNREAD) ? r.again.valueAgain(r.againFrom) : r.value;
  return r.headers ? { key: r.madeKey!, value, timestamp: r.madeTime, headers: r.headers } : { key: r.madeKey!, value, timestamp: r.madeTime };
}

/** The time a record came with: for an `ownedRecord`, before any step changed it. */
export function timeMadeWith(r: EngineRecord): number {
  return isDerived(r) && r.madeTime !== undefined ? r.madeTime : r.timestamp;
}

/** Calls a window's flush function: its result becomes the window's one output record. */
export function runFlush(step: ChainStep, window: WindowBounds, options: ChainOptions = {}): { output?: EngineRecord; failure?: ChainFailure } {
  const ctx = new RecordContext(options);
  ctx.currentWindow = window;
  ctx.current = { key: null, value: null, timestamp: window.end - 1 };
  ctx.step = step;
  try {
    const value = step.fn(ctx);
    if (value === undefined) throw new FunctionContractError(`flush returned nothing`);
    return { output: { key: null, value, timestamp: window.end - 1 } };
  } catch (error) {
    return { failure: { input: -1, operator: step.id, reason: failureReason(step, error), error, record: ctx.current } };
  }
}

/**
 * Runs `record` through `steps[at..]`. `mine` says the record is one this chain made and no
 * one else holds yet (not the caller's input, not an output): steps then change it in place
 * instead of allocating a record per step per record.
 */
function runFrom(
  steps: readonly ChainStep[],
  at: number,
  record: EngineRecord,
  mine: boolean,
  input: number,
  ctx: RecordContext,
  outputs: ChainOutput[] | undefined,
  failures: ChainFailure[],
  own = false,
): void {
  let current = record;
  for (let s = at; s < steps.length; s++) {
    const step = steps[s]!;
    ctx.current = current;
    ctx.step = step;
    try {
      const result = step.operator === 'assign-timestamp' ? step.fn(current.value, current.timestamp, ctx) : step.fn(current.value, ctx);
      switch (step.operator) {
        case 'filter':
          if (typeof result !== 'boolean') throw notBoolean(result);
          if (!result) return;
          break;
        case 'map':
          if (result === undefined) throw mapReturnedNothing();
          current = withResult(step, current, mine || (own && takesResult(current)), result);
          mine = true;
          break;
        case 'filter-map':
          if (result === undefined || result === null) return;
          current = withResult(step, current, mine || (own && takesResult(current)), result);
          mine = true;
          break;
        case 'flat-map': {
          if (!Array.isArray(result)) throw notArray(result);
          // Every item is checked before any continues: a bad item fails the record as a whole.
          const items: EngineRecord[] = new Array(result.length);
          for (let i = 0; i < result.length; i++) items[i] = withResult(step, current, false, result[i]);
          // Each item continues through the rest of the chain on its own.
          for (const item of items) runFrom(steps, s + 1, item, true, input, ctx, outputs, failures);
          return;
        }
        case 'assign-key':
          if (!isKey(result)) throw notKey(result);
          if (mine || own) current.key = result;
          else {
            current = new Derived(result, current.value, current.timestamp, current.headers, -1);
            mine = true;
          }
          break;
        case 'assign-timestamp':
          if (typeof result !== 'number' || !Number.isFinite(result)) throw notTime(result);
          if (mine || own) current.timestamp = wholeMs(result);
          else {
            current = new Derived(current.key, current.value, wholeMs(result), current.headers, -1);
            mine = true;
          }
          break;
        case 'update-state':
          // A side effect on the current key's state; the record goes on unchanged.
          break;
        case 'flush':
          throw flushPerRecord();
        default: {
          const never: never = step.operator;
          return never;
        }
      }
    } catch (error) {
      failures.push({ input, operator: step.id, reason: failureReason(step, error), error, record: asRecord(current) });
      return;
    }
  }
  if (!outputs) return;
  if (mine || own) {
    (current as Derived).input = input;
    outputs[ctx.made++] = current as Derived;
  } else {
    outputs[ctx.made++] = new Derived(current.key, current.value, current.timestamp, current.headers, input);
  }
}

// The contracts a step's result breaks, one place for both the interpreter and compiled chains.
const notBoolean = (result: unknown) => new FunctionContractError(`filter must return a boolean, got ${describeValue(result)}`);
const mapReturnedNothing = () => new FunctionContractError('map returned nothing (use filter-map to drop records)');
const notArray = (result: unknown) => new FunctionContractError(`flat-map must return an array, got ${describeValue(result)}`);
const notKey = (result: unknown) => new FunctionContractError(`assign-key must return a string, number or boolean, got ${describeValue(result)}`);
const notTime = (result: unknown) => new FunctionContractError(`assign-timestamp must return epoch milliseconds (a finite number), got ${describeValue(result)}`);
const flushPerRecord = () => new FunctionContractError('flush runs when a window closes, not per record');

/**
 * An assigned time in whole milliseconds. A time is beyond the small-integer range, so a record
 * holds it as a number object: the number the function returned is kept as it is when it is
 * whole already (the usual case: a field of the value, the record's own time) — `Math.trunc`
 * made a new one per record (16 bytes: ~30 MB of a 300 000-sentence word count's allocation).
 */
function wholeMs(t: number): number {
  return Number.isInteger(t) ? t : Math.trunc(t);
}

/**
 * A chain's compiled function (chain-compiler.ts), made on its first batch and kept while its
 * steps are the same objects with what the code was made from (a unit's executor keeps its steps
 * for the run): a step whose function, operator, id or `setsKey` changed makes a new one.
 */
interface CompiledEntry {
  run: CompiledChain | undefined;
  steps: ChainStep[];
  made: Array<Pick<ChainStep, 'fn' | 'operator' | 'id' | 'setsKey'>>;
}
const compiledChains = new WeakMap<readonly ChainStep[], CompiledEntry>();
let chainRuntime: ChainRuntime | undefined;

function compiledFor(steps: readonly ChainStep[]): CompiledChain | undefined {
  const entry = compiledChains.get(steps);
  if (entry && sameSteps(entry, steps)) return entry.run;
  chainRuntime ??= { Derived, asRecord, failureReason, withResult, takesResult, isKey, notBoolean, mapReturnedNothing, notArray, notKey, notTime, flushPerRecord, wholeMs, resultOwner };
  const run = compileChain(steps, chainRuntime);
  compiledChains.set(steps, { run, steps: steps.slice(), made: steps.map(({ fn, operator, id, setsKey }) => ({ fn, operator, id, setsKey })) });
  return run;
}

function sameSteps(entry: CompiledEntry, steps: readonly ChainStep[]): boolean {
  if (entry.steps.length !== steps.length) return false;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const made = entry.made[i]!;
    if (step !== entry.steps[i] || step.fn !== made.fn || step.operator !== made.operator || step.id !== made.id || step.setsKey !== made.setsKey) return false;
  }
  return true;
}

/**
 * A record a step made. One class (one shape) for every record the chain creates, so the last
 * step's record can become the output as it is instead of being copied again per record.
 */
class Derived implements ChainOutput, ChainInput {
  key: Key | null;
  value: unknown;
  timestamp: number;
  headers: Record<string, string> | undefined;
  input: number;
  /** Set by the window operator when the record goes on to a window's steps as it is (`assignWindows`). */
  window: WindowBounds | undefined;
  /** Set by a branched operator on its branches' outputs (`branchedChain`). */
  route: number | undefined;
  /** An `ownedRecord`'s key and time as it was made (what each run starts from). */
  madeKey: Key | null | undefined;
  madeTime: number | undefined;
  constructor(key: Key | null, value: unknown, timestamp: number, headers: Record<string, string> | undefined, input: number) {
    this.key = key;
    this.value = value;
    this.timestamp = timestamp;
    this.headers = headers;
    this.input = input;
    this.window = undefined;
    this.route = undefined;
    this.madeKey = undefined;
    this.madeTime = undefined;
  }
}

/**
 * An owned record whose value is an object a function could change in place: where to read the
 * value again from, and whether it ran once. A class of its own, so the chain's other records
 * (a flat-map's items, a word count's words) carry no more fields than they did.
 */
class Rereadable extends Derived {
  readonly again: ValueSource;
  readonly againFrom: unknown;
  /**
   * Which of the unit's steps ran it since its first steps last did (`RAN_FIRST`, `RAN_LATER`):
   * the record passes from the steps before a window to the window's steps as itself, and each
   * reads it again only on a run of its own after the first. `RAN_MADE`: it holds a map's result
   * since (`takesResult`), and only a run of the first steps reads it again.
   */
  ran: number;
  constructor(key: Key | null, value: unknown, timestamp: number, headers: Record<string, string> | undefined, again: ValueSource, againFrom: unknown) {
    super(key, value, timestamp, headers, -1);
    this.again = again;
    this.againFrom = againFrom;
    this.ran = 0;
  }

  /** As JSON, the record alone (a session's held records are its checkpoint's rows). */
  toJSON(): EngineRecord {
    return asRecord(this);
  }
}

/**
 * Which of the chain's record classes a record is, read from its class's prototype (undefined:
 * any other record). The per-record loop asked `instanceof Derived` / `instanceof Rereadable`,
 * and optimised code made each of those a call of V8's generic InstanceOf builtin (a lookup of
 * `Symbol.hasInstance` up the class's prototype chain, then the prototype walk): ~4% of a word
 * count's CPU. A property load is answered by the call site's inline cache.
 */
const DERIVED = 1;
const REREADABLE = 2;
Object.defineProperty(Derived.prototype, 'recordClass', { value: DERIVED });
Object.defineProperty(Rereadable.prototype, 'recordClass', { value: REREADABLE });

function recordClassOf(r: EngineRecord): number | undefined {
  return (r as { recordClass?: number }).recordClass;
}

function isDerived(r: EngineRecord): r is Derived {
  return recordClassOf(r) !== undefined;
}

function isRereadable(r: EngineRecord): r is Rereadable {
  return recordClassOf(r) === REREADABLE;
}

/**
 * `Rereadable.ran`: the unit's first steps (an owned run), the steps after them (a window's, a
 * branch's); and `RAN_MADE`, the record holds a map's result its first steps put in it (`takesResult`).
 */
const RAN_FIRST = 1;
const RAN_LATER = 2;
const RAN_MADE = 4;
/** Its value is not read yet (`unreadRecord`): read from its source before any use. */
const RAN_UNREAD = 8;

// A field that has only held numbers is a "double" field in V8, with a box of its own per object:
// an owned record's time and the time it was made with would be two. Once a field has held
// something else it takes any value, and the two share the number they were given.
{
  const any = null as unknown as number;
  const r = new Derived(null, null, any, undefined, -1);
  r.madeTime = any;
  const again = new Rereadable(null, null, any, undefined, { valueAgain: () => null }, null);
  again.madeTime = any;
}

/** A failing record as the step saw it: the record alone, without the chain's bookkeeping. */
function asRecord(r: EngineRecord): EngineRecord {
  if (!isDerived(r)) return r;
  const value = recordValue(r);
  return r.headers ? { key: r.key, value, timestamp: r.timestamp, headers: r.headers } : { key: r.key, value, timestamp: r.timestamp };
}

/**
 * The record with a step's result as its value (and key, for a key-value result); in place when
 * `mine`. `owner`: the step's own in a compiled chain, the interpreter's shared one otherwise.
 */
function withResult(step: ChainStep, record: EngineRecord, mine: boolean, result: unknown, owner: ResultOwner = ownResult): EngineRecord {
  let key = record.key;
  let value = result;
  if (step.setsKey && result !== null && typeof result === 'object' && 'key' in result && 'value' in result) {
    const kv = result as { key: unknown; value: unknown };
    if (!isKey(kv.key) && kv.key !== null) {
      throw new FunctionContractError(`a key-value result needs a string, number or boolean key, got ${describeValue(kv.key)}`);
    }
    key = kv.key as Key | null;
    value = kv.value;
  }
  value = owner(value, record.value);
  if (!mine) return new Derived(key, value, record.timestamp, record.headers, -1);
  record.key = key;
  record.value = value;
  return record;
}

function isKey(v: unknown): v is Key {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Where a function's code threw, in the user's files: the services file's line for inline `run:` code. */
export interface ThrowSite {
  file: string;
  line: number;
  col: number;
}

/** A record's dead-letter reason when its step threw: the error, and where the step's code threw it, when known. */
export function failureReason(step: ChainStep, error: unknown): string {
  const site = step.locate?.(error);
  return site ? withThrowSite(describeError(error), site) : describeError(error);
}

/** `reason (at FILE:LINE:COL)`: a throw's reason with its place, native and sandboxed alike. */
export function withThrowSite(reason: string, site: ThrowSite): string {
  return `${reason} (at ${site.file}:${site.line}:${site.col})`;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`;
  return `threw ${describeValue(error)}`;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v);
  return `${typeof v} ${s}`;
}

/**
 * The `ctx` a function receives. One instance per chain call, re-pointed at each record, so
 * a batch allocates no context per record.
 */
class RecordContext implements FunctionContext {
  current: EngineRecord = { key: null, value: null, timestamp: 0 };
  /** The outputs the batch made so far: where its next one goes (its array is made with room, `outputsRoom`). */
  made = 0;
  currentWindow: WindowBounds | undefined;
  step: ChainStep | undefined;
  readonly options: ChainOptions;
  /**
   * `options.state`, read once per batch: every keyed call reads it, and a chain's options are
   * object literals of as many shapes as the calls that make them (spread, with or without
   * `owned`, `discardOutputs`, `sql`...), so reading it from them per call was a megamorphic load.
   */
  readonly store: StateAccess | undefined;
  private readonly handles = new Map<string, StateHandle<unknown>>();
  // The handle the last `ctx.state(name)` call of a step returned: a keyed step asks for the
  // same state for every record.
  private lastStep: ChainStep | undefined;
  private lastName: string | undefined;
  private lastHandle: StateHandle<unknown> | undefined;

  constructor(options: ChainOptions) {
    this.options = options;
    this.store = options.state;
  }

  key(): Key | undefined {
    return this.current.key ?? undefined;
  }

  window(): WindowBounds {
    if (!this.currentWindow) throw new FunctionContractError('ctx.window() is only available inside a window');
    return this.currentWindow;
  }

  param(name: string): string | undefined {
    return this.step?.params?.[name];
  }

  log(...args: unknown[]): void {
    if (this.step) this.options.log?.(this.step.id, this.current, args);
  }

  now(): number {
    return this.granted('clock', 'ctx.now()', 'clock').now();
  }

  random(): number {
    return this.granted('random', 'ctx.random()', 'random').random();
  }

  env(name: string): string | undefined {
    const what = `ctx.env(${JSON.stringify(name)})`;
    if (!this.step?.grants?.env?.includes(name)) throw new GrantDeniedError(what, 'env', this.step?.id, `{env: [${name}]}`);
    return this.capabilities(what).env(name);
  }

  private granted(grant: 'clock' | 'random', what: string, example: string): Capabilities {
    if (!this.step?.grants?.[grant]) throw new GrantDeniedError(what, grant, this.step?.id, example);
    return this.capabilities(what);
  }

  sql(query: string, params: unknown[] = []): SqlRow[] {
    if (typeof query !== 'string') throw new FunctionContractError(`ctx.sql needs a query string, got ${describeValue(query)}`);
    if (!Array.isArray(params)) throw new FunctionContractError(`ctx.sql parameters must be an array, got ${describeValue(params)}`);
    const sql = this.options.sql;
    if (!sql) throw new FunctionContractError(this.options.unavailableSqlReason ?? 'ctx.sql is not available here');
    return sql(query, params);
  }

  http(url: string, init?: HttpInit): HttpResponse {
    const hosts = this.step?.grants?.http;
    if (!hosts?.length) throw new GrantDeniedError('ctx.http()', 'http', this.step?.id, '{http: [HOST]}');
    const request = httpRequestOf(url, init, hosts, this.step?.id);
    const access = this.options.http;
    if (!access) throw new FunctionContractError('ctx.http is not available here: this runtime makes no HTTP requests');
    return httpResponseOf(access(request));
  }

  private capabilities(what: string): Capabilities {
    const c = this.options.capabilities;
    if (!c) throw new FunctionContractError(`${what} is not available here: this runtime grants no capabilities`);
    return c;
  }

  state<V = unknown>(name: string): StateHandle<V> {
    if (name === this.lastName && this.step === this.lastStep) return this.lastHandle as StateHandle<V>;
    const allowed = this.step?.states;
    if (allowed && !allowed.includes(name)) {
      throw new FunctionContractError(`unknown state \`${name}\`${allowed.length ? `: this service has ${allowed.map((s) => `\`${s}\``).join(', ')}` : ''}`);
    }
    let h = this.handles.get(name);
    if (!h) this.handles.set(name, (h = new RecordStateHandle(this, name)));
    this.lastStep = this.step;
    this.lastName = name;
    this.lastHandle = h;
    return h as StateHandle<V>;
  }
}

/** `ctx.state(name)`: reads and writes the current record's key (in its window, inside one). */
class RecordStateHandle implements StateHandle<unknown> {
  private readonly ctx: RecordContext;
  private readonly name: string;

  constructor(ctx: RecordContext, name: string) {
    this.ctx = ctx;
    this.name = name;
  }

  get(): unknown {
    return this.store().get(this.name, this.key(), this.ctx.currentWindow);
  }

  set(value: unknown): void {
    this.store().set(this.name, this.key(), value, this.ctx.currentWindow);
  }

  update(fn: (previous: unknown) => unknown): unknown {
    const store = this.store();
    const key = this.key();
    const next = fn(store.get(this.name, key, this.ctx.currentWindow));
    store.set(this.name, key, next, this.ctx.currentWindow);
    return next;
  }

  increment(by = 1): number {
    const store = this.store();
    const key = this.key();
    const prev = store.get(this.name, key, this.ctx.currentWindow);
    if (prev !== undefined && typeof prev !== 'number') throw new FunctionContractError(`increment on state \`${this.name}\` whose value is not a number`);
    const next = (prev ?? 0) + by;
    store.set(this.name, key, next, this.ctx.currentWindow);
    return next;
  }

  delete(): void {
    this.store().delete(this.name, this.key(), this.ctx.currentWindow);
  }

  lookup(key: Key): unknown {
    return this.store().lookup(this.name, key);
  }

  entries(): Iterable<[Key, unknown]> {
    return this.store().entries(this.name, this.ctx.currentWindow);
  }

  private store(): StateAccess {
    const state = this.ctx.store;
    if (!state) throw new FunctionContractError('this operator has no state');
    return state;
  }

  private key(): Key {
    const k = this.ctx.current.key;
    if (k === null) throw new FunctionContractError(`state \`${this.name}\` needs a key: use it after assign-key, or use lookup(key)`);
    return k;
  }
}
