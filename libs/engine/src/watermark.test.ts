import { describe, expect, it } from 'vitest';
import { addChannel, advance, endOfInput, initialWatermarkState, observe, type WatermarkOptions, type WatermarkState } from './watermark.ts';

type Event = ['observe', string, number, number] | ['add', string, number] | ['advance', number] | ['end'];

function replay(events: Event[], opts: WatermarkOptions): number[] {
  let s: WatermarkState = initialWatermarkState();
  const seen: number[] = [];
  for (const e of events) {
    if (e[0] === 'observe') s = observe(s, e[1], e[2], e[3]);
    else if (e[0] === 'add') s = addChannel(s, e[1], e[2]);
    else if (e[0] === 'end') s = endOfInput(s);
    else {
      s = advance(s, opts, e[1]);
      seen.push(s.watermark);
    }
  }
  return seen;
}

const NEG = Number.NEGATIVE_INFINITY;

describe('engine - watermark', () => {
  it.each<[string, WatermarkOptions, Event[], number[]]>([
    ['max event time minus grace', { gracePeriodMs: 3_000 }, [['observe', 'p0', 10_000, 0], ['advance', 0]], [7_000]],
    ['no record, no watermark', { gracePeriodMs: 0 }, [['advance', 0]], [NEG]],
    [
      'never goes back when older records arrive',
      { gracePeriodMs: 0 },
      [['observe', 'p0', 10_000, 0], ['advance', 0], ['observe', 'p0', 2_000, 1], ['advance', 1]],
      [10_000, 10_000],
    ],
    [
      'minimum over channels',
      { gracePeriodMs: 1_000 },
      [['observe', 'p0', 10_000, 0], ['observe', 'p1', 4_000, 0], ['advance', 0], ['observe', 'p1', 12_000, 1], ['advance', 1]],
      [3_000, 9_000],
    ],
    [
      'a registered channel with no record holds the watermark back',
      { gracePeriodMs: 0 },
      [['add', 'p1', 0], ['observe', 'p0', 10_000, 0], ['advance', 0]],
      [NEG],
    ],
    [
      'an idle channel is left out after `idleness`',
      { gracePeriodMs: 0, idlenessMs: 5_000 },
      [['observe', 'p1', 1_000, 0], ['observe', 'p0', 10_000, 0], ['advance', 4_999], ['observe', 'p0', 20_000, 5_000], ['advance', 5_000]],
      [1_000, 20_000],
    ],
    [
      'when every channel is idle the clock advances it',
      { gracePeriodMs: 2_000, idlenessMs: 5_000 },
      [['observe', 'p0', 10_000, 0], ['advance', 1_000], ['advance', 5_000], ['advance', 8_000]],
      [8_000, 8_000, 11_000],
    ],
    [
      'without idleness a quiet stream keeps its watermark',
      { gracePeriodMs: 0 },
      [['observe', 'p0', 10_000, 0], ['advance', 1_000_000]],
      [10_000],
    ],
    ['end of input jumps to +Infinity', { gracePeriodMs: 0 }, [['observe', 'p0', 10_000, 0], ['end'], ['advance', 0]], [Number.POSITIVE_INFINITY]],
  ])('%s', (_name, opts, events, expected) => {
    expect(replay(events, opts)).toEqual(expected);
  });
});
