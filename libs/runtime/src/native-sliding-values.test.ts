import { describe, expect, it } from 'vitest';
import { MemoryState, ownCopy, ownedRecord, windowLogic, type ChainStep, type EngineRecord, type FunctionContext, type SqlRow } from '@ssdk/engine';
import { nativeExecutor } from './native-executor.ts';

// A sliding window gives a record to each of its windows. Sandboxed, each window's steps get a
// value of their own (the guest decodes every input); natively, a function that changes the value
// in place in one window must not change what the record's next window gets — nor what a run
// again of a window (a `ctx.sql` round, call by call) gets.

interface Reading {
  sensor: string;
  n: number;
}

/** Three readings, each read again from its message as it came (`ownedRecord`'s source); `wrap`: as events, `{reading}`. */
const readings = (wrap = false): EngineRecord[] =>
  (
    [
      ['a', 1, 25_000],
      ['b', 5, 26_000],
      ['a', 7, 27_000],
    ] as const
  ).map(([sensor, n, t]) => {
    const read = () => (wrap ? { reading: { sensor, n } } : { sensor, n });
    return ownedRecord(sensor, read(), t, undefined, { valueAgain: read }, null);
  });

/** The update-state bumps the reading in place, then keeps what it saw per key and window (asking ctx.sql when told: a run again). */
const bumpAndKeep = (ask: boolean, promise: boolean): ChainStep => ({
  id: 'w.keep',
  operator: 'update-state',
  states: ['seen'],
  fn: (v: unknown, ctx: unknown) => {
    const c = ctx as FunctionContext;
    // A promise left behind: its executor makes no sections from then on (call by call).
    if (promise) void Promise.resolve();
    const r = v as Reading;
    r.n = r.n + 1;
    const n = ask ? (c.sql('SELECT $1::int AS n', [r.n])[0]!['n'] as number) : r.n;
    c.state<number[]>('seen').update((seen) => [...(seen ?? []), n]);
  },
});
const list: ChainStep = {
  id: 'w.list',
  operator: 'flush',
  states: ['seen'],
  fn: (ctx: unknown) => {
    const c = ctx as FunctionContext;
    const seen = [...c.state<number[]>('seen').entries()].map(([k, ns]) => `${String(k)}:${ns.join(',')}`).sort();
    return `${c.window().start}: ${seen.join(' ')}`;
  },
};
const bySensor: ChainStep = { id: 'w.by-sensor', operator: 'assign-key', fn: (v: unknown) => (v as Reading).sensor };
/** The fused shape: the window's input is a value a step before it made (`event.reading`). */
const onlyReadings: ChainStep = { id: 'w.only-readings', operator: 'filter-map', fn: (v: unknown) => (v as { reading?: Reading }).reading };
const sql = async (_q: string, params: unknown[]): Promise<SqlRow[]> => [{ n: params[0] }];

/** 30 s windows sliding by 10 s: each reading (25–27 s) is in the windows starting at 0, 10 and 20 s. */
const sliding = (pre: ChainStep[], body: ChainStep[], copy?: (v: unknown) => unknown) =>
  windowLogic({
    ...(copy ? { ownCopy: copy } : {}),
    config: { assigner: { kind: 'sliding', durationMs: 30_000, slideMs: 10_000 }, watermark: { gracePeriodMs: 0 } },
    ...(pre.length ? { pre: nativeExecutor(pre, { sql }) } : {}),
    body: nativeExecutor(body, { sql }),
    windowStates: ['seen'],
    hasFlush: true,
    state: new MemoryState(),
    channels: ['readings/0'],
  });

// What each window saw: every one the readings bumped once, as a sandboxed run gives.
const eachOnce = ['0: a:2,8 b:6', '10000: a:2,8 b:6', '20000: a:2,8 b:6'];

describe('runtime - a sliding window gives each of a record its own value, natively as sandboxed', () => {
  const cases: Array<[string, ChainStep[], boolean]> = [
    ['no steps before the window', [], false],
    ['its key step fused before it', [bySensor], false],
    ['a step before it that makes its value (fused: event.reading)', [onlyReadings, bySensor], true],
  ];
  for (const [what, pre, wrap] of cases) {
    for (const [how, ask, promise] of [
      ['', false, false],
      [', asking ctx.sql (a run again)', true, false],
      [', asking ctx.sql call by call', true, true],
    ] as const) {
      it(`runtime - a window's in-place change is not seen by the record's next window (${what}${how})`, async () => {
        const w = sliding(pre, [bumpAndKeep(ask, promise), list]);
        const effects = [await w.process(readings(wrap), 'readings/0', 0), await w.end()];
        expect(effects.flatMap((e) => e.failures)).toEqual([]);
        expect(effects.flatMap((e) => e.flushes.map((f) => f.record.value))).toEqual(eachOnce);
      });
    }
  }
});

describe('runtime - the copies a sliding window makes for its record\'s later windows', () => {
  it('runtime - they come from the copier the unit was given (the type\'s quicker one), one per later window, with the same results', async () => {
    const copied: unknown[] = [];
    const w = sliding([bySensor], [bumpAndKeep(false, false), list], (v) => (copied.push(v), ownCopy(v)));
    const effects = [await w.process(readings(), 'readings/0', 0), await w.end()];
    expect(effects.flatMap((e) => e.flushes.map((f) => f.record.value))).toEqual(eachOnce);
    // Three readings, each in three windows: a copy for each of the two after its first.
    expect(copied.length).toBe(6);
  });
});
