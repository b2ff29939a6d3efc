import { describe, expect, it } from 'vitest';
import { decodeFrame } from '@ssdk/records';
import { memoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
import { startEmbedded } from './embedded.ts';
import { MAX_CATCH_UP, resumePoint, scheduleReader } from './schedule.ts';
import { ticksServices } from './testdata/ticks.ts';
import { planNative } from './dataflow.testkit.ts';

const T0 = Date.parse('2026-12-06T10:00:00Z');

/** A clock a test moves by hand. */
function manualClock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const valueOf = (data: Uint8Array) => {
  const f = decodeFrame(data);
  if (f.kind !== 'data') throw new Error(`a ${f.kind} frame`);
  return { value: JSON.parse(new TextDecoder().decode(f.records[0]!.value)) as unknown, timestamp: f.records[0]!.timestamp };
};

describe('schedule - the clock', () => {
  it('schedule - an interval fires from the first start, each tick at its fire time, sequenced by it', async () => {
    const clock = manualClock();
    const r = scheduleReader({ name: 'fast', intervalMs: 200 }, { afterSeq: 0, now: clock.now });
    expect(await r.fetch(10, 0)).toEqual([]);
    clock.advance(650);
    const ticks = await r.fetch(10, 0);
    expect(ticks.map((m) => m.seq)).toEqual([T0 + 200, T0 + 400, T0 + 600]);
    expect(valueOf(ticks[0]!.data)).toEqual({ value: { schedule: 'fast', time: T0 + 200 }, timestamp: T0 + 200 });
    expect(await r.fetch(10, 0)).toEqual([]);
  });

  it('schedule - a restart resumes after the committed fire time and fires what fell due meanwhile', async () => {
    const clock = manualClock(T0 + 1000);
    const r = scheduleReader({ name: 'fast', intervalMs: 200 }, { afterSeq: T0 + 400, now: clock.now });
    expect((await r.fetch(10, 0)).map((m) => m.seq)).toEqual([T0 + 600, T0 + 800, T0 + 1000]);
  });

  it('schedule - a cron schedule fires on its minutes, in UTC', async () => {
    const clock = manualClock(Date.parse('2026-12-06T10:14:30Z'));
    const r = scheduleReader({ name: 'quarter', cron: '*/15 * * * *' }, { afterSeq: 0, now: clock.now });
    clock.advance(31 * 60_000);
    expect((await r.fetch(10, 0)).map((m) => new Date(m.seq).toISOString())).toEqual(['2026-12-06T10:15:00.000Z', '2026-12-06T10:30:00.000Z', '2026-12-06T10:45:00.000Z']);
  });

  it.each([
    ['an interval', { name: 'i', intervalMs: 1000 }],
    ['a cron', { name: 'c', cron: '* * * * * *' }],
  ])('schedule - after a long outage %s fires only the latest ticks it missed', (_, clock) => {
    const after = T0;
    const now = T0 + (MAX_CATCH_UP + 500) * 1000;
    const from = resumePoint(clock, after, now);
    // The first tick fired is the MAX_CATCH_UP-th from the end.
    expect(Math.ceil((now - from) / 1000)).toBe(MAX_CATCH_UP);
    expect(resumePoint(clock, now - 5000, now)).toBe(now - 5000);
  });

  it('schedule - an end-of-input marker on the schedule topic ends it, at the last fire time', async () => {
    const clock = manualClock();
    let sent = false;
    const control = {
      fetch: async () => (sent ? [] : ((sent = true), [{ seq: 1, data: new Uint8Array([0x53, 0x46, 1, 2, 0, 0, 0, 0]) }])),
      ack: async () => {},
      close: async () => {},
    };
    const r = scheduleReader({ name: 'fast', intervalMs: 200 }, { afterSeq: T0 - 100, now: clock.now, control });
    const [end] = await r.fetch(10, 0);
    expect(decodeFrame(end!.data).kind).toBe('end');
    expect(end!.seq).toBe(T0 - 100);
  });
});

const SERVICES = ticksServices({ sink: true });

async function start(checkpoints: CheckpointStore) {
  const { plan, functions } = await planNative(SERVICES);
  return startEmbedded({ plan, checkpoints, isolation: 'native', functions });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('schedule - embedded', () => {
  it('schedule - a 200 ms interval fires 10 ± 1 times in 2 s, each tick once, across a restart', async () => {
    const checkpoints = memoryCheckpointStore();
    const first = await start(checkpoints);
    const started = Date.now();
    await sleep(1000);
    await first.stop();
    const second = await start(checkpoints);
    await sleep(Math.max(0, 2000 - (Date.now() - started)));
    await second.endInput();
    await second.ended();
    // The committed state holds each tick that ran: keyed by its fire time, counted once.
    const seen = new Map<number, number>();
    await checkpoints.loadState('ticker.count-tick', [{ name: 'seen', table: 'ticker_seen', access: 'read-write' } as never], {
      load: (_s: string, key: unknown, value: unknown) => seen.set(Number(key), value as number),
    } as never);
    const fired = [...seen.keys()].sort((a, b) => a - b);
    expect(fired.length).toBeGreaterThanOrEqual(9);
    expect(fired.length).toBeLessThanOrEqual(11);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    // None missing: 200 ms apart from the first to the last, across the restart.
    expect(fired.slice(1).map((t, i) => t - fired[i]!)).toEqual(fired.slice(1).map(() => 200));
    // The second run's outputs are its ticks, at their fire times.
    const out = await second.read('fired');
    expect(out.length).toBeGreaterThan(0);
    for (const r of out) expect([seen.has(r.value as number), r.timestamp]).toEqual([true, r.value]);
    await second.stop();
  });
});
