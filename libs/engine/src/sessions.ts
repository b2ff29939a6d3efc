/**
 * Session windows: per key, a session holds records that are at most `gap` apart in event
 * time, from its first record to its last record + gap (Flink's rule: a record's own window is
 * `[t, t + gap)`, and windows of a key that overlap or touch merge). A session closes when the
 * watermark reaches its end.
 *
 * A session's bounds are only known once it has closed (a later record may extend or merge it),
 * so its records are kept, not folded into state as they come: at close the window's steps run
 * over them (in event-time order, ties in arrival order) and then its flush — the same steps and
 * `ctx.window()` as a tumbling window, with no merge function to write. Pure: the state is a
 * plain object the runtime commits with its checkpoint.
 *
 * As for the other windows, the watermark advances after every record, and a record never joins
 * a session the watermark has already closed (even if it is not flushed yet), so what a session
 * holds depends only on the order of records on each channel, never on how they were batched.
 */
import { keptCopy, keptRecord, type EngineRecord, type Key } from './chain.ts';
import { encodeKey } from './memory-state.ts';
import { channelTime, type WatermarkOptions, type WatermarkState } from './watermark.ts';
import type { LateRecord } from './window-operator.ts';
import type { WindowBounds } from './windows.ts';

export interface SessionConfig {
  gapMs: number;
  watermark: WatermarkOptions;
}

/** One open session of a key. */
export interface Session {
  key: Key | null;
  start: number;
  /** The last record's time + gap: the session closes when the watermark reaches it. */
  end: number;
  /** In arrival order. */
  records: EngineRecord[];
}

export interface SessionsState {
  watermark: WatermarkState;
  /** Open sessions by encoded key, each key's in start order. */
  sessions: Map<string, Session[]>;
  /** What changed since the runtime last took rows (`takeSessionRows`); kept only when it asks. */
  changes?: SessionChanges;
  /** Which keys may hold a closed session (`takeClosedSessions`); made there when absent. */
  ends?: SessionEnds;
}

/**
 * The keys of open sessions by how soon one of them may close, so a batch looks only at the keys
 * the watermark has reached instead of every open key (q11 holds a couple of thousand bidders
 * open, and most batches close a few). Each key has one live entry, at most the least end of its
 * sessions: a record that extends or merges sessions only moves ends later, so the entry is left
 * as it is and, once the watermark reaches it, put back at the key's real least end. Only a
 * session of its own (a new key, a record before the key's sessions) can bring the end nearer.
 */
export class SessionEnds {
  /** A binary min-heap of (end, key) in two columns. */
  private readonly heapEnds: number[] = [];
  private readonly heapIds: string[] = [];
  /** Each key's live entry: its end (an entry of the key at another end is stale). */
  private readonly live = new Map<string, number>();

  static of(sessions: ReadonlyMap<string, readonly Session[]>): SessionEnds {
    const ends = new SessionEnds();
    for (const [id, list] of sessions) ends.opened(id, leastEnd(list));
    return ends;
  }

  /** Key `id` has a session that ends at `end`. */
  opened(id: string, end: number): void {
    const at = this.live.get(id);
    if (at !== undefined && at <= end) return;
    this.live.set(id, end);
    this.push(end, id);
  }

  /** The keys whose entry the watermark `wm` has reached, each once, their entries taken. */
  reached(wm: number): string[] {
    const out: string[] = [];
    while (this.heapEnds.length > 0 && this.heapEnds[0]! <= wm) {
      const end = this.heapEnds[0]!;
      const id = this.pop();
      if (this.live.get(id) !== end) continue;
      this.live.delete(id);
      out.push(id);
    }
    return out;
  }

  private push(end: number, id: string): void {
    const e = this.heapEnds;
    const k = this.heapIds;
    let i = e.length;
    e.push(end);
    k.push(id);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (e[up]! <= end) break;
      e[i] = e[up]!;
      k[i] = k[up]!;
      i = up;
    }
    e[i] = end;
    k[i] = id;
  }

  private pop(): string {
    const e = this.heapEnds;
    const k = this.heapIds;
    const top = k[0]!;
    const end = e.pop()!;
    const id = k.pop()!;
    const n = e.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && e[child + 1]! < e[child]!) child++;
      if (e[child]! >= end) break;
      e[i] = e[child]!;
      k[i] = k[child]!;
      i = child;
    }
    e[i] = end;
    k[i] = id;
    return top;
  }
}

/** The least end of a key's sessions (in start order, but one the watermark closed may end after a later-starting one). */
function leastEnd(list: readonly Session[]): number {
  let end = Number.POSITIVE_INFINITY;
  for (const s of list) if (s.end < end) end = s.end;
  return end;
}

/**
 * A key's open sessions are checkpointed as rows of its held records (`takeSessionRows`): row 0
 * holds them as of the key's last rewrite, rows 1, 2, … the records held since, one row per
 * checkpoint. A hot key (a bidder who bids all day long) adds its new records at a checkpoint
 * instead of writing its whole session again. A merge of sessions (which reorders records) or a
 * closed session rewrites the key. The records are enough: open sessions of a key never touch
 * (a record that touches two merges them; a closed one is flushed before any checkpoint), so
 * grouping the records by the gap gives the sessions back (`restoreSessions`).
 */
export interface SessionChanges {
  /** Records held per key since the last take, in arrival order (keys not rewritten). */
  appended: Map<string, EngineRecord[]>;
  /** Keys whose sessions merged or closed since the last take. */
  rewritten: Set<string>;
  /** Rows stored per key. */
  rows: Map<string, number>;
}

/** Appended rows of a key past this are folded into a rewrite (its restore reads fewer rows). */
const MAX_ROWS_PER_KEY = 64;

export interface SessionAssignResult {
  late: LateRecord[];
  state: SessionsState;
}

/**
 * Adds a batch from one channel to its keys' sessions (merging the sessions a record bridges),
 * advancing the watermark after every record. A record whose own window `[t, t + gap)` is closed
 * and touches no open session of its key is late. Changes `state.sessions` in place.
 */
export function assignSessions(records: readonly EngineRecord[], channel: string, now: number, config: SessionConfig, state: SessionsState): SessionAssignResult {
  const late: LateRecord[] = [];
  if (records.length === 0) return { late, state };
  const gap = config.gapMs;
  const grace = config.watermark.gracePeriodMs;
  const othersMin = othersMinimum(state.watermark, channel, now, config.watermark);
  const own = state.watermark.channels[channel];
  let max = own?.maxEventTime ?? Number.NEGATIVE_INFINITY;
  const bound = own?.bound;
  let wm = state.watermark.watermark;
  const ended = state.watermark.ended;
  const sessions = state.sessions;
  const changes = state.changes;
  const ends = state.ends;
  for (const record of records) {
    const t = record.timestamp;
    const id = record.key === null ? '' : encodeKey(record.key);
    let list = sessions.get(id);
    let start = t;
    let end = t + gap;
    // The open sessions the record's own window touches: usually one (a bidder bidding on), which
    // takes the record in place; two or more merge into a new one.
    let touched: Session | undefined;
    let merged: Session[] | undefined;
    if (list) {
      for (const s of list) {
        // Closed sessions (end <= watermark) take no more records, flushed or not.
        if (s.end > wm && s.start <= end && s.end >= start) {
          if (touched === undefined) touched = s;
          else (merged ??= [touched]).push(s);
          if (s.start < start) start = s.start;
          if (s.end > end) end = s.end;
        }
      }
    }
    if (touched === undefined && end <= wm) {
      late.push({ record, reason: lateReason(t, wm, grace) });
    } else {
      // A copy (what a step's output carries besides the record is not the session's) that reads
      // its value again from where the record came, if it can: the session's steps run its
      // records when it closes, and again on a `ctx.sql` round, past the time limit, call by call.
      const copy = keptCopy(record);
      if (changes) {
        // Sessions that merge hold their records in a new order: the key is written again.
        if (merged) changes.rewritten.add(id);
        else if (!changes.rewritten.has(id)) {
          const appended = changes.appended.get(id);
          if (appended) appended.push(copy);
          else changes.appended.set(id, [copy]);
        }
      }
      if (merged) {
        const session: Session = { key: record.key, start, end, records: merged.flatMap((s) => s.records) };
        session.records.push(copy);
        list = [...list!.filter((s) => !merged!.includes(s)), session];
        sessions.set(id, list);
      } else if (touched) {
        touched.records.push(copy);
        touched.start = start;
        touched.end = end;
      } else {
        const session: Session = { key: record.key, start, end, records: [copy] };
        if (list) list.push(session);
        else sessions.set(id, (list = [session]));
        // A session of its own may end before the key's others: the key's entry comes nearer.
        ends?.opened(id, end);
      }
      // Extended or merged sessions end later than before: their key's entry stays a lower bound.
      if (list!.length > 1) list!.sort((a, b) => a.start - b.start);
    }
    if (t > max) max = t;
    if (!ended) {
      const candidate = Math.min(bound ?? max, othersMin) - grace;
      if (candidate > wm) wm = candidate;
    }
  }
  const channels = { ...state.watermark.channels, [channel]: bound === undefined ? { maxEventTime: max, lastActivity: now } : { maxEventTime: max, lastActivity: now, bound } };
  const watermark = { ...state.watermark, channels, watermark: wm, lastActivity: Math.max(state.watermark.lastActivity, now) };
  return { late, state: { sessions, watermark, ...(changes ? { changes } : {}), ...(ends ? { ends } : {}) } };
}

/** A checkpoint row of a key's held records: `<n>:<encoded key>` → records, undefined when the row goes. */
export type SessionRow = [id: string, value: EngineRecord[] | undefined];

/**
 * The rows to write since the last call (SessionChanges): a rewritten key's row 0 (its open
 * sessions' records) with its other rows gone, an appended key's next row. Live values: the
 * caller copies what it keeps.
 */
export function takeSessionRows(state: SessionsState): SessionRow[] {
  const out: SessionRow[] = [];
  const c = state.changes;
  if (!c) return out;
  for (const [id, records] of c.appended) {
    if (c.rewritten.has(id)) continue;
    const n = c.rows.get(id) ?? 0;
    if (n >= MAX_ROWS_PER_KEY) {
      c.rewritten.add(id);
      continue;
    }
    out.push([`${n}:${id}`, records]);
    c.rows.set(id, n + 1);
  }
  for (const id of c.rewritten) {
    const n = c.rows.get(id) ?? 0;
    const list = state.sessions.get(id);
    const records = list ? (list.length === 1 ? list[0]!.records : list.flatMap((s) => s.records)) : undefined;
    if (records) out.push([`0:${id}`, records]);
    for (let i = records ? 1 : 0; i < n; i++) out.push([`${i}:${id}`, undefined]);
    if (records) c.rows.set(id, 1);
    else c.rows.delete(id);
  }
  c.appended.clear();
  c.rewritten.clear();
  return out;
}

/**
 * Open sessions from the rows `takeSessionRows` wrote (each key's rows in order): a key's records
 * grouped by `gapMs` (records at most the gap apart are one session), each session's records in
 * the order they were held.
 */
export function restoreSessions(rows: Iterable<readonly [string, unknown]>, gapMs: number): { sessions: Map<string, Session[]>; changes: SessionChanges } {
  const byKey = new Map<string, EngineRecord[][]>();
  for (const [rowId, value] of rows) {
    const colon = rowId.indexOf(':');
    const n = Number(rowId.slice(0, colon));
    const id = rowId.slice(colon + 1);
    let parts = byKey.get(id);
    if (!parts) byKey.set(id, (parts = []));
    // Read from the row: each read again from its text (`keptRecord`), there being no message to read it from.
    parts[n] = (value as EngineRecord[]).map((r) => keptRecord(r.key, r.value, r.timestamp, r.headers));
  }
  const sessions = new Map<string, Session[]>();
  const changes: SessionChanges = { appended: new Map(), rewritten: new Set(), rows: new Map() };
  for (const [id, parts] of byKey) {
    changes.rows.set(id, parts.length);
    const records = parts.flat();
    if (records.length === 0) continue;
    // Sessions by time: a record more than the gap after the latest one so far starts the next.
    const times = records.map((r) => r.timestamp).sort((a, b) => a - b);
    const list: Session[] = [];
    let start = times[0]!;
    let last = start;
    const bounds: Array<{ start: number; last: number }> = [];
    for (const t of times) {
      if (t > last + gapMs) {
        bounds.push({ start, last });
        start = t;
      }
      last = t;
    }
    bounds.push({ start, last });
    for (const b of bounds) list.push({ key: records[0]!.key, start: b.start, end: b.last + gapMs, records: [] });
    for (const r of records) {
      let i = 0;
      while (r.timestamp > bounds[i]!.last) i++;
      list[i]!.records.push(r);
    }
    sessions.set(id, list);
  }
  return { sessions, changes };
}

/** The least event time of the channels other than `channel` that are not idle at `now`. */
export function othersMinimum(state: WatermarkState, channel: string, now: number, options: WatermarkOptions): number {
  let min = Number.POSITIVE_INFINITY;
  for (const name in state.channels) {
    if (name === channel) continue;
    const ch = state.channels[name]!;
    if (options.idlenessMs !== undefined && now - ch.lastActivity >= options.idlenessMs) continue;
    const t = channelTime(ch);
    if (t < min) min = t;
  }
  return min;
}

export interface ClosedSession {
  key: Key | null;
  window: WindowBounds;
  /** In event-time order (ties in arrival order): how the window's steps see them. */
  records: EngineRecord[];
}

/**
 * Takes the sessions the watermark has closed out of `state.sessions`, in the order they are
 * flushed: by end, then start, then key (numbers by value, else by their encoding), so a replay
 * flushes alike.
 */
export function takeClosedSessions(state: SessionsState): ClosedSession[] {
  const wm = state.watermark.watermark;
  const closed: Array<ClosedSession & { id: string }> = [];
  const ends = (state.ends ??= SessionEnds.of(state.sessions));
  for (const id of ends.reached(wm)) {
    const list = state.sessions.get(id);
    if (!list) continue;
    const open = list.filter((s) => s.end > wm);
    if (open.length > 0) ends.opened(id, leastEnd(open));
    // Its entry was early: its sessions were extended since.
    if (open.length === list.length) continue;
    for (const s of list) {
      if (s.end > wm) continue;
      const records = s.records.length > 1 ? [...s.records].sort((a, b) => a.timestamp - b.timestamp) : s.records;
      closed.push({ id, key: s.key, window: { start: s.start, end: s.end }, records });
    }
    state.changes?.rewritten.add(id);
    if (open.length === 0) state.sessions.delete(id);
    else state.sessions.set(id, open);
  }
  closed.sort((a, b) => a.window.end - b.window.end || a.window.start - b.window.start || compareKeys(a, b));
  return closed.map(({ key, window, records }) => ({ key, window, records }));
}

function compareKeys(a: { key: Key | null; id: string }, b: { key: Key | null; id: string }): number {
  if (typeof a.key === 'number' && typeof b.key === 'number') return a.key - b.key;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function lateReason(t: number, watermark: number, grace: number): string {
  return (
    `late: event time ${iso(t)} is behind the watermark ${iso(watermark)} ` +
    `(grace period ${grace} ms); its session window has closed`
  );
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
