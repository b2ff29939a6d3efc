/**
 * Joins of two sides of one keyed stream. The stream's values are an externally tagged enum
 * (`{"person": {...}}`, `{"auction": {...}}`); each side of a join is one variant, and both
 * sides are keyed by the join key (the record key, set by the service's `assign-key`).
 *
 * - **Stream-table** (`kind: 'table'`, Flink's event-time temporal join, Kafka Streams'
 *   KStream-KTable join with its timestamp synchronisation): both sides wait until the watermark
 *   has passed their time and are then taken in event-time order (a table record before a stream
 *   record of the same time), so a stream record at time t joins the table's latest value at or
 *   before t whatever order the two arrived in across channels. The table keeps the latest value
 *   per key; a stream record whose key has one leaves as `{<table>: T, <stream>: S}`. An entry
 *   older than `ttl` at the stream record's time does not join, and entries are purged once no
 *   stream record to come can be that close, so the table stays bounded. A record that arrives
 *   behind the watermark is taken at once (it is not late: the table is as it stands).
 * - **Interval** (`kind: 'interval'`, Flink's interval join, grouped as Beam's Nexmark
 *   `WinningBids`): a left record opens the interval `[t + lower, min(t + upper, left.until)]`
 *   of its key; right records of the key whose time falls in it join it. When the watermark
 *   passes the interval's end, the left record leaves once, with its right records in
 *   event-time order (ties by origin): `{<left>: L, <right>: R[]}`. Both sides are
 *   buffered — a right record waits for left records still to come as long as one could hold
 *   it — and a record of either side behind the watermark is late (Flink's rule).
 *
 * As for windows, the watermark advances after every record, so what joins depends only on the
 * order of records on each channel, never on batching. Each record is named by its channel and its
 * position there (`origin`): what names a result, and what breaks ties in event time, is the same
 * on a replay that reads the channels in another interleaving. Pure: the state is plain data the runtime
 * commits with its checkpoint (`joinMeta` / `restoreJoin`).
 */
import type { EngineRecord, Key } from './chain.ts';
import { encodeKey } from './memory-state.ts';
import { othersMinimum } from './sessions.ts';
import { addChannel, advance, endOfInput, initialWatermarkState, type WatermarkOptions, type WatermarkState } from './watermark.ts';
import type { LateRecord } from './window-operator.ts';

export type JoinConfig =
  | { kind: 'table'; table: string; stream: string; ttlMs: number; watermark: WatermarkOptions }
  | {
      kind: 'interval';
      left: string;
      right: string;
      /** A right record joins a left one at time t when `t + lowerMs <= time <= t + upperMs`. */
      lowerMs: number;
      upperMs: number;
      /** A numeric field of the left value that ends its interval earlier (q9: `expires`). */
      until?: string;
      watermark: WatermarkOptions;
    };

/** A record held by a join: its key, the side's own value (the enum variant's payload), its time, where it came from. */
export interface Held {
  key: Key | null;
  value: unknown;
  timestamp: number;
  /** `<channel>#<n>`: the n-th record the join took from that channel. */
  origin: string;
}

/** A stream-table record waiting for the watermark. */
export interface Pending extends Held {
  side: 'table' | 'stream';
}

/** An open left record of an interval join. */
export interface OpenLeft extends Held {
  start: number;
  end: number;
  /** The right records that joined it. */
  matches: Held[];
}

export interface JoinState {
  watermark: WatermarkState;
  /** Stream-table: the latest table record per encoded key. */
  table: Map<string, Held>;
  /** The earliest time at which a table entry expires (a purge before it finds nothing). */
  nextExpiry: number;
  /** Stream-table: records not yet behind the watermark, in arrival order. */
  pending: Pending[];
  /** Interval: open left records per encoded key, in arrival order. */
  lefts: Map<string, OpenLeft[]>;
  /** Interval: right records per encoded key still joinable by a left record to come. */
  rights: Map<string, Held[]>;
  /**
   * Interval: the earliest end of an open left record, and the earliest time of a buffered right
   * one — until the watermark passes them there is nothing to close or forget, so a record does
   * not scan every key (−∞ after a restore: the first scan finds them again).
   */
  nextClose: number;
  nextDrop: number;
  /** Records taken per channel (what `origin` counts). */
  counts: Record<string, number>;
  /**
   * Buffers changed since the runtime last took them (`takeJoinRows`), by row id: `t`, `l` or
   * `r` and the encoded key. Kept only when the runtime asks (a checkpoint writes those rows).
   */
  touched?: Set<string>;
}

/**
 * A join's result: a record, the bounds it stands for (an interval; a stream-table result, its
 * stream record's time twice) and the origin of the record that names it (the left or stream one).
 */
export interface JoinOutput {
  record: EngineRecord;
  bounds: { start: number; end: number };
  origin: string;
}

export interface JoinResult {
  outputs: JoinOutput[];
  late: LateRecord[];
  /** Records of neither side (the input index and why). */
  unmatched: Array<{ input: number; reason: string }>;
}

export function initialJoinState(channels: readonly string[], now = 0): JoinState {
  const watermark = channels.reduce((s, c) => addChannel(s, c, now), initialWatermarkState());
  return { watermark, table: new Map(), nextExpiry: Number.POSITIVE_INFINITY, pending: [], lefts: new Map(), rights: new Map(), nextClose: Number.POSITIVE_INFINITY, nextDrop: Number.POSITIVE_INFINITY, counts: {} };
}

/** The variant of an externally tagged enum value, and its payload. */
function variantOf(value: unknown): [string, unknown] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  let found: [string, unknown] | undefined;
  for (const name in value) {
    if (found) return undefined;
    found = [name, (value as Record<string, unknown>)[name]];
  }
  return found;
}

/**
 * Runs a batch of one channel through the join, advancing the watermark after each record.
 * Changes `state` in place (its maps) and returns it with the new watermark.
 */
export function joinBatch(records: readonly EngineRecord[], channel: string, now: number, config: JoinConfig, state: JoinState): JoinResult & { state: JoinState } {
  const result: JoinResult = { outputs: [], late: [], unmatched: [] };
  const grace = config.watermark.gracePeriodMs;
  const othersMin = othersMinimum(state.watermark, channel, now, config.watermark);
  const own = state.watermark.channels[channel];
  let max = own?.maxEventTime ?? Number.NEGATIVE_INFINITY;
  const bound = own?.bound;
  let wm = state.watermark.watermark;
  const ended = state.watermark.ended;
  const sides = config.kind === 'table' ? [config.table, config.stream] : [config.left, config.right];
  let taken = state.counts[channel] ?? 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const t = record.timestamp;
    const variant = variantOf(record.value);
    if (!variant || !sides.includes(variant[0])) {
      result.unmatched.push({ input: i, reason: `the record is neither \`${sides[0]}\` nor \`${sides[1]}\`, the two sides of the join` });
    } else {
      const id = record.key === null ? '' : encodeKey(record.key);
      const held: Held = { key: record.key, value: variant[1], timestamp: t, origin: `${channel}#${taken++}` };
      if (config.kind === 'table') {
        const pending: Pending = { ...held, side: variant[0] === config.table ? 'table' : 'stream' };
        // Behind the watermark nothing it could wait for is still to come: taken at once.
        if (t < wm) takeInOrder(config, state, [pending], result.outputs);
        else state.pending.push(pending);
      } else intervalRecord(config, state, id, variant[0], held, wm, result, record);
    }
    if (t > max) max = t;
    if (!ended) {
      const candidate = Math.min(bound ?? max, othersMin) - grace;
      if (candidate > wm) wm = candidate;
    }
    if (config.kind === 'interval') closeIntervals(config, state, wm, result.outputs);
    else releaseTable(config, state, wm, result.outputs);
  }
  state.counts[channel] = taken;
  const channels = { ...state.watermark.channels, [channel]: bound === undefined ? { maxEventTime: max, lastActivity: now } : { maxEventTime: max, lastActivity: now, bound } };
  state.watermark = { ...state.watermark, channels, watermark: wm, lastActivity: Math.max(state.watermark.lastActivity, now) };
  return { ...result, state };
}

/** The clock moved, or a channel's progress did: close what the new watermark closes. */
export function advanceJoin(config: JoinConfig, state: JoinState, now: number, end = false): JoinOutput[] {
  state.watermark = end ? endOfInput(state.watermark) : advance(state.watermark, config.watermark, now);
  const outputs: JoinOutput[] = [];
  if (config.kind === 'table') {
    releaseTable(config, state, state.watermark.watermark, outputs);
    // At the end of input no stream record is still to come: the whole table may go.
    if (end) purgeTable(config, state, Number.POSITIVE_INFINITY);
  } else closeIntervals(config, state, state.watermark.watermark, outputs);
  return outputs;
}

/** Orders records by time, a table record before a stream record of the same time, then by origin. */
function byTime(a: Pending, b: Pending): number {
  return a.timestamp - b.timestamp || (a.side === b.side ? compareOrigins(a.origin, b.origin) : a.side === 'table' ? -1 : 1);
}

/** Channel, then position in it (numerically). */
function compareOrigins(a: string, b: string): number {
  const i = a.lastIndexOf('#');
  const j = b.lastIndexOf('#');
  const ca = a.slice(0, i);
  const cb = b.slice(0, j);
  if (ca !== cb) return ca < cb ? -1 : 1;
  return Number(a.slice(i + 1)) - Number(b.slice(j + 1));
}

/** Takes the pending records the watermark has passed (no record of their time can still come), in event-time order. */
function releaseTable(config: Extract<JoinConfig, { kind: 'table' }>, state: JoinState, wm: number, outputs: JoinOutput[]): void {
  if (state.pending.length === 0) return;
  const ready: Pending[] = [];
  const waiting: Pending[] = [];
  for (const p of state.pending) (p.timestamp < wm ? ready : waiting).push(p);
  if (ready.length === 0) return;
  state.pending = waiting;
  ready.sort(byTime);
  takeInOrder(config, state, ready, outputs);
}

function takeInOrder(config: Extract<JoinConfig, { kind: 'table' }>, state: JoinState, records: readonly Pending[], outputs: JoinOutput[]): void {
  let latest = Number.NEGATIVE_INFINITY;
  for (const r of records) {
    const id = r.key === null ? '' : encodeKey(r.key);
    if (r.timestamp > latest) latest = r.timestamp;
    const held: Held = { key: r.key, value: r.value, timestamp: r.timestamp, origin: r.origin };
    if (r.side === 'table') {
      // The latest by event time (a record behind the watermark may be older than the entry).
      const entry = state.table.get(id);
      if (entry && entry.timestamp > r.timestamp) continue;
      state.table.set(id, held);
      state.touched?.add(`t${id}`);
      const expiry = r.timestamp + config.ttlMs;
      if (expiry < state.nextExpiry) state.nextExpiry = expiry;
      continue;
    }
    const entry = state.table.get(id);
    // An entry older than ttl at the stream record's time does not join, purged or not.
    if (!entry || entry.timestamp + config.ttlMs < r.timestamp) continue;
    outputs.push({
      record: { key: r.key, value: { [config.table]: entry.value, [config.stream]: r.value }, timestamp: r.timestamp },
      bounds: { start: r.timestamp, end: r.timestamp },
      origin: r.origin,
    });
  }
  purgeTable(config, state, latest);
}

/** Forgets entries no stream record still to come can join: those older than ttl at `taken` (records come in time order from here). */
function purgeTable(config: Extract<JoinConfig, { kind: 'table' }>, state: JoinState, taken: number): void {
  const wm = taken;
  if (!(state.nextExpiry < wm)) return;
  let next = Number.POSITIVE_INFINITY;
  for (const [id, entry] of state.table) {
    const expiry = entry.timestamp + config.ttlMs;
    if (expiry < wm) {
      state.table.delete(id);
      state.touched?.add(`t${id}`);
    } else if (expiry < next) next = expiry;
  }
  state.nextExpiry = next;
}

function intervalRecord(
  config: Extract<JoinConfig, { kind: 'interval' }>,
  state: JoinState,
  id: string,
  side: string,
  held: Held,
  wm: number,
  result: JoinResult,
  record: EngineRecord,
): void {
  const t = held.timestamp;
  if (t < wm) {
    result.late.push({ record, reason: `late: event time ${iso(t)} is behind the watermark ${iso(wm)} (grace period ${config.watermark.gracePeriodMs} ms); the ${side} side of the join takes no records behind it` });
    return;
  }
  if (side === config.left) {
    let end = t + config.upperMs;
    if (config.until !== undefined) {
      const until = (held.value as Record<string, unknown> | null)?.[config.until];
      if (typeof until === 'number' && until < end) end = until;
    }
    const open: OpenLeft = { ...held, start: t + config.lowerMs, end, matches: [] };
    for (const r of state.rights.get(id) ?? []) if (r.timestamp >= open.start && r.timestamp <= open.end) open.matches.push(r);
    const list = state.lefts.get(id);
    if (list) list.push(open);
    else state.lefts.set(id, [open]);
    state.touched?.add(`l${id}`);
    if (end < state.nextClose) state.nextClose = end;
    return;
  }
  const right = held;
  for (const l of state.lefts.get(id) ?? []) {
    if (t >= l.start && t <= l.end) {
      l.matches.push(right);
      state.touched?.add(`l${id}`);
    }
  }
  // Left records still to come are at or after the watermark, so they start at or after
  // wm + lower: a right record earlier than that can join none of them.
  const list = state.rights.get(id);
  if (list) list.push(right);
  else state.rights.set(id, [right]);
  state.touched?.add(`r${id}`);
  if (t < state.nextDrop) state.nextDrop = t;
}

/**
 * Emits and forgets the left records whose interval the watermark has passed — by end, then
 * start, then arrival — and forgets right records no left record to come can join.
 */
function closeIntervals(config: Extract<JoinConfig, { kind: 'interval' }>, state: JoinState, wm: number, outputs: JoinOutput[]): void {
  const closed: OpenLeft[] = [];
  if (state.nextClose < wm) {
    let next = Number.POSITIVE_INFINITY;
    for (const [id, list] of state.lefts) {
      let open: OpenLeft[] | undefined;
      for (const l of list) {
        if (l.end < wm) closed.push(l);
        else {
          (open ??= []).push(l);
          if (l.end < next) next = l.end;
        }
      }
      if (!open) state.lefts.delete(id);
      else if (open.length !== list.length) state.lefts.set(id, open);
      if (open?.length !== list.length) state.touched?.add(`l${id}`);
    }
    state.nextClose = next;
  }
  const dropBefore = wm + config.lowerMs;
  if (state.nextDrop < dropBefore) {
    let next = Number.POSITIVE_INFINITY;
    for (const [id, list] of state.rights) {
      const keep = list.filter((r) => r.timestamp >= dropBefore);
      for (const r of keep) if (r.timestamp < next) next = r.timestamp;
      if (keep.length === 0) state.rights.delete(id);
      else if (keep.length !== list.length) state.rights.set(id, keep);
      if (keep.length !== list.length) state.touched?.add(`r${id}`);
    }
    state.nextDrop = next;
  }
  if (closed.length === 0) return;
  closed.sort((a, b) => a.end - b.end || a.start - b.start || compareOrigins(a.origin, b.origin));
  for (const l of closed) {
    const matches = [...l.matches].sort((a, b) => a.timestamp - b.timestamp || compareOrigins(a.origin, b.origin)).map((m) => m.value);
    outputs.push({
      record: { key: l.key, value: { [config.left]: l.value, [config.right]: matches }, timestamp: l.end },
      bounds: { start: l.start, end: l.end },
      origin: l.origin,
    });
  }
}

/**
 * The join's progress as plain JSON (committed with the unit's offsets): its watermark, the
 * stream-table records still waiting for it, and the counts. The buffers per key are rows
 * (`takeJoinRows`), written when they change rather than whole at every checkpoint.
 */
export function joinMeta(state: JoinState): unknown {
  return { watermark: state.watermark, pending: state.pending, counts: state.counts };
}

/** A join's buffer of one key: `t`/`l`/`r` and the encoded key → its table entry, open left records, or right records. */
export type JoinRow = [id: string, value: Held | OpenLeft[] | Held[] | undefined];

/** The rows changed since the last call (undefined: gone), live values: the caller copies what it keeps. */
export function takeJoinRows(state: JoinState): JoinRow[] {
  const rows: JoinRow[] = [];
  if (!state.touched) return rows;
  for (const id of state.touched) {
    const key = id.slice(1);
    rows.push([id, id[0] === 't' ? state.table.get(key) : id[0] === 'l' ? state.lefts.get(key) : state.rights.get(key)]);
  }
  state.touched.clear();
  return rows;
}

/**
 * The join from its committed progress and rows. A checkpoint written before buffers were rows
 * holds them in `meta`: they are all marked changed, so the next checkpoint writes them as rows.
 */
export function restoreJoin(meta: unknown, config: JoinConfig, rows: Iterable<readonly [string, unknown]> = []): JoinState {
  const m = meta as { watermark: WatermarkState; table?: Held[]; lefts?: OpenLeft[]; rights?: Held[]; pending: Pending[]; counts: Record<string, number> };
  const state: JoinState = { watermark: m.watermark, table: new Map(), nextExpiry: Number.POSITIVE_INFINITY, pending: m.pending, lefts: new Map(), rights: new Map(), nextClose: Number.NEGATIVE_INFINITY, nextDrop: Number.NEGATIVE_INFINITY, counts: m.counts, touched: new Set() };
  const id = (k: Key | null) => (k === null ? '' : encodeKey(k));
  const entry = (key: string, e: Held) => {
    state.table.set(key, e);
    if (config.kind === 'table') state.nextExpiry = Math.min(state.nextExpiry, e.timestamp + config.ttlMs);
  };
  for (const [rowId, value] of rows) {
    const key = rowId.slice(1);
    if (rowId[0] === 't') entry(key, value as Held);
    else if (rowId[0] === 'l') state.lefts.set(key, value as OpenLeft[]);
    else if (rowId[0] === 'r') state.rights.set(key, value as Held[]);
  }
  for (const e of m.table ?? []) {
    entry(id(e.key), e);
    state.touched!.add(`t${id(e.key)}`);
  }
  for (const l of m.lefts ?? []) {
    state.lefts.set(id(l.key), [...(state.lefts.get(id(l.key)) ?? []), l]);
    state.touched!.add(`l${id(l.key)}`);
  }
  for (const r of m.rights ?? []) {
    state.rights.set(id(r.key), [...(state.rights.get(id(r.key)) ?? []), r]);
    state.touched!.add(`r${id(r.key)}`);
  }
  return state;
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
