import { describe, expect, it } from 'vitest';
import { isLate, openWindowsOf, windowsOf, type WindowAssigner } from './windows.ts';

const tumbling = (durationMs: number, offsetMs = 0): WindowAssigner => ({ kind: 'tumbling', durationMs, offsetMs });
const sliding = (durationMs: number, slideMs: number): WindowAssigner => ({ kind: 'sliding', durationMs, slideMs });

describe('engine - window assignment', () => {
  it.each([
    // [assigner, t, expected windows]
    ['tumbling 10s, t=0', tumbling(10_000), 0, [[0, 10_000]]],
    ['tumbling 10s, t=9999', tumbling(10_000), 9_999, [[0, 10_000]]],
    ['tumbling 10s, t=10000 starts the next window', tumbling(10_000), 10_000, [[10_000, 20_000]]],
    ['tumbling 10s offset 3s, t=2999', tumbling(10_000, 3_000), 2_999, [[-7_000, 3_000]]],
    ['tumbling 10s offset 3s, t=3000', tumbling(10_000, 3_000), 3_000, [[3_000, 13_000]]],
    ['tumbling 10s offset 13s behaves like offset 3s', tumbling(10_000, 13_000), 12_999, [[3_000, 13_000]]],
    ['tumbling before the epoch', tumbling(10_000), -1, [[-10_000, 0]]],
    ['sliding 60s/20s, t=0', sliding(60_000, 20_000), 0, [[-40_000, 20_000], [-20_000, 40_000], [0, 60_000]]],
    ['sliding 60s/20s, t=59999', sliding(60_000, 20_000), 59_999, [[0, 60_000], [20_000, 80_000], [40_000, 100_000]]],
    ['sliding 60s/20s, t=60000', sliding(60_000, 20_000), 60_000, [[20_000, 80_000], [40_000, 100_000], [60_000, 120_000]]],
    ['sliding with slide = duration is tumbling', sliding(10_000, 10_000), 15_000, [[10_000, 20_000]]],
    ['sliding 25s/10s (duration not a multiple)', sliding(25_000, 10_000), 21_000, [[0, 25_000], [10_000, 35_000], [20_000, 45_000]]],
    ['sliding 25s/10s at 26000 leaves [0,25000)', sliding(25_000, 10_000), 26_000, [[10_000, 35_000], [20_000, 45_000]]],
  ] as const)('%s', (_name, assigner, t, expected) => {
    expect(windowsOf(t, assigner).map((w) => [w.start, w.end])).toEqual(expected);
  });
});

describe('engine - late records', () => {
  it.each([
    // [name, assigner, t, watermark, late?]
    ['on time: window still open', tumbling(10_000), 5_000, 9_999, false],
    ['late: watermark reached the window end', tumbling(10_000), 5_000, 10_000, true],
    ['nothing is late before the first watermark', tumbling(10_000), 5_000, Number.NEGATIVE_INFINITY, false],
    ['sliding: oldest window closed, newer open -> not late', sliding(60_000, 20_000), 30_000, 60_000, false],
    ['sliding: all three windows closed -> late', sliding(60_000, 20_000), 30_000, 80_000, true],
    ['everything is late after end of input', tumbling(10_000), 1e15, Number.POSITIVE_INFINITY, true],
  ] as const)('%s', (_name, assigner, t, watermark, late) => {
    expect(isLate(t, watermark, assigner)).toBe(late);
  });

  it('engine - a record partly late counts only for its open sliding windows', () => {
    // t=30s is in [-20s,40s), [0s,60s) and [20s,80s); at watermark 60s only the last is open.
    expect(openWindowsOf(30_000, 60_000, sliding(60_000, 20_000))).toEqual([{ start: 20_000, end: 80_000 }]);
  });
});
