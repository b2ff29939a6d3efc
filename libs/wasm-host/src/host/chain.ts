/**
 * A unit's steps run in a component, with the same contract as the engine's `runChain`:
 * decoded records and a `StateAccess` in, outputs and per-record failures out, state changes
 * applied back to the given `StateAccess`. One guest call per batch.
 *
 * When a call fails as a whole — a trap, or the time limit — the instance (or the worker) is
 * gone and nothing of the call counts: the batch is retried in halves until the record that
 * causes it is alone, and that record is dead-lettered. So a record fails only if processing it
 * alone failed; everything else of the batch goes through, in order, with its state changes.
 */
import {
  describeError,
  httpHostAllowed,
  withThrowSite,
  type HttpRequest,
  type ChainFailure,
  type ChainInput,
  type ChainOutput,
  type ChainResult,
  type ChainStep,
  type EngineRecord,
  type Key,
  type SqlRow,
  type StateAccess,
  type WindowBounds,
} from '@ssdk/engine';
import { decodeOutput, encodeInput, encodeJson, WindowTable, type DecodedOutput } from '../batch/host-codec.ts';
import type { SnapshotEntry, StepConfig } from '../batch/layout.ts';
import { GuestFunctionError } from './errors.ts';
import { performHttp } from './http-client.mjs';
import type { StackMapper } from './source-map.ts';
import type { TranspiledComponent } from './transpile.ts';
import type { CallHandlers, GuestCapabilities, GuestWorkers, LookupScope } from './workers.ts';

/** A step as the host knows it: the engine's `ChainStep` without the function (it is in the component). */
export type WasmStep = Pick<ChainStep, 'id' | 'operator'> & Partial<Pick<ChainStep, 'setsKey' | 'params' | 'states' | 'grants'>>;

export interface WasmChainOptions {
  /** The unit's steps, in order; each must be a function of the component. */
  steps: readonly WasmStep[];
  /** Per guest call (one batch), ms; a slower call is stopped and its batch split. @default 1000 */
  timeoutMs?: number;
  /** `ctx.log` lines, as the engine's `ChainOptions.log`. */
  log?: (operator: string, record: EngineRecord, args: unknown[]) => void;
  /**
   * States whose value for each record's key is sent in with the batch. @default the steps'
   * `states` when a step is `update-state` or `flush`, else none (reads then go to `lookup`).
   */
  prefetch?: readonly string[];
  /** Values may hold `Uint8Array`s (a `bytes` type): they cross tagged, at some cost. @default false */
  bytes?: boolean;
  /** Where granted `env` variables are read from. @default process.env */
  environment?: Record<string, string | undefined>;
  /**
   * Runs `ctx.sql` queries (read-only, over the dataflow's state tables). The guest blocks
   * while the query runs; the host thread does not. Without it, `ctx.sql` fails the record.
   */
  sql?: (query: string, params: unknown[], options?: SqlCallOptions) => Promise<SqlRow[]>;
}

export interface SqlCallOptions {
  timeoutMs?: number;
  /**
   * In a window's flush: the window's states as the unit holds them (not yet committed), by state
   * name; the query sees these rows for that window in place of the committed ones.
   */
  pending?: PendingWindowState[];
}

export interface PendingWindowState {
  state: string;
  window: WindowBounds;
  entries: Array<[Key, unknown]>;
}

export interface WasmChain {
  run(inputs: readonly ChainInput[], state: StateAccess, options?: { discardOutputs?: boolean }): Promise<ChainResult>;
  /** The window's flush step (the chain's `flush` step): its result, or its failure. */
  flush(window: WindowBounds, state: StateAccess): Promise<{ output?: EngineRecord; failure?: ChainFailure }>;
  close(): void;
  /** Guest calls made (including the retries of split batches), and keys the guest had to look up. */
  readonly stats: { calls: number; splits: number; timeouts: number; traps: number; lookups: number };
}

export interface ChainContext {
  workers: GuestWorkers;
  component: TranspiledComponent;
  mapper: StackMapper | undefined;
  /** A new instance id (made in its worker at its first call). */
  newInstance(): number;
  /** The guest is one of ssdk's JavaScript components: frames go without a value table. */
  javascript: boolean;
}

type Attempt = { ok: true; result: ChainResult } | { ok: false; code: GuestFunctionError['code']; reason: string };

export function createChainExecutor(ctx: ChainContext, opts: WasmChainOptions): WasmChain {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const flushStep = opts.steps.find((s) => s.operator === 'flush');
  // A chain that assigns keys itself changes state under keys only it knows: the host cannot
  // check those (the planner never puts one before a keyed step in a unit: a shuffle separates them).
  const keysMaySet = opts.steps.some((s) => s.setsKey || s.operator === 'assign-key');
  const steps = opts.steps.filter((s) => s.operator !== 'flush');
  const configs = steps.map(config);
  const stateful = opts.steps.some((s) => s.operator === 'update-state' || s.operator === 'flush');
  const prefetch = opts.prefetch ?? (stateful ? [...new Set(opts.steps.flatMap((s) => s.states ?? []))] : []);
  const unitOperator = steps.length === 1 ? steps[0]!.id : steps.map((s) => s.id).join('+');
  const stats = { calls: 0, splits: 0, timeouts: 0, traps: 0, lookups: 0 };
  const caps = grantedCapabilities(opts.steps, opts.environment ?? process.env);
  // The boundary for a guest that calls the import itself: the union of the steps' hosts (the glue checks each step's own).
  const httpHosts = [...new Set(opts.steps.flatMap((s) => s.grants?.http ?? []))];
  let closed = false;
  // One instance per StateAccess (a unit's partition), up to one per worker: the partitions of
  // a unit run on different workers at the same time. A call carries all the state it needs,
  // so any of the chain's instances can serve any partition.
  const instances: number[] = [];
  const byState = new WeakMap<StateAccess, number>();
  let reuse = 0;
  const instanceFor = (state: StateAccess): number => {
    let inst = byState.get(state);
    if (inst === undefined) {
      inst = instances.length < ctx.workers.capacity ? instances[instances.push(ctx.newInstance()) - 1]! : instances[reuse++ % instances.length]!;
      byState.set(state, inst);
    }
    return inst;
  };

  // Keys outside a window that the guest read (a `lookup` round trip) or wrote, per prefetched
  // state: a chain that assigns keys itself (the host cannot know them before the call) gets
  // them in the next batches' snapshot, so a recurring key costs no round trip.
  const recent = new Map<string, Map<string, Key>>(prefetch.map((name) => [name, new Map()]));
  const remember = (name: string, key: Key): void => {
    const keys = recent.get(name);
    if (!keys) return;
    if (keys.size >= RECENT_KEYS) keys.clear();
    keys.set(keyId(-1, key), key);
  };

  async function call(fn: 'process' | 'flush', frame: Uint8Array, state: StateAccess, window?: WindowBounds, pending?: PendingWindowState[]) {
    if (closed) throw new Error('this wasm chain is closed');
    stats.calls++;
    const handlers: CallHandlers = {
      lookup: (name, keys, scope) => keys.map((k) => {
        stats.lookups++;
        const key = JSON.parse(k) as Key;
        if (scope.tag === 'current' && !scope.window) remember(name, key);
        const v = read(state, name, key, scope);
        return v === undefined ? null : encodeJson(v);
      }),
      log: (_level, operator, message) => opts.log?.(operator, { key: null, value: null, timestamp: 0 }, [message]),
      sql: (query, params, timeoutMs) => answerSql(opts.sql, query, params, timeoutMs, pending),
      http: (request) => answerHttp(httpHosts, request),
    };
    const outcome = await ctx.workers.call(
      { component: ctx.component, instance: instanceFor(state), fn, frame, ...(window ? { window: [window.start, window.end] } : {}), ...(caps ? { caps } : {}) },
      handlers,
      timeoutMs,
    );
    if (outcome.kind === 'timeout') stats.timeouts++;
    if (outcome.kind === 'trap') stats.traps++;
    return outcome;
  }

  async function attempt(inputs: readonly ChainInput[], state: StateAccess, discardOutputs: boolean): Promise<Attempt> {
    const windows = new WindowTable();
    const frame = encodeInput(inputs, { steps: configs, windows, snapshot: snapshot(inputs, state, prefetch, windows, recent), discardOutputs, table: !ctx.javascript, bytes: opts.bytes ?? false });
    const outcome = await call('process', frame, state);
    if (outcome.kind === 'timeout') return { ok: false, code: 'function-timeout', reason: `timed out after ${timeoutMs} ms (function-timeout)` };
    if (outcome.kind === 'trap') return { ok: false, code: 'function-trapped', reason: `trapped: ${outcome.message}` };
    const decoded = decodeOutput(outcome.out);
    // Key ownership is the host's: a change for a key the batch does not hold (a forged one)
    // fails the attempt, and the halving below dead-letters the record it comes with.
    const foreign = keysMaySet ? undefined : foreignChange(decoded, new Set(inputs.map((r) => ownedKey(r.key))), windows.objects.length);
    if (foreign) return { ok: false, code: 'state-key-not-owned', reason: foreign };
    // A write the state cannot store fails the call as a whole, like a trap: the batch is
    // split until the record that made it is alone, and that record is dead-lettered.
    const refused = refusedChange(decoded, state);
    if (refused !== undefined) return { ok: false, code: 'function-threw', reason: refused };
    applyChanges(decoded, state, windows.objects);
    for (const [name, key, w] of decoded.meta.d ?? []) if (w < 0) remember(name, key);
    const result = toResult(decoded, inputs);
    emitLogs(decoded, inputs);
    return { ok: true, result };
  }

  async function runSplit(inputs: readonly ChainInput[], offset: number, state: StateAccess, discard: boolean, into: ChainResult): Promise<void> {
    const a = await attempt(inputs, state, discard);
    if (a.ok) {
      for (const o of a.result.outputs) into.outputs.push(offset ? { ...o, input: o.input + offset } : o);
      for (const f of a.result.failures) into.failures.push(offset ? { ...f, input: f.input + offset } : f);
      return;
    }
    if (inputs.length === 1) {
      const error = new GuestFunctionError(a.code, `${unitOperator}: ${a.reason}`, { operator: unitOperator, input: offset });
      into.failures.push({ input: offset, operator: unitOperator, reason: a.reason, error, record: strip(inputs[0]!) });
      return;
    }
    stats.splits++;
    const mid = inputs.length >> 1;
    await runSplit(inputs.slice(0, mid), offset, state, discard, into);
    await runSplit(inputs.slice(mid), offset + mid, state, discard, into);
  }

  function toResult(d: DecodedOutput, inputs: readonly ChainInput[]): ChainResult {
    const outputs: ChainOutput[] = new Array(d.rows.length);
    for (let i = 0; i < d.rows.length; i++) {
      const row = d.rows[i]!;
      const from = inputs[row.input];
      if (!from) throw new Error(`the guest named input ${row.input} of ${inputs.length}`);
      const out: ChainOutput = { key: from.key, value: row.unchanged ? from.value : row.value, timestamp: from.timestamp, input: row.input };
      if (from.headers) out.headers = from.headers;
      outputs[i] = out;
    }
    const changed = d.meta.o ?? [];
    for (let i = 0; i + 2 < changed.length; i += 3) {
      const o = outputs[changed[i] as number];
      if (o) {
        o.key = changed[i + 1] as Key | null;
        o.timestamp = changed[i + 2] as number;
      }
    }
    const failures = (d.meta.f ?? []).map(([input, operator, reason, stack, key, timestamp, value]) => failure(input, operator || unitOperator, reason, stack, { key, value, timestamp }));
    return { outputs, failures };
  }

  function failure(input: number, operator: string, reason: string, stack: string | null, record: EngineRecord): ChainFailure {
    const location = stack ? ctx.mapper?.locate(stack) : undefined;
    const located = location ? withThrowSite(reason, location) : reason;
    const error = new GuestFunctionError('function-threw', `${operator}: ${located}`, { operator, input, location, guestStack: stack ?? undefined });
    return { input, operator, reason: located, error, record };
  }

  function emitLogs(d: DecodedOutput, inputs: readonly ChainInput[]): void {
    if (!opts.log || !d.meta.l) return;
    for (const [input, operator, message] of d.meta.l) opts.log(operator || unitOperator, inputs[input] ?? { key: null, value: null, timestamp: 0 }, [message]);
  }

  return {
    stats,
    async run(inputs, state, options = {}) {
      const into: ChainResult = { outputs: [], failures: [] };
      if (inputs.length === 0 || steps.length === 0) {
        if (steps.length === 0 && !options.discardOutputs) inputs.forEach((r, i) => into.outputs.push({ ...strip(r), input: i }));
        return into;
      }
      await runSplit(inputs, 0, state, options.discardOutputs ?? false, into);
      return into;
    },
    async flush(window, state) {
      if (!flushStep) throw new Error('this chain has no flush step');
      const windows = new WindowTable();
      windows.indexOf(window);
      const entries: Record<string, Array<[Key, unknown]>> = {};
      for (const name of flushStep.states ?? []) {
        const list = [...state.entries(name, window)];
        if (list.length) entries[name] = list;
      }
      const frame = encodeInput([], { steps: [config(flushStep)], windows, entries, bytes: opts.bytes ?? false });
      const record: EngineRecord = { key: null, value: null, timestamp: window.end - 1 };
      // The window's own state is still in memory (committed with the flush's batch): ctx.sql sees it.
      const pending = (flushStep.states ?? []).map((name) => ({ state: name, window, entries: entries[name] ?? [] }));
      const outcome = await call('flush', frame, state, window, pending);
      if (outcome.kind !== 'ok') {
        const code = outcome.kind === 'timeout' ? 'function-timeout' : 'function-trapped';
        const reason = outcome.kind === 'timeout' ? `timed out after ${timeoutMs} ms (function-timeout)` : `trapped: ${outcome.message}`;
        return { failure: { input: -1, operator: flushStep.id, reason, error: new GuestFunctionError(code, `${flushStep.id}: ${reason}`, { operator: flushStep.id, input: -1 }), record } };
      }
      const decoded = decodeOutput(outcome.out);
      const owned = new Set(Object.values(entries).flatMap((list) => list.map(([key]) => ownedKey(key))));
      const foreign = foreignChange(decoded, owned, windows.objects.length);
      if (foreign) {
        return { failure: { input: -1, operator: flushStep.id, reason: foreign, error: new GuestFunctionError('state-key-not-owned', `${flushStep.id}: ${foreign}`, { operator: flushStep.id, input: -1 }), record } };
      }
      applyChanges(decoded, state, windows.objects);
      emitLogs(decoded, []);
      const f = decoded.meta.f?.[0];
      if (f) return { failure: failure(-1, f[1] || flushStep.id, f[2], f[3], record) };
      const row = decoded.rows[0];
      return row ? { output: { ...record, value: row.value } } : { failure: { input: -1, operator: flushStep.id, reason: 'flush returned nothing', record } };
    },
    close() {
      if (closed) return;
      closed = true;
      for (const inst of instances) ctx.workers.drop(inst);
    },
  };
}

function config(s: WasmStep): StepConfig {
  const c: StepConfig = [s.id, s.operator, s.setsKey ? 1 : 0, s.params && Object.keys(s.params).length ? s.params : null, s.states?.length ? [...s.states] : null];
  const g = s.grants;
  if (g && (g.clock || g.random || g.env?.length || g.http?.length)) {
    c.push({ ...(g.clock ? { c: 1 } : {}), ...(g.random ? { r: 1 } : {}), ...(g.env?.length ? { e: [...g.env] } : {}), ...(g.http?.length ? { h: [...g.http] } : {}) });
  }
  return c;
}

/**
 * What the host answers for this chain's guest: the union of its steps' grants, with the
 * granted variables' values read now. The guest's glue checks each step's own grants; this is
 * the boundary for code that calls the imports itself.
 */
export function grantedCapabilities(steps: readonly WasmStep[], environment: Record<string, string | undefined>): GuestCapabilities | undefined {
  const caps: GuestCapabilities = {};
  for (const s of steps) {
    if (s.grants?.clock) caps.clock = true;
    if (s.grants?.random) caps.random = true;
    for (const name of s.grants?.env ?? []) (caps.env ??= {})[name] = environment[name] ?? null;
    if (s.grants?.http?.length) caps.http = true;
  }
  return caps.clock || caps.random || caps.env || caps.http ? caps : undefined;
}

/** The guest's `http` answer, as JSON: the response, or why there is none (its record's dead-letter reason). */
async function answerHttp(hosts: readonly string[], request: string): Promise<string> {
  let r: HttpRequest;
  try {
    r = JSON.parse(request) as HttpRequest;
    const url = new URL(r.url);
    if (!httpHostAllowed(url, hosts)) return JSON.stringify({ kind: 'refused', error: `ctx.http: host ${url.host} is not in this chain's http grants` });
  } catch {
    return JSON.stringify({ kind: 'invalid', error: 'ctx.http: the request is not one the host can read' });
  }
  return JSON.stringify(await performHttp(r));
}

/** The guest's `sql` answer, as JSON: the rows, or the reason the query failed (its record's dead-letter reason). */
async function answerSql(run: WasmChainOptions['sql'], query: string, params: string, timeoutMs: number, pending: PendingWindowState[] | undefined): Promise<string> {
  if (!run) return JSON.stringify({ error: 'ctx.sql is not available here: this run keeps its state in memory (`ssdk test`, `ssdk run --ephemeral`), with no tables to query' });
  try {
    const rows = await run(query, JSON.parse(params) as unknown[], { timeoutMs, ...(pending ? { pending } : {}) });
    return JSON.stringify({ rows });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The state store's errors already say `ctx.sql …`.
    return JSON.stringify({ error: message.startsWith('ctx.sql') ? message : `ctx.sql failed: ${message}` });
  }
}

function strip(r: ChainInput): EngineRecord {
  const out: EngineRecord = { key: r.key, value: r.value, timestamp: r.timestamp };
  if (r.headers) out.headers = r.headers;
  return out;
}

/** Most keys remembered per state for the next snapshots (past it, the memory starts again). */
const RECENT_KEYS = 4096;

const keyId = (window: number, key: Key): string => `${window}\u0000${typeof key}${String(key)}`;

/** The current value of every prefetched state for each record's (key, window), and for the recent keys. */
function snapshot(inputs: readonly ChainInput[], state: StateAccess, names: readonly string[], windows: WindowTable, recent: Map<string, Map<string, Key>>): SnapshotEntry[] | undefined {
  if (!names.length) return undefined;
  const out: SnapshotEntry[] = [];
  const seen = new Set<string>();
  const add = (key: Key, w: number, window: WindowBounds | undefined) => {
    for (const name of names) {
      const v = state.get(name, key, window);
      out.push(v === undefined ? [name, key, w] : [name, key, w, v]);
    }
  };
  for (const r of inputs) {
    if (r.key === null || r.key === undefined) continue;
    const w = windows.indexOf(r.window);
    const id = keyId(w, r.key);
    if (seen.has(id)) continue;
    seen.add(id);
    add(r.key, w, r.window);
  }
  for (const [name, keys] of recent) {
    for (const [id, key] of keys) {
      if (seen.has(id)) continue;
      const v = state.get(name, key);
      out.push(v === undefined ? [name, key, -1] : [name, key, -1, v]);
    }
  }
  return out;
}

function read(state: StateAccess, name: string, key: Key, scope: LookupScope): unknown {
  if (scope.tag === 'committed') return state.lookup(name, key);
  return state.get(name, key, scope.window ? { start: scope.window[0], end: scope.window[1] } : undefined);
}

/** Why the state refuses one of the call's writes, or undefined when it takes them all. */
function refusedChange(d: DecodedOutput, state: StateAccess): string | undefined {
  if (!state.check) return undefined;
  for (const c of d.meta.d ?? []) {
    try {
      state.check(c[0], c[1], c.length > 3 ? c[3] : undefined);
    } catch (err) {
      return describeError(err);
    }
  }
  return undefined;
}

const ownedKey = (key: Key | null | undefined): string => JSON.stringify(key ?? null);

/** Why a state change of the guest is not its to make (a key outside `owned`, a window it was not given), or undefined. */
function foreignChange(d: DecodedOutput, owned: ReadonlySet<string>, windowCount: number): string | undefined {
  for (const [name, key, w] of d.meta.d ?? []) {
    if (!owned.has(ownedKey(key))) {
      return `changed state \`${name}\` of key ${JSON.stringify(key)}, which is not a key of its batch: a function changes the state of its own record's key only (the host refused the change)`;
    }
    if (w >= windowCount) return `changed state \`${name}\` of a window the host did not give it (the host refused the change)`;
  }
  return undefined;
}

function applyChanges(d: DecodedOutput, state: StateAccess, windows: readonly WindowBounds[]): void {
  for (const c of d.meta.d ?? []) {
    const [name, key, w] = c;
    const window = w >= 0 ? windows[w] : undefined;
    if (c.length > 3) state.set(name, key, c[3], window);
    else state.delete(name, key, window);
  }
}

