import { describe, expect, it } from 'vitest';
import type { StateStore } from '@ssdk/state';
import { startEmbedded, type EmbeddedDataflow, type ProduceRecord } from './embedded.ts';
import { cleanupsAfterAll, embeddedRecordAt, embeddedTopics, metricsByService, planNative, postgresStoreOf, resumedMidInput } from './dataflow.testkit.ts';

// car-sensors' shape: a router with two branches, a counter (keyed state, no outputs) alone
// reading the speeding branch's topic. The counter throws for some cars after counting (its
// count must be taken back), the trunk throws for others, and some speeds do not fit the
// speeding topic's type (u8): the topic refuses them, so the counter must never see them.
const SERVICES = `apiVersion: 0.5.0
meta: {name: sole, namespace: test, version: 0.1.0}
types:
  reading:
    type: object
    properties:
      car: {type: string}
      kph: {type: u32}
  event:
    type: object
    properties:
      car: {type: string}
      mph: {type: u32}
      speeding: {type: bool}
  fast:
    type: object
    properties:
      car: {type: string}
      mph: {type: u8}
      speeding: {type: bool}
topics:
  readings: {schema: {key: {type: string}, value: {type: reading}}}
  speeding: {schema: {key: {type: string}, value: {type: fast}}}
  normal: {schema: {key: {type: string}, value: {type: event}}}
services:
  router:
    sources: [{type: topic, id: readings}]
    transforms:
      - operator: map
        run: |
          function toEvent(r: Reading): Event {
            if (r.car === 'bad-trunk') throw new Error('no such car');
            const mph = Math.round(r.kph * 0.621);
            return { car: r.car, mph, speeding: mph > 70 };
          }
    sinks:
      - type: topic
        id: speeding
        transforms:
          - operator: filter
            run: |
              function isSpeeding(e: Event): boolean {
                return e.speeding;
              }
          - operator: map
            run: |
              function toFast(e: Event): Fast {
                return { car: e.car, mph: e.mph, speeding: e.speeding };
              }
      - type: topic
        id: normal
        transforms:
          - operator: filter
            run: |
              function isNormal(e: Event): boolean {
                return !e.speeding;
              }
  counter:
    sources: [{type: topic, id: speeding}]
    states:
      per-car:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    partition:
      assign-key:
        run: |
          function byCar(e: Fast): string {
            return e.car;
          }
      update-state:
        run: |
          function count(e: Fast, ctx: Ctx): void {
            ctx.state('per-car').increment();
            if (e.car.startsWith('boom')) throw new Error('counter broke on ' + e.car);
          }
`;

const cleanups = cleanupsAfterAll();
const T0 = 1_736_154_000_000;

/** Readings of a few cars, some speeding, some failing in the trunk or the counter, some too fast for the speeding topic. */
function readings(n: number, from = 0): ProduceRecord[] {
  const cars = ['a', 'b', 'c', 'boom-1', 'd', 'bad-trunk', 'boom-2', 'e'];
  const out: ProduceRecord[] = [];
  for (let i = from; i < from + n; i++) {
    const car = cars[i % cars.length]!;
    // Every 13th a speed past u8 once converted (> 255 mph): the speeding topic refuses it.
    const kph = i % 13 === 0 ? 500 : i % 3 === 0 ? 80 : 140;
    out.push({ key: car, value: { car, kph }, timestamp: T0 + i * 1000 });
  }
  return out;
}

interface Seen {
  topics: Record<string, unknown[]>;
  state: Array<{ key: unknown; value: unknown }>;
  metrics: Record<string, { state: string; recordsIn: number; recordsOut: number; failed: number; late: number }>;
}

const TOPICS = ['speeding', 'normal', 'router.dead-letter', 'counter.dead-letter', 'router.late-events', 'counter.late-events'];

/**
 * `places`: `check` — each counter dead letter's place is checked in this run's `speeding`, its
 * sequence then left out; `strip` — left out unchecked (a resumed run's first letters name the
 * first run's topic).
 */
async function seen(df: EmbeddedDataflow, store: StateStore, places: 'check' | 'strip' = 'check'): Promise<Seen> {
  const topics = await embeddedTopics(df, TOPICS);
  // A counter's dead letter names its record's place in \`speeding\`: the record is there. The
  // sequence itself depends on the progress frames between (made by the clock), so it is not compared.
  for (const d of topics['counter.dead-letter'] as Array<{ value: { input?: { seq?: number; index: number }; value: unknown } }>) {
    const at = d.value.input!;
    if (places === 'check') expect(await embeddedRecordAt(df, 'speeding', at.seq!, at.index)).toEqual(d.value.value);
    delete at.seq;
  }
  const table = (await store.tables()).find((t) => t.table.includes('per_car'))!.table;
  const state = (await store.scan(table)).map((e) => ({ key: e.key, value: e.value }));
  return { topics, state, metrics: metricsByService(df) };
}

/** A dead letter's record as it was: what a resumed run's letter has whatever message carried it. */
const valueOf = (letter: unknown) => (letter as { value: { value: unknown } }).value.value;

async function start(store: StateStore, soleReaders: boolean, o: { replayInputs?: boolean; keepOutputs?: boolean } = {}) {
  const { plan, functions } = await planNative(SERVICES, { fuse: true });
  return startEmbedded({ plan, functions, isolation: 'native', store, soleReaders, ...o, batchMessages: 4, produceBatch: 7 });
}

async function runWhole(soleReaders: boolean, input: ProduceRecord[]): Promise<Seen> {
  const store = await postgresStoreOf(cleanups);
  const df = await start(store, soleReaders);
  // Merged, the counter is no unit of its own: its steps run in the router's.
  expect(df.topology.units.map((u) => [u.service, u.soleReaders?.map((p) => p.service)])).toEqual(soleReaders ? [['router', ['counter']]] : [['router', undefined], ['counter', undefined]]);
  await df.produce('readings', input);
  await df.endInput();
  await df.ended();
  const s = await seen(df, store);
  await df.stop();
  return s;
}

describe('runtime - a sole reader run in its writer unit (issue 15)', () => {
  it('sole reader - merged and unmerged give the same topics, dead letters (the counter throwing, a value the topic refuses), state and metrics', async () => {
    const input = readings(200);
    const unmerged = await runWhole(false, input);
    const merged = await runWhole(true, input);
    // The case is there: records the counter dead-letters and records the speeding topic refused.
    expect(unmerged.topics['counter.dead-letter']!.length).toBeGreaterThan(0);
    expect(unmerged.topics['router.dead-letter']!.some((d) => JSON.stringify(d).includes('does not fit topic'))).toBe(true);
    expect(merged).toEqual(unmerged);
  });

  it('sole reader - stopped mid-run and resumed on the same input, merged ends as unmerged does, across the change too', async () => {
    const input = readings(120);
    const resumed = async (first: boolean, second: boolean): Promise<Seen> => {
      const store = await postgresStoreOf(cleanups);
      const b = await resumedMidInput(() => start(store, first), () => start(store, second, { replayInputs: true }), 'readings', input, 50);
      const s = await seen(b, store, 'strip');
      await b.stop();
      return s;
    };
    const unmerged = await resumed(false, false);
    const whole = await runWhole(false, input);
    // The counter's state comes out whole: what the first run committed, then the rest.
    expect(unmerged.state).toEqual(whole.state);
    expect(await resumed(true, true)).toEqual(unmerged);
    // Nothing lost across the stop: an in-process topic starts again at sequence 1 in a new
    // process, and the second run's letters made from it had the ids of those the first run stored
    // (published again on the resume) and were dropped as their copies (13 of 19 here) until each
    // run's ids said which run made them (`EmbeddedCommits.incarnation`).
    expect(unmerged.topics['counter.dead-letter']!.map(valueOf)).toEqual(whole.topics['counter.dead-letter']!.map(valueOf));
    // Across the change (a run merged resumed unmerged, or the other way): the same state and outputs.
    for (const [first, second] of [[true, false], [false, true]] as const) {
      const s = await resumed(first, second);
      expect(s.state).toEqual(whole.state);
      for (const t of ['normal', 'router.dead-letter']) expect(s.topics[t]).toEqual(unmerged.topics[t]);
      expect(s.topics['counter.dead-letter']!.map(valueOf)).toEqual(whole.topics['counter.dead-letter']!.map(valueOf));
    }
  });

  it('sole reader - redrive puts the counter\'s dead letters back on the speeding topic and the counter, in its writer unit, runs them', async () => {
    const results: unknown[] = [];
    for (const soleReaders of [false, true]) {
      const store = await postgresStoreOf(cleanups);
      const a = await start(store, soleReaders);
      await a.produce('readings', readings(64));
      await a.idle();
      await a.stop();
      const b = await start(store, soleReaders, { keepOutputs: true });
      const r = await b.redrive('counter');
      // Each letter's place is checked against this run's \`speeding\` (the sequence itself moves
      // with the clock's progress frames before the redrive's records, so it is not compared).
      const s = await seen(b, store, 'check');
      results.push({ r, letters: s.topics['counter.dead-letter'], state: s.state });
      await b.stop();
    }
    expect((results[0] as { r: { redriven: number } }).r.redriven).toBeGreaterThan(0);
    expect(results[1]).toEqual(results[0]);
  });
});
