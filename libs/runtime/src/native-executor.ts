/**
 * Native (trusted) functions, run on this thread with the limits sandboxed ones have:
 *
 * - **The time limit.** A batch runs inside a `vm` script with a `timeout`: V8 stops synchronous
 *   code at the limit (`while (true) {}` included; a `finally` cannot keep it running), this
 *   thread goes on, and the batch's state changes are taken back. As in the sandbox, the batch is
 *   run again in halves until the record that takes too long is alone, and that record is
 *   dead-lettered (`timed out after N ms (function-timeout)`). Waiting for `ctx.http` is not the
 *   function's time: a batch stopped while its requests were answered runs again with their
 *   answers kept, under a limit that leaves the waiting out.
 * - **Promises left behind.** A promise a function starts and does not await (a fire-and-forget
 *   `fetch()`) belongs to its record (native-promises.ts): the batch waits for such promises, up
 *   to the time limit, and a record whose promise rejects with no handler is dead-lettered
 *   (`unhandled rejection: …`) instead of the rejection ending the process.
 * - **`ctx.sql`** runs in rounds (a function cannot block the thread that serves the database):
 *   a query whose rows are not known yet throws, the round is taken back, the queries run, and
 *   the batch runs again with their rows. SQL time is the function's time, as in the sandbox: the
 *   queries get what is left of `function-timeout` (their `statement_timeout`), each round runs
 *   under what the queries left, and a batch whose queries reach the limit times out.
 */
import { performance } from 'node:perf_hooks';
import vm from 'node:vm';
import {
  describeError,
  MemoryState,
  runChain,
  runFlush,
  recordAsMade,
  recordValue,
  type Capabilities,
  type ChainFailure,
  type ChainInput,
  type ChainOptions,
  type ChainResult,
  type ChainStep,
  type EngineRecord,
  type HttpAccess,
  type HttpAnswer,
  type HttpRequest,
  type Key,
  type SqlAccess,
  type SqlRow,
  type StateAccess,
  type WindowBounds,
  type ChainExecutor,
  type SectionCalls,
} from '@ssdk/engine';
import { blockingHttp, type PendingWindowState, type SqlCallOptions } from '@ssdk/wasm-host';
import { watchPromises, type PromiseOwner } from './native-promises.ts';

/** Trusted functions reach the process's own clock, randomness and environment (as granted). */
const HOST_CAPABILITIES: Capabilities = { now: () => Date.now(), random: () => Math.random(), env: (name) => process.env[name] };

/** Why a native chain's `ctx.sql` fails when the run has no state tables. */
export const MEMORY_SQL_REASON = 'ctx.sql is not available here: this run keeps its state in memory (`ssdk test`, `ssdk run --ephemeral`), with no tables to query';

/** `function-timeout` when a caller gives none: the sandbox's default, the planner's too. */
export const DEFAULT_FUNCTION_TIMEOUT_MS = 1000;

/** Runs `ctx.sql` queries (read-only, over committed state), as the state store's `query()`. */
export type NativeSql = (query: string, params: unknown[], options?: SqlCallOptions) => Promise<SqlRow[]>;

/**
 * A chain call's options: one object literal with every field there, set or not. They were
 * spread together (`{ ...common, ...x, position, ...(discard ? { discardOutputs: true } : {}) }`),
 * and V8 gave every such object a map of its own (1 782 in a cold word count, one per call), so
 * each read of them in the engine's per-batch loop (`runChain`) went the megamorphic way, and the
 * flags there only when set made shapes enough to throw its compiled code away mid-run.
 */
function chainOptions(common: ChainOptions, x: RunOptions, position: { input: number }, discardOutputs: boolean, owned: boolean, handOver: boolean): ChainOptions {
  // Every field of ChainOptions, named: one added there is refused here until it is given (the
  // spreads passed on whatever `common` and `x` held).
  const options: { [K in keyof Required<ChainOptions>]: ChainOptions[K] } = {
    capabilities: common.capabilities,
    unavailableSqlReason: common.unavailableSqlReason,
    state: x.state,
    http: x.http,
    log: x.log,
    sql: x.sql,
    position,
    discardOutputs,
    owned,
    handOver,
  };
  return options;
}

/** A record's dead-letter reason when its functions ran past the limit (the sandbox's words too). */
export function timedOutReason(ms: number): string {
  return `timed out after ${ms} ms (function-timeout)`;
}

/** A native function ran past `function-timeout`, or left a promise that rejected with no handler. */
export class NativeFunctionError extends Error {
  override name = 'NativeFunctionError';
  readonly code: 'function-timeout' | 'unhandled-rejection';
  readonly domain = 'user';
  constructor(code: NativeFunctionError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface NativeExecutorOptions {
  /** `ctx.log` lines. */
  log?: ChainOptions['log'];
  /** Answers `ctx.sql`; without it, `ctx.sql` fails the record. */
  sql?: NativeSql;
  /** Per batch (and per part of a batch split to find a slow record), ms. @default 1000 */
  timeoutMs?: number;
}

/**
 * `log` receives the functions' `ctx.log` lines; `sql` answers `ctx.sql` (with no state store,
 * `ctx.sql` fails the record). `ctx.http` blocks this thread while the callout thread makes the
 * request (wasm-host's callouts).
 */
export function nativeExecutor(steps: readonly ChainStep[], o: NativeExecutorOptions = {}): ChainExecutor {
  const flushStep = steps.find((s) => s.operator === 'flush');
  const body = steps.filter((s) => s !== flushStep);
  const timeoutMs = o.timeoutMs ?? DEFAULT_FUNCTION_TIMEOUT_MS;
  const unitOperator = body.length === 1 ? body[0]!.id : body.map((s) => s.id).join('+');
  const common: ChainOptions = { capabilities: HOST_CAPABILITIES, ...(o.sql ? {} : { unavailableSqlReason: MEMORY_SQL_REASON }) };
  // A promise that rejects after its batch stopped waiting: the record went on; the user is told.
  const late = (operator: string, record: EngineRecord, reason: unknown) =>
    o.log?.(operator, record, [`a promise this record's function left behind rejected after its batch was done (not dead-lettered): ${describeError(reason)}`]);

  async function runSplit(inputs: readonly ChainInput[], offset: number, state: StateAccess, discard: boolean, owned: boolean, into: ChainResult): Promise<void> {
    const position = { input: 0 };
    // Owned records may have been changed in place by a run taken back: a record is told as it came.
    const plain = owned ? (r: ChainInput) => plainRecord(recordAsMade(r)) : plainRecord;
    const r = await guardedRun(state, timeoutMs, o, position, (x) => runChain(body, inputs, chainOptions(common, x, position, discard, owned, false)));
    if (r.ok) {
      const rejected = await r.owner.settle(performance.now() + Math.max(0, timeoutMs - r.ms), (input, reason) => late(unitOperator, plain(inputs[input] ?? inputs[0]!), reason));
      const failures = r.value.failures.filter((f) => !rejected.has(f.input));
      if (rejected.size > 0) {
        // In the records' order, whatever order the rejections came in.
        for (const [input, reason] of rejected) failures.push(rejectedFailure(unitOperator, input, plain(inputs[input]!), reason));
        failures.sort((a, b) => a.input - b.input);
      }
      for (const f of failures) into.failures.push(offset ? { ...f, input: f.input + offset } : f);
      // The usual case, a whole batch in one run with nothing taken back: its outputs as they are
      // (copying them was one push per word of word count, 2M a run).
      if (rejected.size === 0 && offset === 0 && into.outputs.length === 0) into.outputs = r.value.outputs;
      else for (const out of r.value.outputs) if (!rejected.has(out.input)) into.outputs.push(offset ? { ...out, input: out.input + offset } : out);
      return;
    }
    if (inputs.length === 1) {
      const reason = timedOutReason(timeoutMs);
      into.failures.push({ input: offset, operator: unitOperator, reason, error: new NativeFunctionError('function-timeout', `${unitOperator}: ${reason}`), record: plain(inputs[0]!) });
      return;
    }
    const mid = inputs.length >> 1;
    await runSplit(inputs.slice(0, mid), offset, state, discard, owned, into);
    await runSplit(inputs.slice(mid), offset + mid, state, discard, owned, into);
  }

  const executor: ChainExecutor = {
    async run(inputs, state, options) {
      const into: ChainResult = { outputs: [], failures: [] };
      if (inputs.length > 0) await runSplit(inputs, 0, state, options?.discardOutputs === true, options?.owned === true, into);
      return into;
    },
    async flush(window, state) {
      if (!flushStep) return {};
      const record: EngineRecord = { key: null, value: null, timestamp: window.end - 1 };
      // The window's own state is still in memory (committed with the flush's batch): ctx.sql sees it.
      const r = await guardedRun(state, timeoutMs, o, { input: -1 }, (x) => runFlush(flushStep, window, { ...common, ...x }), undefined, { pending: windowStates(flushStep, window, state) });
      if (!r.ok) {
        const reason = timedOutReason(timeoutMs);
        return { failure: { input: -1, operator: flushStep.id, reason, error: new NativeFunctionError('function-timeout', `${flushStep.id}: ${reason}`), record } };
      }
      const rejected = await r.owner.settle(performance.now() + Math.max(0, timeoutMs - r.ms), (_input, reason) => late(flushStep.id, record, reason));
      const reason = rejected.get(-1);
      return reason === undefined ? r.value : { failure: rejectedFailure(flushStep.id, -1, plainRecord(record), reason) };
    },
    // Window and session operators (@ssdk/engine) make a batch's calls through this: one guard.
    section: runSection,
  };
  NATIVE.set(executor, { body, ...(flushStep ? { flushStep } : {}), common, timeoutMs, o, leavesPromises: false });
  return executor;
}

/** What a native executor runs, for sections (`runSection`) that make several of its calls at once. */
interface NativeChain {
  body: readonly ChainStep[];
  flushStep?: ChainStep;
  common: ChainOptions;
  timeoutMs: number;
  o: NativeExecutorOptions;
  /**
   * A section of its calls made a promise: its functions do (a fire-and-forget `fetch()`), so it
   * makes its calls one by one from then on — a section taken back for that would run every
   * batch twice, and start such work twice.
   */
  leavesPromises: boolean;
}
const NATIVE = new WeakMap<ChainExecutor, NativeChain>();

/**
 * Runs `job` — the `run`/`flush` calls of a unit's native executors over a whole batch and the
 * windows it closes — under ONE time limit, the longest of the executors'. Each guarded call
 * starts a V8 watchdog thread (50–250 µs of CPU on a busy machine), so one per call and per
 * window flush cost native dataflows 15–70% of their CPU; one per batch is what the limit needs.
 *
 * Undefined when the section cannot answer for the calls one by one: an executor is not native
 * (sandboxed), the job ran past the limit, or a function left a promise behind (its record is
 * known only to a call of its own; such executors make no sections again, so only one batch runs
 * twice — as work already runs again after a stop). Its state changes and log lines are then gone, and the
 * caller makes the calls separately — each under its own limit, a batch halved until the slow
 * record is alone — so verdicts are the same as without sections, only found later.
 *
 * `job` may run more than once (`ctx.sql` rounds, a stop while `ctx.http` waited): it must
 * change nothing but the state it is given, and return what the caller applies once it is done.
 */
export async function runSection<R>(executors: ReadonlyArray<ChainExecutor | undefined>, state: StateAccess, job: (calls: SectionCalls) => R): Promise<{ value: R } | undefined> {
  const natives: NativeChain[] = [];
  for (const e of executors) {
    if (!e) continue;
    const n = NATIVE.get(e);
    if (!n || n.leavesPromises) return undefined;
    natives.push(n);
  }
  if (natives.length === 0) return undefined;
  const limit = Math.max(...natives.map((n) => n.timeoutMs));
  // Every executor of a unit logs to the unit's sink and queries its store: the first one's serve all.
  const position = { input: 0 };
  const scope: SqlScope = {};
  const r = await guardedRun(
    state,
    limit,
    natives[0]!.o,
    position,
    (x) => {
      const started = performance.now();
      return job({
        run(executor, inputs, options) {
          if (inputs.length === 0) return { outputs: [], failures: [] };
          const n = NATIVE.get(executor)!;
          return runChain(n.body, inputs, chainOptions(n.common, x, position, options?.discardOutputs === true, options?.owned === true, options?.handOver === true));
        },
        flush(executor, window) {
          const n = NATIVE.get(executor)!;
          if (!n.flushStep) return {};
          // x.state: the batch's writes of this section are in it.
          scope.pending = windowStates(n.flushStep, window, x.state);
          try {
            return runFlush(n.flushStep, window, { ...n.common, ...x });
          } finally {
            scope.pending = undefined;
          }
        },
        beforeLines: x.beforeLines,
        limitUsed: () => (performance.now() - started) / limit,
      });
    },
    (owner) => {
      if (!owner.made()) return true;
      for (const n of natives) n.leavesPromises = true;
      return false;
    },
    scope,
  );
  return r.ok ? { value: r.value } : undefined;
}

/** What `ctx.sql` sees besides committed state while a call runs. */
interface SqlScope {
  pending?: PendingWindowState[] | undefined;
}

/** A flush's window states as the unit holds them (committed with the flush's batch, not before): its ctx.sql sees them. */
function windowStates(flushStep: ChainStep, window: WindowBounds, state: StateAccess): PendingWindowState[] {
  return (flushStep.states ?? []).map((name) => ({ state: name, window, entries: [...state.entries(name, window)] }));
}

function rejectedFailure(operator: string, input: number, record: EngineRecord, reason: unknown): ChainFailure {
  const why = `unhandled rejection: ${describeError(reason)}`;
  return { input, operator, reason: why, error: new NativeFunctionError('unhandled-rejection', `${operator}: ${why}`, { cause: reason }), record };
}

function plainRecord(r: ChainInput): EngineRecord {
  // A record steps that cannot read it ran unread (`unreadRecord`): its dead letter carries the value.
  const value = recordValue(r);
  return r.headers ? { key: r.key, value, timestamp: r.timestamp, headers: r.headers } : { key: r.key, value, timestamp: r.timestamp };
}

// The function a guarded run calls, set just before: a script has no arguments.
const GUARDED = Symbol.for('ssdk.native.guarded');
const guardScript = new vm.Script('globalThis[Symbol.for("ssdk.native.guarded")]()', { filename: 'ssdk-native-function-timeout' });

/**
 * For benchmarks only (no option, setting or variable of ssdk reaches it): `calls` counts
 * guarded calls (each starts a V8 watchdog
 * thread), and `unguarded` runs them as native functions ran before they had limits (no time
 * limit, no undo, no promise watch), so a benchmark can print what the limits cost against a
 * baseline of the same run.
 */
export const guardForBenchmarks = { calls: 0, unguarded: false };

/** Runs `fn` synchronously, stopped by V8 after `limitMs`: undefined when it was. */
function underLimit<R>(limitMs: number, fn: () => R): { value: R } | undefined {
  guardForBenchmarks.calls++;
  if (guardForBenchmarks.unguarded) return { value: fn() };
  const g = globalThis as unknown as Record<symbol, (() => R) | undefined>;
  g[GUARDED] = fn;
  try {
    return { value: guardScript.runInThisContext({ timeout: Math.max(1, Math.ceil(limitMs)) }) as R };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return undefined;
    throw error;
  } finally {
    g[GUARDED] = undefined;
  }
}

/** Rounds of dependent queries (a query that needs an earlier one's rows) one batch may take. */
const MAX_QUERY_ROUNDS = 32;
/** Runs again after a stop that HTTP waiting caused, per batch (each one keeps at least one more answer). */
const MAX_HTTP_RERUNS = 64;

/** A query this round has not got the rows of yet: the batch is undone, and run again once they are in. */
class QueryPending extends Error {
  override name = 'QueryPending';
}

type RunOptions = {
  state: StateAccess;
  http: HttpAccess;
  log: NonNullable<ChainOptions['log']>;
  sql?: SqlAccess;
  /** `f` runs once the run stands, before the log lines made after this call are told. */
  beforeLines: (f: () => void) => void;
};

/**
 * One synchronous run of the functions over a batch (or part of one), under the time limit,
 * with its state changes and log lines kept only if it finished — in rounds when it asks for
 * `ctx.sql` rows, and again (answers kept) when a stop came while it waited for `ctx.http`.
 * Functions see blocking `ctx.sql` and `ctx.http`, as sandboxed ones do.
 */
async function guardedRun<R>(
  state: StateAccess,
  timeoutMs: number,
  o: NativeExecutorOptions,
  position: { input: number },
  run: (x: RunOptions) => R,
  /** Whether a finished run stands (a section's: it made no promise); if not, it is taken back. */
  accept?: (owner: PromiseOwner) => boolean,
  /** What a query asked now sees besides committed state: the flush running sets its window's states. */
  scope: SqlScope = {},
): Promise<{ ok: true; value: R; owner: PromiseOwner; ms: number } | { ok: false }> {
  const answers = new Map<string, { rows: string } | { error: Error }>();
  // A run that runs again makes no HTTP request twice: the n-th call of a request gets the n-th answer.
  const responses = new Map<string, HttpAnswer[]>();
  // Extra time for a run stopped while it waited for HTTP (not the function's time).
  let httpAllowance = 0;
  let reruns = 0;
  // Time the batch's queries took: the function's time, as the guest's blocking query is in the sandbox.
  let sqlMs = 0;
  for (let round = 1; ; round++) {
    const limit = timeoutMs - sqlMs + httpAllowance;
    const calls = new Map<string, number>();
    // Time spent waiting for HTTP in this run (a wait cut by the limit is counted where it stopped).
    const waiting = { ms: 0, since: undefined as number | undefined, longest: 0 };
    const http: HttpAccess = (request) => {
      const id = JSON.stringify(request);
      const n = calls.get(id) ?? 0;
      calls.set(id, n + 1);
      const made = responses.get(id) ?? [];
      responses.set(id, made);
      const known = made[n];
      if (known) return known;
      waiting.since = performance.now();
      waiting.longest = Math.max(waiting.longest, httpWaitLimit(request));
      const answer = blockingHttp(request);
      waiting.ms += performance.now() - waiting.since;
      waiting.since = undefined;
      return (made[n] = answer);
    };
    const pending = new Map<string, [string, readonly unknown[], PendingWindowState[] | undefined]>();
    // Log lines, and (a section's) what to do before those that follow: told once the run stands.
    const lines: Array<Parameters<NonNullable<ChainOptions['log']>> | (() => void)> = [];
    const sql: SqlAccess | undefined = o.sql
      ? (query, params) => {
          // A flush's query sees its window: the same query from another window is another question.
          const windows = scope.pending?.map((p) => [p.state, p.window.start, p.window.end]);
          const id = JSON.stringify([query, params, windows ?? null]);
          const answer = answers.get(id);
          if (answer) {
            if ('error' in answer) throw answer.error;
            return JSON.parse(answer.rows) as SqlRow[];
          }
          if (round > MAX_QUERY_ROUNDS) throw new Error(`ctx.sql: more than ${MAX_QUERY_ROUNDS} queries, each needing the one before, in one batch`);
          pending.set(id, [query, params, scope.pending]);
          throw new QueryPending('ctx.sql: the query is running (the batch runs again with its rows)');
        }
      : undefined;
    const unguarded = guardForBenchmarks.unguarded;
    const point = unguarded ? keepAll(state) : savepoint(state);
    const owner = unguarded ? NO_PROMISES : watchPromises(position);
    const t0 = performance.now();
    const done = underLimit(limit, () =>
      run({ state: point.state, http, log: (...args) => void lines.push(args), beforeLines: (f) => void lines.push(f), ...(sql ? { sql } : {}) }),
    );
    const ms = performance.now() - t0;
    owner.stop();
    if (!done) {
      point.rollback();
      owner.drop();
      if (waiting.since !== undefined) waiting.ms += performance.now() - waiting.since;
      // Stopped while HTTP answers came in: not the function's time. Again, with them kept, and
      // room for the request that was cut to finish.
      if (waiting.ms > 0 && ms - waiting.ms < timeoutMs - sqlMs && reruns++ < MAX_HTTP_RERUNS) {
        httpAllowance = waiting.ms + waiting.longest;
        continue;
      }
      return { ok: false };
    }
    // Pending queries are known from `pending`, not from failures: a function may catch the throw.
    if (pending.size === 0) {
      if (accept && !accept(owner)) {
        point.rollback();
        owner.drop();
        return { ok: false };
      }
      point.release();
      if (o.log) {
        for (const line of lines) {
          if (typeof line === 'function') line();
          else o.log(...line);
        }
      }
      return { ok: true, value: done.value, owner, ms: ms - waiting.ms + sqlMs };
    }
    point.rollback();
    owner.drop();
    // The queries get the time the function has left after this round's own work; the store
    // makes it their statement_timeout, and the batch does not wait past it either way.
    const left = timeoutMs - sqlMs - (ms - waiting.ms);
    if (left <= 0) return { ok: false };
    const q0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), left)));
    const queries = Promise.all(
      [...pending].map(async ([id, [query, params, windows]]) => {
        try {
          answers.set(id, { rows: JSON.stringify(await o.sql!(query, [...params], { timeoutMs: left, ...(windows ? { pending: windows } : {}) })) });
        } catch (error) {
          answers.set(id, { error: error instanceof Error ? error : new Error(String(error)) });
        }
      }),
    );
    const outcome = await Promise.race([queries, late]).finally(() => clearTimeout(timer));
    sqlMs += performance.now() - q0;
    if (outcome === 'late' || sqlMs + (ms - waiting.ms) >= timeoutMs) return { ok: false };
  }
}

/** How long `blockingHttp` may wait for a request: every attempt's timeout, the backoffs, slack. */
function httpWaitLimit(r: HttpRequest): number {
  return (r.retries + 1) * r.timeoutMs + 2000 * r.retries + 5000;
}

/** A benchmark's baseline (`guardForBenchmarks.unguarded`): no undo, no promise watch, as before the limits. */
function keepAll(state: StateAccess): Savepoint {
  return { state, rollback: () => undefined, release: () => undefined };
}
const NO_PROMISES: PromiseOwner = { stop: () => undefined, drop: () => undefined, made: () => false, settle: async () => new Map() };

/** Where a run's state changes can be taken back to. */
interface Savepoint {
  state: StateAccess;
  rollback(): void;
  release(): void;
}

/** The unit's own state keeps its undo log (cheap, and nested in the loop's); any other gets a wrapper. */
function savepoint(state: StateAccess): Savepoint {
  if (state instanceof MemoryState) {
    const mark = state.savepoint();
    return { state, rollback: () => state.rollback(mark), release: () => state.release(mark) };
  }
  const undoable = new UndoableState(state);
  return { state: undoable, rollback: () => undoable.undo(), release: () => undoable.keep() };
}

/** A state with an undo list: a run that is taken back leaves no change behind. */
class UndoableState implements StateAccess {
  private readonly base: StateAccess;
  private readonly undoList: Array<[state: string, key: Key, window: WindowBounds | undefined, previous: unknown]> = [];
  readonly check?: StateAccess['check'];

  constructor(base: StateAccess) {
    this.base = base;
    if (base.check) this.check = (state, key, value) => base.check!(state, key, value);
  }

  get(state: string, key: Key, window?: WindowBounds): unknown {
    return this.base.get(state, key, window);
  }

  set(state: string, key: Key, value: unknown, window?: WindowBounds): void {
    this.undoList.push([state, key, window, this.base.get(state, key, window)]);
    this.base.set(state, key, value, window);
  }

  delete(state: string, key: Key, window?: WindowBounds): void {
    this.undoList.push([state, key, window, this.base.get(state, key, window)]);
    this.base.delete(state, key, window);
  }

  entries(state: string, window?: WindowBounds): Iterable<[Key, unknown]> {
    return this.base.entries(state, window);
  }

  lookup(state: string, key: Key): unknown {
    return this.base.lookup(state, key);
  }

  undo(): void {
    for (let i = this.undoList.length - 1; i >= 0; i--) {
      const [state, key, window, previous] = this.undoList[i]!;
      if (previous === undefined) this.base.delete(state, key, window);
      else this.base.set(state, key, previous, window);
    }
    this.undoList.length = 0;
  }

  keep(): void {
    this.undoList.length = 0;
  }
}
