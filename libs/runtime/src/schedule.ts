/**
 * The clock of a `schedule` source. The unit that reads a schedule topic makes its ticks itself,
 * as a reader of that topic whose messages are the fire times due so far: a tick is an input
 * message like any other, so the host loop runs it, publishes what it caused and commits its
 * position (the fire time, as the channel's offset) with the state it changed, in one checkpoint.
 * A restart resumes after the last committed fire time: no tick runs twice, and the ticks that
 * fell due while nothing ran fire then (the latest `MAX_CATCH_UP` of them), at their own times.
 *
 * A tick's event time is its fire time; its value is `{schedule, time}`. Intervals count from
 * the first start (`anchor`); cron expressions are in UTC. The bus topic of the schedule is read
 * only for an end-of-input marker (a bounded run ends its schedules with its inputs).
 */
import type { BusMessage, PartitionReader } from '@ssdk/bus';
import { encodeFrame, isFrame, peekFrame } from '@ssdk/records';
import { parseCron } from '@ssdk/spec';

/** Ticks missed while the dataflow was down that still fire on restart; older ones are skipped. */
export const MAX_CATCH_UP = 1000;

export interface ScheduleClock {
  name: string;
  cron?: string;
  intervalMs?: number;
}

export interface ScheduleReaderOptions {
  /** The last committed fire time (epoch ms), 0 when the schedule never fired. */
  afterSeq: number;
  now: () => number;
  /** The schedule's bus topic, read for an end-of-input marker. */
  control?: PartitionReader;
}

/** The fire time after `after`, or undefined when the schedule never fires again. */
export function nextFireTime(clock: ScheduleClock, after: number): number | undefined {
  if (clock.intervalMs !== undefined) return after + clock.intervalMs;
  if (clock.cron === undefined) throw new Error(`schedule \`${clock.name}\` has neither \`cron\` nor \`interval\``);
  const cron = parseCron(clock.cron);
  if ('error' in cron) throw new Error(`schedule \`${clock.name}\`: ${cron.error}`);
  return cron.next(after);
}

/**
 * Where a schedule resumes: after its last committed fire time, skipping all but the last
 * `MAX_CATCH_UP` ticks that fell due while nothing ran; a schedule that never fired starts now.
 */
export function resumePoint(clock: ScheduleClock, afterSeq: number, now: number): number {
  if (afterSeq <= 0) return now;
  if (clock.intervalMs !== undefined) {
    const missed = Math.floor((now - afterSeq) / clock.intervalMs);
    return missed > MAX_CATCH_UP ? afterSeq + (missed - MAX_CATCH_UP) * clock.intervalMs : afterSeq;
  }
  const due: number[] = [];
  for (let t = nextFireTime(clock, afterSeq); t !== undefined && t <= now; t = nextFireTime(clock, t)) {
    due.push(t);
    if (due.length > MAX_CATCH_UP) due.shift();
  }
  return due.length === MAX_CATCH_UP ? due[0]! - 1 : afterSeq;
}

const utf8 = new TextEncoder();

/** A `PartitionReader` whose messages are a schedule's ticks, with their fire times as sequence numbers. */
export function scheduleReader(clock: ScheduleClock, o: ScheduleReaderOptions): PartitionReader {
  let last = resumePoint(clock, o.afterSeq, o.now());
  let next = nextFireTime(clock, last);
  let fired = o.afterSeq;
  let closed = false;
  let wake: (() => void) | undefined;
  const tick = (time: number): BusMessage => ({
    seq: time,
    data: encodeFrame({ kind: 'data', records: [{ key: null, value: utf8.encode(JSON.stringify({ schedule: clock.name, time })), timestamp: time }] }),
  });
  const ended = async (): Promise<BusMessage | undefined> => {
    if (!o.control) return undefined;
    const messages = await o.control.fetch(16, 0);
    if (messages.length === 0) return undefined;
    await o.control.ack(messages.at(-1)!.seq);
    const end = messages.find((m) => isFrame(m.data) && peekFrame(m.data).kind === 'end');
    // The channel's offset stays at the last fire time.
    return end ? { seq: fired, data: end.data } : undefined;
  };
  const due = (max: number): BusMessage[] => {
    const out: BusMessage[] = [];
    const now = o.now();
    while (next !== undefined && next <= now && out.length < max) {
      out.push(tick(next));
      last = fired = next;
      next = nextFireTime(clock, last);
    }
    return out;
  };
  return {
    async fetch(max, waitMs) {
      const deadline = o.now() + waitMs;
      for (;;) {
        if (closed) return [];
        // What fell due before the end still fires.
        const ticks = due(max);
        if (ticks.length > 0) return ticks;
        const end = await ended();
        if (end) return [end];
        if (o.now() >= deadline) return [];
        const until = Math.min(deadline, next ?? deadline) - o.now();
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.max(1, Math.min(until, 50)));
        });
        wake = undefined;
      }
    },
    // Ticks are made, not stored: their position is committed with the checkpoint.
    async ack() {},
    async close() {
      closed = true;
      wake?.();
      await o.control?.close();
    },
  };
}
