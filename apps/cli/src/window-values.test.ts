/**
 * A function that changes its record's value in place inside a window: with its functions native
 * and sandboxed, a dataflow gives the same results. Sandboxed, every call decodes values of its
 * own; natively, one object may reach several calls — a sliding window's record each of its
 * windows, a session's record a step before it made (`ssdk run` fuses it into the session's unit),
 * run again on a `ctx.sql` round at close.
 */
import { describe, expect, it } from 'vitest';
import { openTestSession } from './session.testkit.ts';

const SERVICES = `apiVersion: 0.5.0
meta: {name: window-values, namespace: tests, version: 0.1.0}
config: {function-timeout: 30s}
types:
  reading:
    type: object
    properties:
      sensor: {type: string}
      n: {type: i64}
  event:
    type: object
    properties:
      reading: {type: reading}
  total:
    type: object
    properties:
      sensor: {type: string}
      n: {type: i64}
  totals:
    type: object
    properties:
      start: {type: i64}
      totals: {type: list, items: {type: total}}
topics:
  readings: {schema: {value: {type: reading}}}
  events: {schema: {value: {type: event}}}
  sliding-totals: {schema: {value: {type: totals}}}
  session-totals: {schema: {value: {type: totals}}}
services:
  # Each reading counts in three windows; in each, a map bumps it in place, and the update-state
  # bumps it again through an alias (an update-state may only read its value: the function check
  # refuses \`r.n = …\`, but an alias is more than it follows, so the runtimes must agree on it).
  sliding:
    sources: [{type: topic, id: readings}]
    states:
      sums:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: i64}
    window:
      sliding: {duration: 30s, slide: 10s}
      assign-timestamp:
        run: |
          function at(r: Reading, eventTime: number): number {
            return eventTime;
          }
      partition:
        assign-key:
          run: |
            function bySensor(r: Reading): string {
              return r.sensor;
            }
        transforms:
          - operator: map
            run: |
              function bump(r: Reading): Reading {
                r.n = r.n + 1;
                return r;
              }
        update-state:
          run: |
            function bumpAndAdd(r: Reading, ctx: Ctx): void {
              const reading = r;
              reading.n = reading.n + 1;
              ctx.state('sums').increment(reading.n);
            }
      flush:
        run: |
          function sums(ctx: Ctx): Totals {
            const totals: Total[] = [];
            for (const [sensor, n] of ctx.state('sums').entries()) totals.push({ sensor, n });
            totals.sort((a, b) => (a.sensor < b.sensor ? -1 : 1));
            return { start: ctx.window().start, totals };
          }
    sinks: [{type: topic, id: sliding-totals}]
  # A step before the session makes its value (event.reading); at close, the update-state bumps
  # it in place through an alias and asks ctx.sql about it (a run again).
  sessions:
    sources:
      - type: topic
        id: events
        transforms:
          - operator: filter-map
            run: |
              function onlyReadings(e: Event): Reading | undefined {
                return e.reading;
              }
    states:
      session-sums:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: i64}
    window:
      session: {gap: 10s}
      assign-timestamp:
        run: |
          function at(r: Reading, eventTime: number): number {
            return eventTime;
          }
      partition:
        assign-key:
          run: |
            function bySensor(r: Reading): string {
              return r.sensor;
            }
        update-state:
          run: |
            function bumpAskAndAdd(r: Reading, ctx: Ctx): void {
              const reading = r;
              reading.n = reading.n + 1;
              const [row] = ctx.sql('SELECT $1::bigint AS n', [reading.n]);
              ctx.state('session-sums').increment(Number(row.n));
            }
      flush:
        run: |
          function sums(ctx: Ctx): Totals {
            const totals: Total[] = [];
            for (const [sensor, n] of ctx.state('session-sums').entries()) totals.push({ sensor, n });
            return { start: ctx.window().start, totals };
          }
    sinks: [{type: topic, id: session-totals}]
`;

const READINGS = [
  { value: { sensor: 'a', n: 1 }, timestamp: 25_000 },
  { value: { sensor: 'b', n: 5 }, timestamp: 26_000 },
  { value: { sensor: 'a', n: 7 }, timestamp: 27_000 },
];

async function totals(isolation: 'plan' | 'native') {
  const s = await openTestSession(SERVICES, { isolation });
  try {
    await s.df.produce('readings', READINGS);
    await s.df.produce('events', READINGS.map((r) => ({ ...r, value: { reading: r.value } })));
    await s.df.endInput();
    await s.df.ended();
    const values = async (topic: string) => (await s.df.read(topic)).map((r) => r.value);
    return {
      sliding: await values('sliding-totals'),
      sessions: await values('session-totals'),
      dead: [...(await s.df.read('sliding.dead-letter')), ...(await s.df.read('sessions.dead-letter'))].map((r) => r.value),
    };
  } finally {
    await s.close();
  }
}

// Each value bumped (or multiplied) once where it is seen, whatever runs the functions.
const WANT = {
  // a: (1 + 2) + (7 + 2), b: 5 + 2 — in each of the three windows.
  sliding: [0, 10_000, 20_000].map((start) => ({ start, totals: [{ sensor: 'a', n: 12 }, { sensor: 'b', n: 7 }] })),
  sessions: [
    { start: 25_000, totals: [{ sensor: 'a', n: 10 }] },
    { start: 26_000, totals: [{ sensor: 'b', n: 6 }] },
  ],
  dead: [],
};

describe('examples - in-place changes inside windows, native and sandboxed alike', () => {
  it('examples - a sliding window and a session give the same results with their functions native and sandboxed', async () => {
    const native = await totals('native');
    const sorted = (r: typeof native) => ({ ...r, sessions: [...r.sessions].sort((x, y) => (x as { start: number }).start - (y as { start: number }).start) });
    expect(sorted(native)).toEqual(WANT);
    expect(sorted(await totals('plan'))).toEqual(WANT);
  }, 300_000);
});
