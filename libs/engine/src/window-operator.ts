/**
 * The window operator's decisions, record by record: which open windows a record counts for,
 * whether it is late, how the watermark moves, and which windows are ready to flush. Pure; its
 * state is a plain object the runtime commits with its checkpoint, so a replay decides alike.
 *
 * The watermark advances after every record (not once per batch), so what is late depends
 * only on the order of records on each channel, never on how they were batched.
 */
import type { ChainInput, EngineRecord } from './chain.ts';
import { advance, channelTime, endOfInput, initialWatermarkState, type WatermarkOptions, type WatermarkState } from './watermark.ts';
import { isWindowClosed, windowsOf, type WindowAssigner, type WindowBounds } from './windows.ts';

export interface LateRecord {
  record: EngineRecord;
  reason: string;
}

export interface AssignResult {
  /** One chain input per (record, open window it belongs to). */
  inputs: ChainInput[];
  late: LateRecord[];
  state: WatermarkState;
}

export interface WindowConfig {
  assigner: WindowAssigner;
  watermark: WatermarkOptions;
}

export function initialWindowState(): WatermarkState {
  return initialWatermarkState();
}

/**
 * Splits a batch from one channel into window inputs and late records, advancing the watermark
 * after every record. Same result as folding `observe` + `advance` record by record, computed
 * on one working copy per batch (this runs for every record of a window operator).
 *
 * `owned`: the records are the caller's to change (what the unit's steps before the window
 * made, no one else holds them): each becomes the input of its first window as it is, its
 * `window` set, instead of being copied into one — a copy per record (and one more box for its
 * timestamp) that every record of a tumbling window paid.
 *
 * `another`: makes the input of a record's windows after its first (sliding) — a value of their
 * own, for steps that would otherwise share the record's (native ones: a change one window's
 * function makes in place must not reach the next window, as it cannot sandboxed). Without it,
 * each reads the record's value through it.
 *
 * `share`: the object the inputs of a window are given for it (the caller's one object per
 * window: state caches key on it), asked once per window a run of records counts for, when its
 * first input is made — never for a window a record is late for. Without it, the window as made here.
 */
export function assignWindows(
  records: readonly EngineRecord[],
  channel: string,
  now: number,
  config: WindowConfig,
  state: WatermarkState,
  owned = false,
  another?: (record: EngineRecord, window: WindowBounds) => ChainInput,
  share: (window: WindowBounds) => WindowBounds = asMade,
): AssignResult {
  const late: LateRecord[] = [];
  if (records.length === 0) return { inputs: [], late, state };
  // Made with room for every (record, window) of a batch on time, filled in place and cut to
  // what came: grown input by input it was copied each time it filled, several times its size
  // left to the collector per batch (a word count's window unit takes thousands of words a message).
  const inputs: ChainInput[] = new Array<ChainInput>(Math.min(records.length * windowsPerRecord(config.assigner), MAX_ROOM));
  let n = 0;
  const grace = config.watermark.gracePeriodMs;
  const idleness = config.watermark.idlenessMs;
  // The channels that hold the watermark back in this batch: every channel not idle at `now`
  // (the batch's own channel is active by definition).
  const others: number[] = [];
  for (const [name, ch] of Object.entries(state.channels)) {
    if (name === channel) continue;
    if (idleness !== undefined && now - ch.lastActivity >= idleness) continue;
    others.push(channelTime(ch));
  }
  const othersMin = others.length ? Math.min(...others) : Number.POSITIVE_INFINITY;
  const own = state.channels[channel];
  let max = own?.maxEventTime ?? Number.NEGATIVE_INFINITY;
  // A channel with in-band progress moves with it, not with the records it carries.
  const bound = own?.bound;
  let wm = state.watermark;
  const ended = state.ended;
  const tumbling = config.assigner.kind === 'tumbling' ? config.assigner : undefined;
  let cached: WindowBounds | undefined;
  // `cached` as its inputs are given it (`share`), once one is made.
  let cachedShared: WindowBounds | undefined;
  // Sliding: the windows of consecutive records are mostly the same list, valid for event
  // times in [from, until); `shared[i]` is `list[i]` as its inputs are given it, once one is made.
  let list: WindowBounds[] = [];
  let shared: Array<WindowBounds | undefined> = [];
  let from = Number.POSITIVE_INFINITY;
  let until = Number.NEGATIVE_INFINITY;
  for (const record of records) {
    const t = record.timestamp;
    if (tumbling) {
      // One window per record; consecutive records mostly share it.
      if (!cached || t < cached.start || t >= cached.end) {
        cached = windowsOf(t, tumbling)[0]!;
        cachedShared = undefined;
      }
      if (isWindowClosed(cached, wm)) late.push({ record, reason: lateReason(t, wm, config) });
      else {
        const window = (cachedShared ??= share(cached));
        inputs[n++] = owned ? inWindow(record, window) : new WindowInput(record, window);
      }
    } else {
      if (t < from || t >= until) {
        list = windowsOf(t, config.assigner);
        shared = new Array<WindowBounds | undefined>(list.length).fill(undefined);
        ({ from, until } = validity(t, list, config.assigner));
      }
      let open = 0;
      for (let i = 0; i < list.length; i++) {
        if (isWindowClosed(list[i]!, wm)) continue;
        const window = (shared[i] ??= share(list[i]!));
        inputs[n++] = open === 0 ? (owned ? inWindow(record, window) : new WindowInput(record, window)) : another ? another(record, window) : new WindowInput(record, window);
        open++;
      }
      if (open === 0) late.push({ record, reason: lateReason(t, wm, config) });
    }
    if (t > max) max = t;
    if (!ended) {
      const candidate = Math.min(bound ?? max, othersMin) - grace;
      if (candidate > wm) wm = candidate;
    }
  }
  inputs.length = n;
  const channels = { ...state.channels, [channel]: bound === undefined ? { maxEventTime: max, lastActivity: now } : { maxEventTime: max, lastActivity: now, bound } };
  return { inputs, late, state: { ...state, channels, watermark: wm, lastActivity: Math.max(state.lastActivity, now) } };
}

/** `assignWindows`' window objects as it makes them. */
function asMade(window: WindowBounds): WindowBounds {
  return window;
}

/** The most room `assignWindows` makes ahead for a batch's window inputs: more comes by growing. */
const MAX_ROOM = 65_536;

/** How many windows a record counts for at most (`windowsOf`). */
function windowsPerRecord(assigner: WindowAssigner): number {
  return assigner.kind === 'sliding' ? Math.max(1, Math.ceil(assigner.durationMs / assigner.slideMs)) : 1;
}

/** An owned record as the input of `window`'s steps, as it is. */
function inWindow(record: EngineRecord, window: WindowBounds): ChainInput {
  (record as ChainInput).window = window;
  return record;
}

/**
 * A record as a window's steps see it: the record's fields and the window it counts for. Its
 * value is the record's, read through it: a run again of the window's steps that reads the
 * record's value again (`startRun`, chain.ts) gives it to each of the record's windows.
 */
class WindowInput implements ChainInput {
  key: EngineRecord['key'];
  timestamp: number;
  headers: Record<string, string> | undefined;
  window: WindowBounds;
  private readonly of: EngineRecord;
  constructor(r: EngineRecord, window: WindowBounds) {
    this.key = r.key;
    this.of = r;
    this.timestamp = r.timestamp;
    this.headers = r.headers;
    this.window = window;
  }
  get value(): unknown {
    return this.of.value;
  }
  /** The record this is in a window (a failure names its place). */
  get source(): EngineRecord {
    return this.of;
  }
}

/**
 * A record in one of its windows with a value of its own (`assignWindows`' `another`): `value`, a
 * copy of the record's made before any window's steps ran. For steps run in a section: a run again
 * of the section assigns the records to their windows again, so this is never run twice.
 */
export function windowInputWith(r: EngineRecord, window: WindowBounds, value: unknown): ChainInput {
  return new WindowCopy(r, window, value);
}

class WindowCopy implements ChainInput {
  key: EngineRecord['key'];
  value: unknown;
  timestamp: number;
  headers: Record<string, string> | undefined;
  window: WindowBounds;
  /** The record this is in a window (a failure names its place). */
  readonly source: EngineRecord;
  constructor(r: EngineRecord, window: WindowBounds, value: unknown) {
    this.source = r;
    this.key = r.key;
    this.value = value;
    this.timestamp = r.timestamp;
    this.headers = r.headers;
    this.window = window;
  }
}

/**
 * The event times whose sliding windows are exactly `windows` (those of `t`): within the slide
 * step `t` is in, after the newest window that no longer holds `t` has ended, and before the
 * first of `windows` ends.
 */
function validity(t: number, windows: readonly WindowBounds[], assigner: WindowAssigner): { from: number; until: number } {
  if (assigner.kind !== 'sliding' || windows.length === 0) return { from: t, until: t };
  const step = Math.floor(t / assigner.slideMs) * assigner.slideMs;
  // The window starting one slide before the oldest of `windows` ended at or before `t`.
  const from = Math.max(step, windows[0]!.start - assigner.slideMs + assigner.durationMs);
  let until = step + assigner.slideMs;
  for (const w of windows) if (w.end < until) until = w.end;
  return { from, until };
}

/** Moves the watermark with the clock alone (idleness), for when no records arrive. */
export function tickWatermark(now: number, config: WindowConfig, state: WatermarkState): WatermarkState {
  return advance(state, config.watermark, now);
}

export function endWindows(state: WatermarkState): WatermarkState {
  return endOfInput(state);
}

/** The open windows the watermark has passed, oldest first: flush these, in this order. */
export function windowsToFlush(open: readonly WindowBounds[], state: WatermarkState): WindowBounds[] {
  return open.filter((w) => isWindowClosed(w, state.watermark)).sort((a, b) => a.start - b.start || a.end - b.end);
}

function lateReason(t: number, watermark: number, config: WindowConfig): string {
  return (
    `late: event time ${iso(t)} is behind the watermark ${iso(watermark)} ` +
    `(grace period ${config.watermark.gracePeriodMs} ms); every window it belongs to has closed`
  );
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
