/**
 * The distributed runtime end to end on real servers: every operator unit of the word-count
 * example as its own `runOperator` (one replica each), `ssdk produce` / `ssdk consume` against
 * NATS JetStream, state in PostgreSQL; outputs and state equal the example's golden files.
 *
 * The golden outputs assume one global watermark (records in the order produced). The plan's
 * default of 8 partitions makes the window operator's watermark the minimum over its input
 * partitions, so which records are late depends on how partitions interleave: the golden run
 * uses `--partitions 1`. A second run with 8 partitions checks what does not depend on the
 * watermark (the words topic and the running totals) through the shuffle.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { runOperator } from '@ssdk/runtime';
import { openPostgresStore } from '@ssdk/state';
import { testNats, testPostgres } from '@ssdk/testing';
import { bufferIo } from './io.ts';
import { readJsonLines, sortedJson } from './distributed.testkit.ts';
import { main } from './main.ts';

const EXAMPLE = 'examples/word-count';
const FILE = `${EXAMPLE}/services.yaml`;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const lines = readJsonLines;
const sorted = sortedJson;

async function cli(args: string[]): Promise<string> {
  const io = bufferIo();
  const code = await main(args, io);
  if (code !== 0) throw new Error(`ssdk ${args.join(' ')} exited ${code}: ${io.stderr()}`);
  return io.stderr();
}

async function runWordCount(partitions: number) {
  const nats = await testNats();
  const pg = await testPostgres();
  const out = await mkdtemp(join(tmpdir(), 'ssdk-dist-'));
  cleanups.push(
    async () => {
      const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
      await bus.destroy();
    },
    () => pg.cleanup(),
    () => rm(out, { recursive: true, force: true }),
  );
  const server = ['--nats', nats.url, '--subject-prefix', nats.prefix, '--partitions', String(partitions)];
  const { plan } = await planOrThrow(FILE, { subjectPrefix: nats.prefix, partitions });
  const abort = new AbortController();
  // Native: the CLI's produce/consume against the operators are the point here, not the sandbox.
  const operators = plan.operators.map((op) =>
    runOperator({ file: FILE, operatorId: op.id, natsUrl: nats.url, databaseUrl: pg.connectionString, schema: pg.schema, subjectPrefix: nats.prefix, partitions, isolation: 'native', signal: abort.signal }),
  );
  cleanups.push(async () => {
    abort.abort();
    await Promise.allSettled(operators);
  });
  await cli(['produce', 'sentences', '--file', `${EXAMPLE}/input/sentences.jsonl`, '--records', '--end', ...server, FILE]);
  const consume = (topic: string, idle: string) => cli(['consume', topic, '--output', join(out, `${topic}.jsonl`), '--until-idle', '--idle-timeout', idle, ...server, FILE]);
  // Both end with the end-of-input frames the operators forward (the timeout is a safety net).
  await Promise.all([consume('top-words', '30s'), consume('words', '30s')]);
  // Every unit saw the end of its inputs, flushed, forwarded the end and returned.
  const results = await Promise.all(operators);
  expect(results.map((r) => r.ended)).toEqual(plan.operators.map(() => true));
  // Late events carry no end marker: read what is there once the units are done.
  await consume('top-words.late-events', '1s');
  const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
  try {
    const rows = await store.query<{ key: string; value: number }>('SELECT key, value FROM count_words_word_totals ORDER BY key');
    const state = Object.fromEntries(rows.map((r) => [JSON.parse(JSON.stringify(r.key)) as string, Number(r.value)]));
    return { out, state };
  } finally {
    await store.close();
  }
}

describe('distributed word count (NATS JetStream + PostgreSQL)', () => {
  it('operator - one process per unit, produce and consume: outputs and state equal golden (1 partition)', async () => {
    const { out, state } = await runWordCount(1);
    expect(await lines(join(out, 'top-words.jsonl'))).toEqual(await lines(`${EXAMPLE}/expected/top-words.jsonl`));
    expect(sorted(await lines(join(out, 'words.jsonl')))).toEqual(sorted(await lines(`${EXAMPLE}/expected/words.jsonl`)));
    expect(sorted(await lines(join(out, 'top-words.late-events.jsonl')))).toEqual(sorted(await lines(`${EXAMPLE}/expected/top-words.late-events.jsonl`)));
    expect(state).toEqual(JSON.parse(await readFile(`${EXAMPLE}/expected/state/word-totals.json`, 'utf8')));
  }, 60_000);

  it('operator - 8 partitions through the shuffle: words and running totals equal golden', async () => {
    const { out, state } = await runWordCount(8);
    expect(sorted(await lines(join(out, 'words.jsonl')))).toEqual(sorted(await lines(`${EXAMPLE}/expected/words.jsonl`)));
    expect(state).toEqual(JSON.parse(await readFile(`${EXAMPLE}/expected/state/word-totals.json`, 'utf8')));
    // Every window is flushed once, over all partitions' state. Behind the shuffle, event time
    // is the least progress of the 8 sentence partitions, published between frames (progress.ts):
    // never ahead of one ordered stream's, so a word late here is late in the golden run too
    // (the reverse need not hold: a late sentence in the same frame as on-time ones is not).
    expect((await lines(join(out, 'top-words.jsonl'))).length).toBeGreaterThan(0);
    const golden = await lines(`${EXAMPLE}/expected/top-words.late-events.jsonl`);
    for (const late of await lines(join(out, 'top-words.late-events.jsonl'))) expect(golden).toContainEqual(late);
  }, 60_000);
});
