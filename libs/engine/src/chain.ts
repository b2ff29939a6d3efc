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
import type { WindowBounds } from './windows.ts';

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
}

export interface FunctionContext {
  key(): Key | undefined;
  window(): WindowBounds;
  param(name: string): string | undefined;
  log(...args: unknown[]): void;
  state<V = unknown>(name: string): StateHandle<V>;
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
  /** States the function may name in `ctx.state()`; others are an error. */
  states?: readonly string[];
}

export interface ChainOptions {
  state?: StateAccess;
  /** The records' way ends here (a window's state): run the steps, keep no outputs. */
  discardOutputs?: boolean;
  log?: (operator: string, record: EngineRecord, args: unknown[]) => void;
}

/** A function broke its contract (wrong return type, unknown state): reported like a throw. */
export class FunctionContractError extends Error {
  override name = 'FunctionContractError';
}

export function runChain(steps: readonly ChainStep[], inputs: readonly ChainInput[], options: ChainOptions = {}): ChainResult {
  const outputs: ChainOutput[] = [];
  const failures: ChainFailure[] = [];
  const ctx = new RecordContext(options);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    ctx.currentWindow = input.window;
    runFrom(steps, 0, input, i, ctx, outputs, failures);
    if (options.discardOutputs) outputs.length = 0;
  }
  return { outputs, failures };
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
    return { failure: { input: -1, operator: step.id, reason: describeError(error), error, record: ctx.current } };
  }
}

function runFrom(
  steps: readonly ChainStep[],
  at: number,
  record: EngineRecord,
  input: number,
  ctx: RecordContext,
  outputs: ChainOutput[],
  failures: ChainFailure[],
): void {
  let current = record;
  for (let s = at; s < steps.length; s++) {
    const step = steps[s]!;
    ctx.current = current;
    ctx.step = step;
    try {
      const result = call(step, current, ctx);
      const next = applyResult(step, current, result);
      if (next === DROP) return;
      if (Array.isArray(next)) {
        // flat-map: each item continues through the rest of the chain on its own.
        for (const item of next as EngineRecord[]) runFrom(steps, s + 1, item, input, ctx, outputs, failures);
        return;
      }
      current = next as EngineRecord;
    } catch (error) {
      failures.push({ input, operator: step.id, reason: describeError(error), error, record: asRecord(current) });
      return;
    }
  }
  if (current instanceof Derived) {
    current.input = input;
    outputs.push(current);
  } else {
    outputs.push(new Derived(current.key, current.value, current.timestamp, current.headers, input));
  }
}

/**
 * A record a step made. One class (one shape) for every record the chain creates, so the last
 * step's record can become the output as it is instead of being copied again per record.
 */
class Derived implements ChainOutput {
  key: Key | null;
  value: unknown;
  timestamp: number;
  headers: Record<string, string> | undefined;
  input: number;
  constructor(key: Key | null, value: unknown, timestamp: number, headers: Record<string, string> | undefined, input: number) {
    this.key = key;
    this.value = value;
    this.timestamp = timestamp;
    this.headers = headers;
    this.input = input;
  }
}

/** A failing record as the step saw it: the record alone, without the chain's bookkeeping. */
function asRecord(r: EngineRecord): EngineRecord {
  if (!(r instanceof Derived)) return r;
  return r.headers ? { key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers } : { key: r.key, value: r.value, timestamp: r.timestamp };
}

const DROP = Symbol('drop');

/** What a step's result means for the record: the next record, several (flat-map), or DROP. */
function applyResult(step: ChainStep, record: EngineRecord, result: unknown): EngineRecord | EngineRecord[] | typeof DROP {
  switch (step.operator) {
    case 'filter':
      if (typeof result !== 'boolean') throw new FunctionContractError(`filter must return a boolean, got ${describeValue(result)}`);
      return result ? record : DROP;
    case 'map':
      if (result === undefined) throw new FunctionContractError('map returned nothing (use filter-map to drop records)');
      return withResult(step, record, result);
    case 'filter-map':
      return result === undefined || result === null ? DROP : withResult(step, record, result);
    case 'flat-map':
      if (!Array.isArray(result)) throw new FunctionContractError(`flat-map must return an array, got ${describeValue(result)}`);
      return result.map((item) => withResult(step, record, item));
    case 'assign-key':
      if (!isKey(result)) throw new FunctionContractError(`assign-key must return a string, number or boolean, got ${describeValue(result)}`);
      return new Derived(result, record.value, record.timestamp, record.headers, -1);
    case 'assign-timestamp':
      if (typeof result !== 'number' || !Number.isFinite(result)) {
        throw new FunctionContractError(`assign-timestamp must return epoch milliseconds (a finite number), got ${describeValue(result)}`);
      }
      return new Derived(record.key, record.value, Math.trunc(result), record.headers, -1);
    case 'update-state':
      // A side effect on the current key's state; the record goes on unchanged.
      return record;
    case 'flush':
      throw new FunctionContractError('flush runs when a window closes, not per record');
    default: {
      const never: never = step.operator;
      return never;
    }
  }
}

function call(step: ChainStep, record: EngineRecord, ctx: RecordContext): unknown {
  if (step.operator === 'assign-timestamp') return step.fn(record.value, record.timestamp, ctx);
  return step.fn(record.value, ctx);
}

function withResult(step: ChainStep, record: EngineRecord, result: unknown): EngineRecord {
  if (step.setsKey && result !== null && typeof result === 'object' && 'key' in result && 'value' in result) {
    const kv = result as { key: unknown; value: unknown };
    if (!isKey(kv.key) && kv.key !== null) {
      throw new FunctionContractError(`a key-value result needs a string, number or boolean key, got ${describeValue(kv.key)}`);
    }
    return new Derived(kv.key as Key | null, kv.value, record.timestamp, record.headers, -1);
  }
  return new Derived(record.key, result, record.timestamp, record.headers, -1);
}

function isKey(v: unknown): v is Key {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
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
  currentWindow: WindowBounds | undefined;
  step: ChainStep | undefined;
  private readonly options: ChainOptions;
  private readonly handles = new Map<string, StateHandle<unknown>>();

  constructor(options: ChainOptions) {
    this.options = options;
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

  state<V = unknown>(name: string): StateHandle<V> {
    const allowed = this.step?.states;
    if (allowed && !allowed.includes(name)) {
      throw new FunctionContractError(`unknown state \`${name}\`${allowed.length ? `: this service has ${allowed.map((s) => `\`${s}\``).join(', ')}` : ''}`);
    }
    let h = this.handles.get(name);
    if (!h) {
      h = this.makeHandle(name);
      this.handles.set(name, h);
    }
    return h as StateHandle<V>;
  }

  private makeHandle(name: string): StateHandle<unknown> {
    const store = (): StateAccess => {
      if (!this.options.state) throw new FunctionContractError('this operator has no state');
      return this.options.state;
    };
    const win = () => this.currentWindow;
    const currentKey = (): Key => {
      const k = this.current.key;
      if (k === null) throw new FunctionContractError(`state \`${name}\` needs a key: use it after assign-key, or use lookup(key)`);
      return k;
    };
    return {
      get: () => store().get(name, currentKey(), win()),
      set: (value) => store().set(name, currentKey(), value, win()),
      update(fn) {
        const next = fn(store().get(name, currentKey(), win()));
        store().set(name, currentKey(), next, win());
        return next;
      },
      increment(by = 1) {
        const prev = store().get(name, currentKey(), win());
        if (prev !== undefined && typeof prev !== 'number') throw new FunctionContractError(`increment on state \`${name}\` whose value is not a number`);
        const next = (prev ?? 0) + by;
        store().set(name, currentKey(), next, win());
        return next;
      },
      delete: () => store().delete(name, currentKey(), win()),
      lookup: (key) => store().lookup(name, key),
      entries: () => store().entries(name, win()),
    };
  }
}
