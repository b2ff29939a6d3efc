/**
 * Event time behind shuffles (libs/runtime/src/progress.ts): word count over 8 partitions, its
 * words re-keyed twice on the way to the window unit, with the whole stream produced in one
 * burst. Each sentence partition is in event-time order, so no word is late; but every window
 * partition mixes words of all 8 sentence partitions in whatever order the upstream units read
 * them. A window that went by the records it reads marked dozens of words late and got the
 * top 3 wrong; with progress carried in band it must equal the reference exactly. The late
 * sentence produced last must still be late. And with an `idleness` on the window, sentence
 * partitions that get nothing must not hold its windows back.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testNats, testPostgres } from '@ssdk/testing';
import { FILE, generateInput, reference, runUnits, sleep, sorted, until, WordCountStream, type Servers } from './word-count.testkit.ts';

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

  it('operator - sentence partitions that get nothing turn idle: windows close while the stream goes on, before any end of input', async () => {
    const nats = await testNats();
    const pg = await testPostgres();
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-idle-'));
    const file = join(dir, 'services.yaml');
    const example = await readFile(FILE, 'utf8');
    // 4 s, not 1: a live partition's unit held off the CPU for a second on a loaded box looked
    // idle, and the windows closed without its words (seen at load 22).
    const idle = example.replace('grace-period: 2s', 'grace-period: 2s\n        idleness: 4s');
    expect(idle).not.toBe(example);
    await writeFile(file, idle);
    const s: Servers = { natsUrl: nats.url, databaseUrl: pg.connectionString, checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: nats.prefix, partitions: 4, file };
    const stream = await WordCountStream.open(s);
    cleanups.push(() => stream.close(), () => pg.cleanup(), () => rm(dir, { recursive: true, force: true }));
    const input = generateInput(600, 4);
    const golden = reference({ windows: input.windows, late: [] });

    const abort = new AbortController();
    const units = await runUnits(s, abort.signal);
    cleanups.push(async () => {
      abort.abort();
      await Promise.allSettled(units);
    });
    // Only partitions 0 and 1 of 4 get sentences: 2 and 3 stay empty, and would hold every
    // window back for ever without idleness.
    await stream.produce(input.windows.flat(), 25, [0, 1]);
    await until('the windows but the last to close', async () => (await stream.read('top-words')).length >= golden.topWords.length - 1, 60_000);
    expect(await stream.read('top-words')).toEqual(golden.topWords.slice(0, (await stream.read('top-words')).length));
    await stream.end();
    const results = await Promise.all(units);
    expect(results.map((r) => r.ended)).toEqual(units.map(() => true));
    expect(await stream.read('top-words')).toEqual(golden.topWords);
    expect(await stream.read('top-words.late-events')).toEqual([]);
    expect(await stream.totals()).toEqual(golden.totals);
  }, 240_000);
});
