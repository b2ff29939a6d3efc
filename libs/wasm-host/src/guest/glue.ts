/**
 * The guest side of a sandboxed service: bundled by `ssdk build` into the component with the
 * engine's chain executor and the user's functions. One `process` call runs a batch through
 * the steps the host names; one `flush` call runs a window's flush. Operator semantics are the
 * engine's own `runChain` / `runFlush`; this file only moves bytes and state.
 *
 * Written for an interpreter (StarlingMonkey has no JIT inside wasm): a batch is decoded with
 * one native JSON.parse per region and encoded with one JSON.stringify; records whose value
 * only went through filters go back as table rows, with no JSON at all.
 */
import { env as hostEnv, http as hostHttp, lookup as hostLookup, now as hostNow, randomBytes as hostRandomBytes, sql as hostSql } from 'ssdk:dataflow/host';
import {
  FunctionContractError,
  GrantDeniedError,
  type Capabilities,
  type StepGrants,
  runChain,
  runFlush,
  type ChainInput,
  type ChainStep,
  type EngineRecord,
  type Key,
  type StateAccess,
  type WindowBounds,
  type HttpAnswer,
  type HttpRequest,
} from '@ssdk/engine';
import {
  BATCH_VERSION,
  HEADER_BYTES,
  H_COUNT,
  H_META,
  H_META_LEN,
  H_VALUES,
  H_VALUES_LEN,
  H_VERSION,
  ROW_BYTES,
  UNCHANGED,
  readU32,
  writeU32,
  type InputMeta,
  type OutputMeta,
  type StateChangeEntry,
  type StepConfig,
} from '../batch/layout.ts';

export type UserFunction = (...args: unknown[]) => unknown;

// Grants: the clock, randomness and the environment reach a function only through the host's
// imports, which the host answers only for granted steps. `Date`, `Math.random` and
// `crypto.getRandomValues` are replaced so a function without the grant fails with a clear
// reason instead of reading StarlingMonkey's build-time clock or its fixed random sequence.
// While the component initialises (at build time) they keep their built-in behaviour.
let inCall = false;
/** The grants of the step running now (a granted step's function is wrapped to set them). */
let granted: StepGrants | undefined;

function grantedNow(what: string): number {
  if (!granted?.clock) throw new GrantDeniedError(what, 'clock', undefined, 'clock');
  return Number(hostNow());
}

function grantedBytes(what: string, n: number): Uint8Array {
  if (!granted?.random) throw new GrantDeniedError(what, 'random', undefined, 'random');
  return hostRandomBytes(n);
}

function randomFloat(bytes: Uint8Array): number {
  // 53 random bits → [0, 1), like V8's Math.random.
  let hi = 0;
  for (let i = 0; i < 3; i++) hi = hi * 256 + bytes[i]!;
  hi = Math.floor(hi / 8); // 21 bits
  let lo = 0;
  for (let i = 3; i < 7; i++) lo = lo * 256 + bytes[i]!;
  return (hi * 2 ** 32 + lo) / 2 ** 53;
}

/** `ctx.sql`: the host runs the query while this call waits; its error fails the record. */
function sql(query: string, params: readonly unknown[]): Array<Record<string, unknown>> {
  const answer = JSON.parse(hostSql(query, JSON.stringify(params))) as { rows?: Array<Record<string, unknown>>; error?: string };
  if (answer.error !== undefined) throw new Error(answer.error);
  return answer.rows ?? [];
}

/** `ctx.http`: the host makes the request while this call waits (the engine checked the step's grant). */
function http(request: HttpRequest): HttpAnswer {
  return JSON.parse(hostHttp(JSON.stringify(request))) as HttpAnswer;
}

const capabilities: Capabilities = {
  now: () => Number(hostNow()),
  random: () => randomFloat(hostRandomBytes(7)),
  env: (name) => hostEnv(name) ?? undefined,
};

function installGuards(): void {
  const g = globalThis as unknown as { Date: DateConstructor; crypto?: { getRandomValues?: <T extends ArrayBufferView | null>(a: T) => T; randomUUID?: () => string } };
  const BuiltinDate = g.Date;
  const builtinNow = BuiltinDate.now.bind(BuiltinDate);
  const now = (what: string) => (inCall ? grantedNow(what) : builtinNow());
  BuiltinDate.now = () => now('Date.now()');
  g.Date = new Proxy(BuiltinDate, {
    construct: (target, args, newTarget) => Reflect.construct(target, args.length ? args : [now('new Date()')], newTarget) as object,
    apply: (target) => new target(now('Date()')).toString(),
  });
  const builtinRandom = Math.random;
  Math.random = () => (inCall ? randomFloat(grantedBytes('Math.random()', 7)) : builtinRandom());
  const crypto = g.crypto;
  if (crypto?.getRandomValues) {
    const builtinFill = crypto.getRandomValues.bind(crypto);
    crypto.getRandomValues = <T extends ArrayBufferView | null>(a: T): T => {
      if (!inCall || !a) return builtinFill(a);
      const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      view.set(grantedBytes('crypto.getRandomValues()', view.length));
      return a;
    };
  }
  if (crypto?.randomUUID) {
    const builtinUuid = crypto.randomUUID.bind(crypto);
    crypto.randomUUID = () => {
      if (!inCall) return builtinUuid();
      const b = grantedBytes('crypto.randomUUID()', 16);
      b[6] = (b[6]! & 0x0f) | 0x40;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
  }
}
installGuards();

function withGrants(fn: UserFunction, grants: StepGrants): UserFunction {
  return (...args) => {
    const outer = granted;
    granted = grants;
    try {
      return fn(...args);
    } finally {
      granted = outer;
    }
  };
}

function toGrants(c: NonNullable<StepConfig[5]>): StepGrants {
  const g: StepGrants = {};
  if (c.c) g.clock = true;
  if (c.r) g.random = true;
  if (c.e?.length) g.env = c.e;
  if (c.h?.length) g.http = c.h;
  return g;
}

const te = new TextEncoder();
const td = new TextDecoder();
const ABSENT = Symbol('absent');
/** Steps after which a record may still carry its input value object untouched. */
const VALUE_KEEPING = new Set(['filter', 'assign-key', 'assign-timestamp', 'update-state']);

/** `functions`: the service's user functions by operator id. */
export function makeGuest(functions: Record<string, UserFunction>) {
  const stepCache = new Map<string, ChainStep[]>();

  function stepsOf(configs: StepConfig[]): ChainStep[] {
    const cacheKey = JSON.stringify(configs);
    let steps = stepCache.get(cacheKey);
    if (steps) return steps;
    steps = configs.map(([id, operator, setsKey, params, states, grantConfig]) => {
      const fn = functions[id];
      if (typeof fn !== 'function') throw new Error(`this component has no function for step \`${id}\``);
      const grants = grantConfig ? toGrants(grantConfig) : undefined;
      const step: ChainStep = { id, operator: operator as ChainStep['operator'], fn: grants ? withGrants(fn, grants) : fn };
      if (setsKey) step.setsKey = true;
      if (params) step.params = params;
      if (states) step.states = states;
      if (grants) step.grants = grants;
      return step;
    });
    stepCache.set(cacheKey, steps);
    return steps;
  }

  function process(input: Uint8Array): Uint8Array {
    const { meta, values, n } = decodeInput(input);
    const steps = stepsOf(meta.s);
    const windows = internWindows(meta.w);
    const keys = meta.k;
    const times = meta.t ?? [];
    const wi = meta.wi;
    const inputs: ChainInput[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const rec: ChainInput = { key: keys ? (keys[i] ?? null) : null, value: values[i], timestamp: times[i] ?? 0 };
      if (wi && wi[i]! >= 0) rec.window = windows[wi[i]!];
      inputs[i] = rec;
    }
    const state = new GuestState(meta, windows);
    const logs: OutputMeta['l'] = [];
    const log = logger(logs, inputs);
    inCall = true;
    let result: ReturnType<typeof runChain>;
    try {
      result = runChain(steps, inputs, { state, log: log.fn, capabilities, sql, http, ...(meta.x ? { discardOutputs: true } : {}) });
    } finally {
      inCall = false;
      log.done();
    }
    const keepsValues = steps.every((s) => VALUE_KEEPING.has(s.operator));
    const out: OutputMeta = {};
    // Indexed loops and a typed table: this runs once per output in an interpreter.
    const outputs = result.outputs;
    const m = outputs.length;
    const rows = new Uint32Array(m * 2);
    const fresh: unknown[] = [];
    const changed: NonNullable<OutputMeta['o']> = [];
    for (let i = 0; i < m; i++) {
      const o = outputs[i]!;
      const from = inputs[o.input]!;
      rows[2 * i] = o.input;
      if (keepsValues && o.value === from.value) rows[2 * i + 1] = UNCHANGED;
      else rows[2 * i + 1] = fresh.push(o.value) - 1;
      if (o.key !== from.key || o.timestamp !== from.timestamp) changed.push(i, o.key, o.timestamp);
    }
    if (changed.length) out.o = changed;
    const failures = result.failures.map((f) => failureEntry(f.input, f.operator, f.error, f.reason, f.record));
    if (failures.length) out.f = failures;
    const d = state.changeList();
    if (d.length) out.d = d;
    if (logs.length) out.l = logs;
    return encodeOutput(rows, fresh, out, inputs);
  }

  function flush(_start: bigint, _end: bigint, input: Uint8Array): Uint8Array {
    const { meta } = decodeInput(input);
    const steps = stepsOf(meta.s);
    const windows = internWindows(meta.w);
    const window = windows[0];
    if (!window || steps.length !== 1) throw new Error('flush needs one window and one step');
    const state = new GuestState(meta, windows);
    const logs: OutputMeta['l'] = [];
    const log = logger(logs, []);
    inCall = true;
    let r: ReturnType<typeof runFlush>;
    try {
      r = runFlush(steps[0]!, window, { state, log: log.fn, capabilities, sql, http });
    } finally {
      inCall = false;
      log.done();
    }
    const out: OutputMeta = {};
    const fresh: unknown[] = [];
    const rows = new Uint32Array(r.output ? 2 : 0);
    if (r.output) rows[1] = fresh.push(r.output.value) - 1;
    if (r.failure) out.f = [failureEntry(-1, r.failure.operator, r.failure.error, r.failure.reason, r.failure.record)];
    const d = state.changeList();
    if (d.length) out.d = d;
    if (logs.length) out.l = logs;
    return encodeOutput(rows, fresh, out, []);
  }

  return { process, flush };
}

function decodeInput(b: Uint8Array): { meta: InputMeta; values: unknown[]; n: number } {
  if (readU32(b, H_VERSION) !== BATCH_VERSION) throw new Error(`unknown batch version ${readU32(b, H_VERSION)}`);
  const n = readU32(b, H_COUNT);
  const va = readU32(b, H_VALUES);
  const vl = readU32(b, H_VALUES_LEN);
  const ma = readU32(b, H_META);
  const ml = readU32(b, H_META_LEN);
  const values = vl ? (parse(td.decode(b.subarray(va, va + vl))) as unknown[]) : [];
  const meta = (ml ? parse(td.decode(b.subarray(ma, ma + ml))) : { s: [] }) as InputMeta;
  return { meta, values, n };
}

// `bytes` values cross as {"$bytes": base64} (see the host codec); functions see Uint8Arrays.
const BYTES_TAG = '{"$bytes":';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function parse(text: string): unknown {
  return text.includes(BYTES_TAG) ? JSON.parse(text, reviveBytes) : JSON.parse(text);
}

function reviveBytes(_k: string, v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const s = o['$bytes'];
  if (typeof s !== 'string' || Object.keys(o).length !== 1) return v;
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    acc = (acc << 6) | B64.indexOf(clean[i]!);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 255;
    }
  }
  return out;
}

(Uint8Array.prototype as unknown as { toJSON: () => unknown }).toJSON = function toJSON(this: Uint8Array) {
  let s = '';
  for (let i = 0; i < this.length; i += 3) {
    const a = this[i]!;
    const b = this[i + 1];
    const c = this[i + 2];
    s += B64[a >> 2]! + B64[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    s += b === undefined ? '=' : B64[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    s += c === undefined ? '=' : B64[c & 63]!;
  }
  return { $bytes: s };
};

function internWindows(w: InputMeta['w']): WindowBounds[] {
  return w ? w.map(([start, end]) => ({ start, end })) : [];
}

function encodeOutput(rowsIn: Uint32Array, fresh: unknown[], meta: OutputMeta, inputs: ChainInput[]): Uint8Array {
  let rows = rowsIn;
  let valuesText = '';
  if (fresh.length) {
    try {
      valuesText = JSON.stringify(fresh);
    } catch {
      // Some value is not JSON (a BigInt, a cycle): find it, fail its record, keep the rest.
      const salvaged = salvage(rows, fresh, meta, inputs);
      rows = salvaged.rows;
      valuesText = salvaged.text;
    }
  }
  const values = valuesText ? te.encode(valuesText) : new Uint8Array(0);
  const metaText = meta.o || meta.f || meta.d || meta.l ? JSON.stringify(meta) : '';
  const metaBytes = metaText ? te.encode(metaText) : new Uint8Array(0);
  const count = rows.length >> 1;
  const tableEnd = HEADER_BYTES + count * ROW_BYTES;
  const out = new Uint8Array(tableEnd + values.length + metaBytes.length);
  writeU32(out, H_VERSION, BATCH_VERSION);
  writeU32(out, H_COUNT, count);
  writeU32(out, 8, HEADER_BYTES);
  writeU32(out, H_VALUES, tableEnd);
  writeU32(out, H_VALUES_LEN, values.length);
  writeU32(out, H_META, tableEnd + values.length);
  writeU32(out, H_META_LEN, metaBytes.length);
  // The table in one native copy (wasm memory is little-endian, like the format).
  out.set(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), HEADER_BYTES);
  out.set(values, tableEnd);
  out.set(metaBytes, tableEnd + values.length);
  return out;
}

/** Drops the outputs whose value cannot be JSON, as failures of their record. */
function salvage(rows: Uint32Array, fresh: unknown[], meta: OutputMeta, inputs: ChainInput[]): { rows: Uint32Array; text: string } {
  const keep: number[] = [];
  const kept: unknown[] = [];
  const failures = meta.f ?? [];
  const renumber = new Map<number, number>();
  for (let i = 0; i < rows.length; i += 2) {
    const ref = rows[i + 1]!;
    if (ref !== UNCHANGED) {
      try {
        JSON.stringify(fresh[ref]);
      } catch (e) {
        const input = inputs[rows[i]!]!;
        failures.push([rows[i]!, '', `returned a value that is not JSON: ${String(e)}`, null, input.key, input.timestamp, null]);
        continue;
      }
    }
    renumber.set(i / 2, keep.length / 2);
    keep.push(rows[i]!, ref === UNCHANGED ? UNCHANGED : kept.push(fresh[ref]) - 1);
  }
  if (meta.o) {
    const o: NonNullable<OutputMeta['o']> = [];
    for (let i = 0; i < meta.o.length; i += 3) {
      const to = renumber.get(meta.o[i] as number);
      if (to !== undefined) o.push(to, meta.o[i + 1] as Key | null, meta.o[i + 2] as number);
    }
    meta.o = o;
  }
  meta.f = failures;
  return { rows: Uint32Array.from(keep), text: JSON.stringify(kept) };
}

function failureEntry(input: number, operator: string, error: unknown, reason: string, record: EngineRecord): NonNullable<OutputMeta['f']>[number] {
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : null;
  let value: unknown = null;
  try {
    value = JSON.parse(JSON.stringify(record.value) ?? 'null');
  } catch {
    value = null;
  }
  return [input, operator, reason, stack, record.key, record.timestamp, value];
}

/**
 * `ctx.log` lines are collected and returned with the batch (no boundary crossing per line);
 * `console.*` inside a function does the same (the component has no stdio).
 */
function logger(lines: NonNullable<OutputMeta['l']>, inputs: ChainInput[]) {
  let index: Map<EngineRecord, number> | undefined; // built at the first log line only
  let current = '';
  const fn = (operator: string, record: EngineRecord, args: unknown[]) => {
    current = operator;
    if (!index) {
      index = new Map();
      for (let i = 0; i < inputs.length; i++) index.set(inputs[i]!, i);
    }
    lines.push([index.get(record) ?? -1, operator, args.map(show).join(' ')]);
  };
  const g = globalThis as { console?: unknown };
  const saved = g.console;
  const push = (...args: unknown[]) => void lines.push([-1, current, args.map(show).join(' ')]);
  g.console = { log: push, info: push, warn: push, error: push, debug: push };
  return { fn, done: () => void (g.console = saved) };
}

function show(a: unknown): string {
  if (typeof a === 'string') return a;
  if (a instanceof Error) return String(a);
  try {
    return JSON.stringify(a) ?? String(a);
  } catch {
    return String(a);
  }
}

/**
 * State inside the guest: the batch's snapshot, this call's changes on top, and the host's
 * `lookup` for anything the snapshot does not hold. The changes go back with the outputs.
 */
class GuestState implements StateAccess {
  // Keyed by state, then window index, then the key itself (a Map tells 1 from '1' and true
  // from 'true', as the host does): no id string is built per access, which in an interpreter
  // cost more than the function being run.
  private readonly known = new Map<string, Map<number, Map<Key, unknown>>>();
  private readonly committed = new Map<string, Map<Key, unknown>>();
  private readonly changed = new Map<string, Map<number, Map<Key, StateChangeEntry>>>();
  /** Every change, in first-write order (an entry is updated in place by later writes). */
  private readonly changes: StateChangeEntry[] = [];
  private readonly windows: WindowBounds[];
  private readonly entriesByState: InputMeta['e'];
  // The last (state, window) asked for: a batch's records mostly use one.
  private lastState: string | undefined;
  private lastWindow = -2;
  private lastKnown: Map<Key, unknown> | undefined;
  private lastChanged: Map<Key, StateChangeEntry> | undefined;

  constructor(meta: InputMeta, windows: WindowBounds[]) {
    this.windows = windows;
    this.entriesByState = meta.e;
    for (const [state, key, w, ...rest] of meta.st ?? []) this.slot(state, w).set(key, rest.length ? rest[0] : ABSENT);
  }

  private windowIndex(window: WindowBounds | undefined): number {
    if (!window) return -1;
    let i = this.windows.indexOf(window);
    if (i < 0) i = this.windows.findIndex((w) => w.start === window.start && w.end === window.end);
    if (i < 0) i = this.windows.push(window) - 1;
    return i;
  }

  /** What is known of `state` in window `w` (from the snapshot or `lookup`). */
  private slot(state: string, w: number): Map<Key, unknown> {
    this.select(state, w);
    return this.lastKnown!;
  }

  private select(state: string, w: number): void {
    if (state === this.lastState && w === this.lastWindow) return;
    let byWindow = this.known.get(state);
    if (!byWindow) this.known.set(state, (byWindow = new Map()));
    let known = byWindow.get(w);
    if (!known) byWindow.set(w, (known = new Map()));
    let changedByWindow = this.changed.get(state);
    if (!changedByWindow) this.changed.set(state, (changedByWindow = new Map()));
    let changed = changedByWindow.get(w);
    if (!changed) changedByWindow.set(w, (changed = new Map()));
    this.lastState = state;
    this.lastWindow = w;
    this.lastKnown = known;
    this.lastChanged = changed;
  }

  get(state: string, key: Key, window?: WindowBounds): unknown {
    this.select(state, this.windowIndex(window));
    const c = this.lastChanged!.get(key);
    if (c) return c.length > 3 ? c[3] : undefined;
    const known = this.lastKnown!;
    // Known values are JSON (never undefined) or ABSENT: undefined means not known yet.
    let v = known.get(key);
    if (v === undefined) {
      const scope = window ? { tag: 'current' as const, val: { start: BigInt(window.start), end: BigInt(window.end) } } : { tag: 'current' as const, val: undefined };
      known.set(key, (v = fromBytes(hostLookup(state, JSON.stringify(key), scope))));
    }
    return v === ABSENT ? undefined : v;
  }

  set(state: string, key: Key, value: unknown, window?: WindowBounds): void {
    const w = this.windowIndex(window);
    this.select(state, w);
    const c = this.lastChanged!.get(key);
    if (c) c[3] = value;
    else this.record(this.lastChanged!, [state, key, w, value]);
  }

  delete(state: string, key: Key, window?: WindowBounds): void {
    const w = this.windowIndex(window);
    this.select(state, w);
    const c = this.lastChanged!.get(key);
    if (c) c.length = 3;
    else this.record(this.lastChanged!, [state, key, w]);
  }

  private record(changed: Map<Key, StateChangeEntry>, entry: StateChangeEntry): void {
    changed.set(entry[1], entry);
    this.changes.push(entry);
  }

  *entries(state: string, window?: WindowBounds): Iterable<[Key, unknown]> {
    const base = this.entriesByState?.[state];
    if (!base) {
      if (this.entriesByState) return; // a flush: this state holds nothing in the window
      throw new FunctionContractError(`state(\`${state}\`).entries() is available in a window's flush; elsewhere use lookup(key)`);
    }
    this.select(state, this.windowIndex(window));
    const changed = this.lastChanged!;
    const seen = new Set<Key>();
    for (const [key, value] of base) {
      seen.add(key);
      const c = changed.get(key);
      if (!c) yield [key, value];
      else if (c.length > 3) yield [key, c[3]];
    }
    for (const [key, c] of changed) if (!seen.has(key) && c.length > 3) yield [key, c[3]];
  }

  lookup(state: string, key: Key): unknown {
    this.select(state, -1);
    const c = this.lastChanged!.get(key);
    if (c) return c.length > 3 ? c[3] : undefined;
    let committed = this.committed.get(state);
    if (!committed) this.committed.set(state, (committed = new Map()));
    let v = committed.get(key);
    if (v === undefined) committed.set(key, (v = fromBytes(hostLookup(state, JSON.stringify(key), { tag: 'committed' }))));
    return v === ABSENT ? undefined : v;
  }

  changeList(): StateChangeEntry[] {
    return this.changes;
  }
}

function fromBytes(b: Uint8Array | null | undefined): unknown {
  // StarlingMonkey gives `undefined` for a missing option, QuickJS `null`.
  return b == null ? ABSENT : JSON.parse(td.decode(b));
}
