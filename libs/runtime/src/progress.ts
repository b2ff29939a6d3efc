/**
 * Event-time progress carried in band between units: Flink's watermarks, made to survive
 * replicas and restarts.
 *
 * Why: a window unit behind a shuffle cannot tell how far event time has come from the records
 * it reads. Each of its input partitions mixes records of every upstream partition in whatever
 * order the upstream units happened to read them, so a burst produced all at once looks late
 * (word-count over 8 partitions: 98 late words where one ordered stream has 14).
 *
 * How:
 * - A unit reading a topic no unit writes (a source) knows each input channel's progress: the
 *   highest event time it has read there. So does a unit whose timestamp step gave records
 *   another time than they came with: event time starts over there (Flink's
 *   `assignTimestampsAndWatermarks`).
 * - After a batch, a unit publishes a progress frame to every partition of every topic another
 *   unit reads: one entry per channel it reads, `<unit>|<channel>`. The frame follows the batch's
 *   records on each partition, so everything it covers is ahead of it.
 * - A unit reading a topic other units write knows a channel's progress as the least progress
 *   any writer's channel published on it (one not heard from yet holds it at -Infinity), and
 *   forwards that. A window unit forwards its watermark instead: the results it has yet to emit
 *   are stamped at or after it.
 * - Replicas each publish their own channels, so the entries of one writer arrive from several
 *   processes; each is a separate origin, and a partition that moves to another replica goes on
 *   under the same origin.
 * - Idle sources: a source channel quiet for the idleness timeout of the windows downstream is
 *   published as idle and holds nothing back; a channel whose every writer is idle is idle too.
 *   A window unit whose channels are all idle falls back on its own clock (watermark.ts).
 * - Progress frames carry no message id: a repeat after a replay says what was said, and a
 *   receiver keeps the highest time per origin.
 *
 * What a unit has read of progress and seen of event time is committed with its offsets, so a
 * restarted or moved replica forwards from where it left off.
 */
import type { ProgressEntry } from '@ssdk/records';
import type { Channel, ChannelProgress } from './channel.ts';

/** How a unit takes part, decided from the whole plan (topology.ts). */
export interface UnitProgressPlan {
  /** Per input topic that units write: the origins that publish progress on each of its partitions. */
  originsByTopic: ReadonlyMap<string, readonly string[]>;
  /** The smallest idleness timeout of the windows this unit feeds (itself included); none: never idle. */
  idlenessMs?: number;
  /** The unit has a timestamp step (`assign-timestamp`). */
  assignsTime: boolean;
  /** The output topics another unit reads: where progress goes. */
  publishTo: readonly string[];
}

/** How often a busy unit publishes its progress, at most (a quiet one publishes what changed at once). */
export const PROGRESS_INTERVAL_MS = 100;

export class ProgressTracker {
  private readonly channels = new Map<Channel, ChannelProgress>();
  /** Each channel's topic's writer origins, or undefined for a source channel. */
  private readonly origins = new Map<Channel, ReadonlySet<string> | undefined>();
  private readonly unitId: string;
  private readonly plan: UnitProgressPlan;
  /** What was last published per origin, as `time|idle`. */
  private readonly published = new Map<string, string>();
  private lastPublishAt = Number.NEGATIVE_INFINITY;

  constructor(unitId: string, plan: UnitProgressPlan, channels: ReadonlyArray<{ channel: Channel; topic: string }>, committed: Record<Channel, ChannelProgress> | undefined, now: number) {
    this.unitId = unitId;
    this.plan = plan;
    const sets = new Map([...plan.originsByTopic].map(([topic, origins]) => [topic, new Set(origins)]));
    for (const { channel, topic } of channels) {
      this.origins.set(channel, sets.get(topic));
      const c = committed?.[channel];
      // A channel read anew counts as active from now: it may hold the watermark back for one
      // idleness timeout before it is taken for idle.
      this.channels.set(channel, c ? { ...c, received: { ...c.received }, activeAt: Math.max(c.activeAt, now) } : { seen: Number.NEGATIVE_INFINITY, activeAt: now, received: {} });
    }
  }

  /** Whether any output topic is read by another unit (else nothing is published). */
  get publishes(): boolean {
    return this.plan.publishTo.length > 0;
  }

  /**
   * Records of `channel` were processed: the highest event time among them (after the timestamp
   * step) and whether that step changed one. True when the channel's bound changed with it.
   */
  observe(channel: Channel, maxTime: number, retimed: boolean, now: number): boolean {
    const c = this.channels.get(channel);
    if (!c) return false;
    if (maxTime > c.seen) c.seen = maxTime;
    c.activeAt = now;
    if (retimed && !c.retimed) {
      c.retimed = true;
      return true;
    }
    return false;
  }

  /** Whether `observe` of records of `channel`, `retimed` or not, would answer true (without observing them). */
  rebounds(channel: Channel, retimed: boolean): boolean {
    const c = this.channels.get(channel);
    return retimed && c !== undefined && !c.retimed;
  }

  /** A progress frame arrived on `channel`. True when the channel's bound may have moved. */
  receive(channel: Channel, entries: readonly ProgressEntry[]): boolean {
    const c = this.channels.get(channel);
    const expected = this.origins.get(channel);
    if (!c || !expected) return false;
    let changed = false;
    for (const e of entries) {
      if (!expected.has(e.origin)) continue;
      const prev = c.received[e.origin];
      // Time never goes back; an idle entry's time says nothing (the origin may wake up behind it).
      const time = e.idle ? (prev?.time ?? Number.NEGATIVE_INFINITY) : prev ? Math.max(prev.time, e.time) : e.time;
      if (!prev || prev.time !== time || prev.idle !== e.idle) {
        c.received[e.origin] = { time, idle: e.idle };
        changed = true;
      }
    }
    return changed;
  }

  /**
   * A channel's event time for a window, by its writers' progress: the least over their origins
   * that are not idle. Undefined when the channel goes by the records it has seen instead: a
   * source channel, one whose times were reassigned here, one whose writers are all idle, and one
   * fed by a single origin (its records arrive in that origin's order, so the highest seen is as
   * good as the origin's own progress, and better than a frame that comes once a batch).
   */
  bound(channel: Channel): number | undefined {
    const expected = this.origins.get(channel);
    const c = this.channels.get(channel);
    if (!expected || !c || expected.size === 1 || c.retimed) return undefined;
    const p = this.progressOf(channel, c, Number.NaN);
    return p.idle ? undefined : p.time;
  }

  /**
   * The entries to publish now, if they changed since the last publish and the interval has
   * passed (`force`: a quiet moment, publish any change at once). `watermark`: a window unit's,
   * which it forwards instead of its channels' progress.
   */
  due(now: number, force: boolean, watermark: number | undefined): ProgressEntry[] | undefined {
    if (!this.publishes || (!force && now - this.lastPublishAt < PROGRESS_INTERVAL_MS)) return undefined;
    const entries: ProgressEntry[] = [];
    let changed = false;
    for (const [channel, c] of this.channels) {
      const entry = { origin: `${this.unitId}|${channel}`, ...this.progressOf(channel, c, now) };
      if (watermark !== undefined && !entry.idle) entry.time = watermark;
      // Nothing known yet: a missing origin holds the receiver back just the same.
      if (entry.time === Number.NEGATIVE_INFINITY && !entry.idle) continue;
      entries.push(entry);
      const text = `${entry.time}|${entry.idle}`;
      if (this.published.get(entry.origin) !== text) {
        this.published.set(entry.origin, text);
        changed = true;
      }
    }
    if (!changed) return undefined;
    this.lastPublishAt = now;
    return entries;
  }

  /** How far event time has come on a channel, and whether it is idle (`now` NaN: never idle by the clock). */
  private progressOf(channel: Channel, c: ChannelProgress, now: number): { time: number; idle: boolean } {
    const expected = this.origins.get(channel);
    const idleness = this.plan.idlenessMs;
    if (!expected || c.retimed) return { time: c.seen, idle: idleness !== undefined && now - c.activeAt >= idleness };
    let min = Number.POSITIVE_INFINITY;
    for (const origin of expected) {
      const r = c.received[origin];
      if (!r) {
        min = Number.NEGATIVE_INFINITY;
        break;
      }
      if (!r.idle && r.time < min) min = r.time;
    }
    if (min === Number.POSITIVE_INFINITY) return { time: c.seen, idle: true };
    return { time: expected.size === 1 ? Math.max(min, c.seen) : min, idle: false };
  }

  /** What to commit (a copy: the next batch goes on changing the tracker). */
  snapshot(): Record<Channel, ChannelProgress> {
    const out: Record<Channel, ChannelProgress> = {};
    for (const [channel, c] of this.channels) out[channel] = { ...c, received: { ...c.received } };
    return out;
  }
}

/** The highest timestamp among records. */
export function maxTimestamp(records: ReadonlyArray<{ timestamp: number }>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const r of records) if (r.timestamp > max) max = r.timestamp;
  return max;
}
