/**
 * Event time behind shuffles (libs/runtime/src/progress.ts): word count over 8 partitions, its
 * words re-keyed twice on the way to the window unit, with the whole stream produced in one
 * burst. Each sentence partition is in event-time order, so no word is late; but every window
 * partition mixes words of all 8 sentence partitions in whatever order the upstream units read
 * them. A window that went by the records it reads marked dozens of words late and got the
 * top 3 wrong; with progress carried in band it must equal the reference exactly. The late
 * sentence produced last must still be late.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testNats, testPostgres } from '@ssdk/testing';
import { generateInput, reference, runUnits, sleep, sorted, until, WordCountStream, type Servers } from './word-count.testkit.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('operator event time (in-band progress)', () => {
  it('operator - a burst over 8 partitions, re-keyed twice before the window: nothing on time is late, outputs equal golden', async () => {
    const nats = await testNats();
    const pg = await testPostgres();
    const s: Servers = { natsUrl: nats.url, databaseUrl: pg.connectionString, checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: nats.prefix, partitions: 8 };
    const stream = await WordCountStream.open(s);
    cleanups.push(() => stream.close(), () => pg.cleanup());
    const input = generateInput(2_000, 6);
    const golden = reference(input);

    const abort = new AbortController();
    const units = await runUnits(s, abort.signal);
    cleanups.push(async () => {
      abort.abort();
      await Promise.allSettled(units);
    });
    // Every window at once, 25 sentences to a frame: the units read them in large batches.
    await stream.produce(input.windows.flat(), 25);
    // Every window but the last closes as the stream goes by (its counts are dropped with it).
    const [last, lastCount] = [...golden.perWindow].at(-1)!;
    await until('every window but the last to close', async () => (await stream.read('top-words')).length === golden.perWindow.size - 1, 120_000);
    await stream.waitCounted(last, lastCount, 60_000);
    // Every unit has gone quiet and published its last progress: the late sentence is behind it.
    await sleep(1_000);
    await stream.produce(input.late);
    await stream.end();
    const results = await Promise.all(units);
    expect(results.map((r) => r.ended)).toEqual(units.map(() => true));

    expect(sorted(await stream.read('top-words.late-events'))).toEqual(sorted(golden.late));
    expect(await stream.read('top-words')).toEqual(golden.topWords);
    expect(await stream.totals()).toEqual(golden.totals);
    expect(sorted(await stream.read('words'))).toEqual(sorted(golden.words));
  }, 240_000);
});
