import { describe, expect, it } from 'vitest';
import type { StateStore } from '@ssdk/state';
import { startEmbedded, type EmbeddedDataflow, type ProduceRecord } from './embedded.ts';
import { cleanupsAfterAll, embeddedRecordAt, embeddedTopics, metricsByService, planNative, postgresStoreOf, resumedMidInput } from './dataflow.testkit.ts';

// Word count's shape: a chain that writes state (a total per word) alone writes `words`, and a
// window alone reads it. The chain throws for some words after counting them (its count must be
// taken back and the sentence's other words never reach the window), and some words do not fit
// `words`' type (a u8 the topic refuses: their sentence is dead-lettered, the window never sees
// it). The window throws for some words in its keyed step and for one window in its flush; some
// sentences come after their windows closed (late events).
const SERVICES = `apiVersion: 0.5.0
meta: {name: window-reader, namespace: test, version: 0.1.0}
types:
  word:
    type: object
    properties:
      text: {type: string}
      weight: {type: u8}
  tally:
    type: object
    properties:
      text: {type: string}
      count: {type: u32}
  tallies:
    type: list
    items: {type: tally}
topics:
  sentences: {schema: {value: {type: string}}}
  words: {schema: {key: {type: string}, value: {type: word}}}
  tops: {schema: {value: {type: tallies}}}
services:
  splitter:
    sources: [{type: topic, id: sentences}]
    states:
      totals:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    transforms:
      - operator: flat-map
        run: |
          function split(s: string): Word[] {
            return s.split(' ').filter((t) => t.length > 0).map((t) => ({ text: t, weight: t.length * 20 }));
          }
    partition:
      assign-key:
        run: |
          function byText(w: Word): string {
            return w.text;
          }
      update-state:
        run: |
          function total(w: Word, ctx: Ctx): void {
            ctx.state('totals').increment();
            if (w.text === 'crash') throw new Error('splitter broke on crash');
          }
    sinks:
      - type: topic
        id: words
  windows:
    sources: [{type: topic, id: words}]
    states:
      in-window:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    window:
      tumbling: {duration: 10s}
      watermark: {grace-period: 1s}
      assign-timestamp:
        run: |
          function at(w: Word, eventTime: number): number {
            return eventTime;
          }
      partition:
        assign-key:
          run: |
            function keyOf(w: Word): string {
              return w.text;
            }
        update-state:
          run: |
            function countIn(w: Word, ctx: Ctx): void {
              ctx.state('in-window').increment();
              if (w.text === 'boom') throw new Error('window broke on boom');
            }
      flush:
        run: |
          function top(ctx: Ctx): Tallies {
            const out: Tally[] = [];
            for (const [text, count] of ctx.state('in-window').entries()) out.push({ text: String(text), count });
            if (out.some((t) => t.text === 'flushboom')) throw new Error('flush broke');
            out.sort((a, b) => b.count - a.count || (a.text < b.text ? -1 : 1));
            return out.slice(0, 3);
          }
    sinks:
      - type: topic
        id: tops
`;

// The same with words as strings, as word count has them: the splitter's records are lent to the
// window's key and time steps as they are (\`WindowWriter.lendable\`); a word that is no string
// (a number) is what \`words\` refuses.
const SCALAR_SERVICES = SERVICES.replace('  words: {schema: {key: {type: string}, value: {type: word}}}', '  words: {schema: {key: {type: string}, value: {type: string}}}')
  .replace(
    "return s.split(' ').filter((t) => t.length > 0).map((t) => ({ text: t, weight: t.length * 20 }));",
    "return s.split(' ').filter((t) => t.length > 0).map((t) => (t.length * 20 > 255 ? (t.length as unknown as string) : t));",
  )
  .replace('function split(s: string): Word[]', 'function split(s: string): string[]')
  .replace(/\(w: Word/g, '(w: string')
  .replace(/w\.text/g, 'w')
  .replace('function byText(w: string): string {\n            return w;', 'function byText(w: string): string {\n            return String(w);')
  // The window keys its words otherwise than the splitter: \`words\` keeps the splitter's keys.
  .replace('function keyOf(w: string): string {\n              return w;', 'function keyOf(w: string): string {\n              return w.toUpperCase();')
  .replace("t.text === 'flushboom'", "t.text === 'FLUSHBOOM'");

// The same with the splitter's keyed step leaving a promise behind for one word: its unit makes
// no sections from then on, and the chain and the window run call by call (taken back the same way).
const CALL_BY_CALL_SERVICES = SERVICES.replace(
  "            ctx.state('totals').increment();\n",
  "            ctx.state('totals').increment();\n            if (w.text === 'gamma') void Promise.resolve();\n",
);

// The same with an idleness timeout and short windows: once the source is quiet, the clock moves
// the window's watermark on (by its unit's quiet polls, merged or not) until every window closed.
const IDLE_SERVICES = SERVICES.replace('      tumbling: {duration: 10s}\n      watermark: {grace-period: 1s}', '      tumbling: {duration: 2s}\n      watermark: {grace-period: 500ms, idleness: 200ms}');

const cleanups = cleanupsAfterAll();
const T0 = 1_736_154_000_000;

/** Sentences 1.5 s apart; some with a word the splitter throws on, one too long for `words`, one the window throws on; every 11th 30 s behind (late). */
function sentences(n: number, from = 0): ProduceRecord[] {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'boom', 'eps', 'crash', 'zeta', 'averyverylongword', 'eta'];
  const out: ProduceRecord[] = [];
  for (let i = from; i < from + n; i++) {
    const text = [words[i % words.length]!, words[(i * 3 + 1) % words.length]!, words[(i * 7 + 2) % 4]!, ...(i === 41 ? ['flushboom'] : [])].join(' ');
    const t = T0 + i * 1500 - (i % 11 === 10 ? 30_000 : 0);
    out.push({ key: null, value: text, timestamp: t });
  }
  return out;
}

interface Seen {
  topics: Record<string, unknown[]>;
  state: Record<string, Array<{ key: unknown; value: unknown; window?: unknown }>>;
  metrics: Record<string, { state: string; recordsIn: number; recordsOut: number; failed: number; late: number }>;
}

const TOPICS = ['words', 'tops', 'splitter.dead-letter', 'windows.dead-letter', 'splitter.late-events', 'windows.late-events'];

/** What a run left: every topic, the state tables, the metrics. `places`: each window dead letter's record is checked at its place in this run's `words`, whose sequence is then left out (`strip`: left out unchecked). */
async function seen(df: EmbeddedDataflow, store: StateStore, places: 'check' | 'strip' = 'check'): Promise<Seen> {
  const topics = await embeddedTopics(df, TOPICS);
  for (const d of topics['windows.dead-letter'] as Array<{ value: { input?: { seq?: number; index?: number }; value?: unknown; raw?: string } }>) {
    const at = d.value.input;
    // A record the window could not read (a flush's letter redriven: no record of \`words\`) names its place as read.
    if (at?.index !== undefined && places === 'check' && d.value.raw === undefined) expect(await embeddedRecordAt(df, 'words', at.seq!, at.index)).toEqual(d.value.value);
    if (at) delete at.seq;
  }
  const state: Seen['state'] = {};
  for (const t of await store.tables()) {
    const entries = await store.scan(t.table);
    state[t.table.replace(/^.*?(totals|in_window).*$/, '$1')] = entries.map((e) => ({ key: e.key, value: e.value, ...(e.window ? { window: e.window } : {}) }));
  }
  return { topics, state, metrics: metricsByService(df) };
}

const valueOf = (letter: unknown) => (letter as { value: { value: unknown } }).value.value;

async function start(store: StateStore, soleReaders: boolean, o: { replayInputs?: boolean; keepOutputs?: boolean } = {}, services = SERVICES) {
  const { plan, functions } = await planNative(services, { fuse: true });
  return startEmbedded({ plan, functions, isolation: 'native', store, soleReaders, ...o, batchMessages: 4, produceBatch: 5 });
}

async function runWhole(soleReaders: boolean, input: ProduceRecord[], services = SERVICES): Promise<Seen> {
  const store = await postgresStoreOf(cleanups);
  const df = await start(store, soleReaders, {}, services);
  // Merged, the window is no unit of its own: it runs after the splitter's chain in its unit.
  expect(df.topology.units.map((u) => [u.service, u.windowReader?.service])).toEqual(soleReaders ? [['splitter', 'windows']] : [['splitter', undefined], ['windows', undefined]]);
  await df.produce('sentences', input);
  await df.endInput();
  await df.ended();
  const s = await seen(df, store);
  await df.stop();
  return s;
}

describe('runtime - a window run after its writer\'s chain in its unit (issue 15)', () => {
  it('window reader - merged and unmerged give the same topics, dead letters, late events, state and metrics', async () => {
    const input = sentences(90);
    const unmerged = await runWhole(false, input);
    const merged = await runWhole(true, input);
    // Every case is there: the splitter's throw and refused words, the window's throws in its
    // keyed step and its flush (a letter naming no record), late words.
    const splitterLetters = JSON.stringify(unmerged.topics['splitter.dead-letter']);
    expect(splitterLetters).toContain('splitter broke on crash');
    expect(splitterLetters).toContain('does not fit topic');
    const windowLetters = unmerged.topics['windows.dead-letter'] as Array<{ value: { reason: string; input?: { index?: number } } }>;
    expect(windowLetters.some((d) => d.value.reason.includes('window broke on boom') && d.value.input?.index !== undefined)).toBe(true);
    expect(windowLetters.some((d) => d.value.reason.includes('flush broke'))).toBe(true);
    expect(unmerged.topics['windows.late-events']!.length).toBeGreaterThan(0);
    expect(unmerged.topics['tops']!.length).toBeGreaterThan(3);
    expect(merged).toEqual(unmerged);
  });

  it('window reader - words as strings, lent to the window as they are: merged and unmerged give the same topics, dead letters, late events, state and metrics', async () => {
    const input = sentences(90);
    const unmerged = await runWhole(false, input, SCALAR_SERVICES);
    const merged = await runWhole(true, input, SCALAR_SERVICES);
    const splitterLetters = JSON.stringify(unmerged.topics['splitter.dead-letter']);
    expect(splitterLetters).toContain('splitter broke on crash');
    expect(splitterLetters).toContain('does not fit topic');
    const windowLetters = unmerged.topics['windows.dead-letter'] as Array<{ value: { reason: string; input?: { index?: number } } }>;
    expect(windowLetters.some((d) => d.value.reason.includes('window broke on boom') && d.value.input?.index !== undefined)).toBe(true);
    expect(windowLetters.some((d) => d.value.reason.includes('flush broke'))).toBe(true);
    expect(unmerged.topics['windows.late-events']!.length).toBeGreaterThan(0);
    expect((unmerged.topics['words'] as Array<{ key: string }>).every((r) => r.key === r.key.toLowerCase())).toBe(true);
    expect((unmerged.topics['windows.late-events'] as Array<{ key: string }>).every((r) => r.key === r.key.toUpperCase())).toBe(true);
    expect(merged).toEqual(unmerged);
  });

  it('window reader - call by call (a function left a promise behind): merged and unmerged give the same topics, dead letters, late events, state and metrics', async () => {
    expect(CALL_BY_CALL_SERVICES).not.toEqual(SERVICES);
    const input = sentences(90);
    const unmerged = await runWhole(false, input, CALL_BY_CALL_SERVICES);
    const merged = await runWhole(true, input, CALL_BY_CALL_SERVICES);
    expect(JSON.stringify(unmerged.topics['splitter.dead-letter'])).toContain('does not fit topic');
    expect(unmerged.topics['windows.late-events']!.length).toBeGreaterThan(0);
    expect(merged).toEqual(unmerged);
  });

  it('window reader - with its source quiet (no end of input), merged and unmerged have closed the same windows and hold the same watermark', async () => {
    const input = sentences(60);
    const quiet: unknown[] = [];
    for (const soleReaders of [false, true]) {
      const store = await postgresStoreOf(cleanups);
      const df = await start(store, soleReaders);
      await df.produce('sentences', input);
      await df.idle();
      // Records alone move the window: the clock, with the source quiet, closes nothing more.
      await new Promise((r) => setTimeout(r, 300));
      await df.idle();
      const tops = (await df.read('tops')).map((r) => r.value);
      const watermark = df.metrics().find((m) => m.operator.startsWith('windows'))?.watermark;
      quiet.push({ tops, watermark });
      await df.stop();
    }
    expect((quiet[0] as { tops: unknown[] }).tops.length).toBeGreaterThan(0);
    expect((quiet[0] as { watermark?: number }).watermark).toBeGreaterThan(T0);
    expect(quiet[1]).toEqual(quiet[0]);
  });

  it('window reader - with an idleness timeout and the source quiet, merged and unmerged close every window with the same results', async () => {
    expect(IDLE_SERVICES).not.toEqual(SERVICES);
    const input = sentences(40);
    const quiet: unknown[] = [];
    for (const soleReaders of [false, true]) {
      const store = await postgresStoreOf(cleanups);
      const df = await start(store, soleReaders, {}, IDLE_SERVICES);
      await df.produce('sentences', input);
      await df.idle();
      // Until the clock has moved the watermark past the last word's window (2 s windows, 200 ms idleness).
      const lastWord = Math.max(...(await df.read('words')).map((r) => r.timestamp));
      const lastEnd = Math.floor(lastWord / 2000) * 2000 + 2000;
      for (let i = 0; i < 100; i++) {
        const w = df.metrics().find((m) => m.operator.startsWith('windows'))?.watermark ?? 0;
        if (w >= lastEnd) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await df.idle();
      const tops = (await df.read('tops')).map((r) => ({ value: r.value, timestamp: r.timestamp }));
      quiet.push({ tops, late: (await df.read('windows.late-events')).length, lastWord });
      await df.stop();
    }
    // Every window closed: the last word's window too (its records alone would leave it open).
    const unmerged = quiet[0] as { tops: Array<{ timestamp: number }>; lastWord: number };
    expect(unmerged.tops.at(-1)!.timestamp).toBeGreaterThanOrEqual(unmerged.lastWord);
    expect(quiet[1]).toEqual(quiet[0]);
  });

  it('window reader - stopped mid-run and resumed on the same input, merged ends as unmerged does, across the change too', async () => {
    const input = sentences(80);
    const resumed = async (first: boolean, second: boolean): Promise<Seen> => {
      const store = await postgresStoreOf(cleanups);
      const b = await resumedMidInput(() => start(store, first), () => start(store, second, { replayInputs: true }), 'sentences', input, 35);
      const s = await seen(b, store, 'strip');
      await b.stop();
      return s;
    };
    const whole = await runWhole(false, input);
    const unmerged = await resumed(false, false);
    // The window's results and state come out whole: what the first run committed, then the rest.
    expect(unmerged.state).toEqual(whole.state);
    expect(unmerged.topics['tops']).toEqual(whole.topics['tops']);
    const merged = await resumed(true, true);
    expect({ ...merged, metrics: undefined }).toEqual({ ...unmerged, metrics: undefined });
    for (const [first, second] of [[true, false], [false, true]] as const) {
      const s = await resumed(first, second);
      expect(s.state).toEqual(whole.state);
      for (const t of ['tops', 'splitter.dead-letter', 'windows.late-events']) expect(s.topics[t]).toEqual(unmerged.topics[t]);
      expect(s.topics['windows.dead-letter']!.map(valueOf)).toEqual(whole.topics['windows.dead-letter']!.map(valueOf));
    }
  });

  it('window reader - redrive puts the window\'s dead letters back on `words` and the window, in its writer\'s unit, runs them', async () => {
    const results: unknown[] = [];
    for (const soleReaders of [false, true]) {
      const store = await postgresStoreOf(cleanups);
      const a = await start(store, soleReaders);
      await a.produce('sentences', sentences(60));
      await a.idle();
      await a.stop();
      const b = await start(store, soleReaders, { keepOutputs: true });
      const r = await b.redrive('windows');
      const s = await seen(b, store, 'check');
      results.push({ r, letters: s.topics['windows.dead-letter'], late: s.topics['windows.late-events'], state: s.state });
      await b.stop();
    }
    expect((results[0] as { r: { redriven: number } }).r.redriven).toBeGreaterThan(0);
    expect(results[1]).toEqual(results[0]);
  });
});
