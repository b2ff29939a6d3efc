import { describe, expect, it } from 'vitest';
import { addChannel, advance, boundChannel, observe } from './watermark.ts';
import { openWindowsOf } from './windows.ts';
import { assignWindows, endWindows, initialWindowState, windowsToFlush, type WindowConfig } from './window-operator.ts';

const tumbling10: WindowConfig = { assigner: { kind: 'tumbling', durationMs: 10_000, offsetMs: 0 }, watermark: { gracePeriodMs: 2_000 } };
const rec = (t: number, value: unknown = t) => ({ key: null, value, timestamp: t });

describe('engine - window operator', () => {
  it('engine - records count for their window; a record behind a closed window is late', () => {
    // t=13000 moves the watermark to 11000 >= 10000: window [0,10000) is closed after it.
    const r = assignWindows([rec(1_000), rec(13_000), rec(9_000), rec(11_500)], 'p0', 0, tumbling10, initialWindowState());
    expect(r.inputs.map((i) => [i.timestamp, i.window?.start])).toEqual([[1_000, 0], [13_000, 10_000], [11_500, 10_000]]);
    expect(r.late.map((l) => l.record.timestamp)).toEqual([9_000]);
    expect(r.late[0]!.reason).toContain('late: event time 1970-01-01T00:00:09.000Z is behind the watermark 1970-01-01T00:00:11.000Z (grace period 2000 ms)');
    expect(r.state.watermark).toBe(11_000);
  });

  it('engine - within the grace period an out-of-order record is on time', () => {
    const r = assignWindows([rec(11_000), rec(9_500)], 'p0', 0, tumbling10, initialWindowState());
    expect(r.late).toEqual([]);
    expect(r.inputs.map((i) => i.window?.start)).toEqual([10_000, 0]);
  });

  it('engine - a channel with in-band progress goes by it, not by the records it carries', () => {
    // The same shuffled records as the first test: on their own, 13000 makes 9000 late.
    let state = boundChannel(initialWindowState(), 'p0', 4_000, 0);
    const held = assignWindows([rec(1_000), rec(13_000), rec(9_000), rec(11_500)], 'p0', 0, tumbling10, state);
    expect(held.late).toEqual([]);
    expect(held.state.watermark).toBe(2_000);
    expect(held.state.channels['p0']).toMatchObject({ maxEventTime: 13_000, bound: 4_000 });
    // The writers moved on: the watermark follows the bound (minus the grace period) ...
    state = advance(boundChannel(held.state, 'p0', 14_000, 1), tumbling10.watermark, 1);
    expect(state.watermark).toBe(12_000);
    expect(assignWindows([rec(9_999)], 'p0', 1, tumbling10, state).late.map((l) => l.record.timestamp)).toEqual([9_999]);
    // ... the least bound over channels counts, and cleared it goes by what the channel has seen.
    state = boundChannel(addChannel(state, 'p1', 1), 'p1', 13_000, 1);
    expect(advance(boundChannel(state, 'p0', 30_000, 2), tumbling10.watermark, 2).watermark).toBe(12_000);
    expect(advance(boundChannel(boundChannel(state, 'p1', 20_000, 2), 'p0', undefined, 2), tumbling10.watermark, 2).watermark).toBe(12_000);
    expect(boundChannel(state, 'p0', undefined, 2).channels['p0']).toEqual({ maxEventTime: 13_000, lastActivity: 0 });
  });

  it('engine - lateness does not depend on batching', () => {
    const records = [rec(1_000), rec(25_000), rec(12_000), rec(3_000), rec(26_000)];
    const whole = assignWindows(records, 'p0', 0, tumbling10, initialWindowState());
    let state = initialWindowState();
    const late: number[] = [];
    for (const r of records) {
      const part = assignWindows([r], 'p0', 0, tumbling10, state);
      state = part.state;
      late.push(...part.late.map((l) => l.record.timestamp));
    }
    expect(whole.late.map((l) => l.record.timestamp)).toEqual(late);
    expect(late).toEqual([12_000, 3_000]);
  });

  it('engine - sliding windows: a record counts for each of its open windows', () => {
    const sliding: WindowConfig = { assigner: { kind: 'sliding', durationMs: 60_000, slideMs: 20_000 }, watermark: { gracePeriodMs: 0 } };
    const r = assignWindows([rec(70_000), rec(45_000)], 'p0', 0, sliding, initialWindowState());
    // 45000 is in [0,60000) (closed at watermark 70000), [20000,80000) and [40000,100000).
    expect(r.inputs.filter((i) => i.timestamp === 45_000).map((i) => i.window?.start)).toEqual([20_000, 40_000]);
    expect(r.late).toEqual([]);
  });

  it('engine - owned records go to their first open window as they are; the caller\'s records are copied', () => {
    const sliding: WindowConfig = { assigner: { kind: 'sliding', durationMs: 60_000, slideMs: 20_000 }, watermark: { gracePeriodMs: 0 } };
    const records = [rec(70_000), rec(45_000)];
    const owned = assignWindows(records, 'p0', 0, sliding, initialWindowState(), true);
    // The same windows and order as copies would give.
    const theirs = [rec(70_000), rec(45_000)];
    const copied = assignWindows(theirs, 'p0', 0, sliding, initialWindowState());
    expect(owned.inputs.map((i) => [i.timestamp, i.window?.start])).toEqual(copied.inputs.map((i) => [i.timestamp, i.window?.start]));
    // 45000's first open window is [20000,80000): the record itself, its window set; [40000,100000) gets a copy.
    const of45 = owned.inputs.filter((i) => i.timestamp === 45_000);
    expect(of45[0]).toBe(records[1]);
    expect(of45[1]).not.toBe(records[1]);
    expect(records[1]).toMatchObject({ window: { start: 20_000, end: 80_000 } });
    expect(copied.inputs.some((i) => theirs.includes(i as (typeof theirs)[number]))).toBe(false);
    expect(theirs[1]).not.toHaveProperty('window');
  });

  it('engine - inputs get the caller\'s one object per window, asked once per run of records in it, never for a window a record is late for', () => {
    const asked: number[] = [];
    const held = new Map<number, { start: number; end: number }>();
    const share = (w: { start: number; end: number }) => {
      asked.push(w.start);
      let one = held.get(w.start);
      if (!one) held.set(w.start, (one = { ...w }));
      return one;
    };
    // 9000 is late (13000 moved the watermark to 11000): its window [0,10000) is not asked for
    // again; 11500 and 12000 are a new run of [10000,20000).
    const tumbling = assignWindows([rec(1_000), rec(2_000), rec(13_000), rec(9_000), rec(11_500), rec(12_000)], 'p0', 0, tumbling10, initialWindowState(), false, undefined, share);
    expect(asked).toEqual([0, 10_000, 10_000]);
    expect(tumbling.inputs.map((i) => i.window)).toEqual([held.get(0), held.get(0), held.get(10_000), held.get(10_000), held.get(10_000)]);
    expect(tumbling.inputs.every((i) => i.window === held.get(i.window!.start))).toBe(true);
    // Sliding: each open window of a run of records once, in the order inputs are made; 45000 is a
    // run of its own, and its window [0,60000) is closed (watermark 71000).
    asked.length = 0;
    held.clear();
    const sliding: WindowConfig = { assigner: { kind: 'sliding', durationMs: 60_000, slideMs: 20_000 }, watermark: { gracePeriodMs: 0 } };
    const r = assignWindows([rec(70_000), rec(71_000), rec(45_000)], 'p0', 0, sliding, initialWindowState(), true, undefined, share);
    expect(asked).toEqual([20_000, 40_000, 60_000, 20_000, 40_000]);
    expect(r.inputs.every((i) => i.window === held.get(i.window!.start))).toBe(true);
  });

  it('engine - windows flush oldest first once the watermark passes their end; end of input flushes all', () => {
    const open = [{ start: 20_000, end: 30_000 }, { start: 0, end: 10_000 }, { start: 10_000, end: 20_000 }];
    const state = assignWindows([rec(22_500)], 'p0', 0, tumbling10, initialWindowState()).state; // watermark 20500
    expect(windowsToFlush(open, state)).toEqual([{ start: 0, end: 10_000 }, { start: 10_000, end: 20_000 }]);
    expect(windowsToFlush(open, endWindows(state)).map((w) => w.start)).toEqual([0, 10_000, 20_000]);
  });

  it('engine - the watermark is the minimum over registered channels', () => {
    let s = addChannel(addChannel(initialWindowState(), 'p0', 0), 'p1', 0);
    s = assignWindows([rec(30_000)], 'p0', 0, tumbling10, s).state;
    expect(s.watermark).toBe(Number.NEGATIVE_INFINITY);
    s = assignWindows([rec(12_000)], 'p1', 0, tumbling10, s).state;
    expect(s.watermark).toBe(10_000);
    const r = assignWindows([rec(9_000)], 'p1', 0, tumbling10, s);
    expect(r.late.length).toBe(1);
  });
});

describe('engine - window operator against the step-by-step definition', () => {
  it('engine - a batch decides exactly like observe + advance folded record by record', () => {
    let seed = 42;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const config of [
      tumbling10,
      { assigner: { kind: 'sliding', durationMs: 30_000, slideMs: 10_000 }, watermark: { gracePeriodMs: 3_000, idlenessMs: 5_000 } } as WindowConfig,
    ]) {
      let fast = addChannel(addChannel(initialWindowState(), 'p0', 0), 'p1', 0);
      let slow = fast;
      for (let batch = 0; batch < 50; batch++) {
        const channel = rand() < 0.5 ? 'p0' : 'p1';
        const now = batch * 1_000;
        const records = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => rec(Math.floor(rand() * 200_000)));
        const r = assignWindows(records, channel, now, config, fast);
        fast = r.state;
        const late: number[] = [];
        const inputs: Array<[number, number | undefined]> = [];
        for (const record of records) {
          const open = openWindowsOf(record.timestamp, slow.watermark, config.assigner);
          if (open.length === 0) late.push(record.timestamp);
          for (const w of open) inputs.push([record.timestamp, w.start]);
          slow = advance(observe(slow, channel, record.timestamp, now), config.watermark, now);
        }
        expect(r.late.map((l) => l.record.timestamp)).toEqual(late);
        expect(r.inputs.map((i) => [i.timestamp, i.window?.start])).toEqual(inputs);
        expect(fast.watermark).toBe(slow.watermark);
      }
    }
  });

  it('engine - sliding windows of neighbouring records (reused between them) are those of each record alone', () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const [durationMs, slideMs] of [[60_000, 20_000], [50_000, 20_000], [25_000, 10_000], [10_000, 10_000]] as const) {
      const config: WindowConfig = { assigner: { kind: 'sliding', durationMs, slideMs }, watermark: { gracePeriodMs: 15_000 } };
      let t = 100_000;
      // Times that mostly move forward by a little and sometimes jump back: every boundary case
      // of a reused window list (a step boundary, a window's end, going back past one).
      const records = Array.from({ length: 400 }, () => rec((t += Math.floor((rand() - 0.2) * 6_000))));
      const r = assignWindows(records, 'p0', 0, config, initialWindowState());
      let slow = initialWindowState();
      const expected: Array<[number, number]> = [];
      for (const record of records) {
        for (const w of openWindowsOf(record.timestamp, slow.watermark, config.assigner)) expected.push([record.timestamp, w.start]);
        slow = advance(observe(slow, 'p0', record.timestamp, 0), config.watermark, 0);
      }
      expect(r.inputs.map((i) => [i.timestamp, i.window!.start])).toEqual(expected);
    }
  });
});
