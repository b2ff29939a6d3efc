/**
 * Crash test of the distributed runtime: the keyed operator of the word-count example runs as
 * a child process (`ssdk operator`) and is killed with SIGKILL three times while sentences
 * arrive, then restarted each time. The rest run in-process. Committed offsets (with the state,
 * in one transaction) and deterministic message ids must make the outputs and the state equal
 * the golden files exactly: nothing lost, nothing duplicated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { decodeFrame, encodeFrame, encodeRecordFrames } from '@ssdk/records';
import { nativeTopology, type RuntimeTopic } from '@ssdk/runtime';
import { openPostgresStore } from '@ssdk/state';
import { testNats, testPostgres } from '@ssdk/testing';
import { ensurePlanTopics, loadPlan, runOperator } from './index.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = `${ROOT}examples/word-count`;
const FILE = `${EXAMPLE}/services.yaml`;
const BIN = `${ROOT}bin/ssdk.js`;
const KEYED = 'count-words.add-to-total';
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const jsonLines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);
const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readTopic(bus: NatsBus, t: RuntimeTopic): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let p = 0; p < t.partitions; p++) {
    const reader = bus.read(t.name, p);
    for (;;) {
      const messages = await reader.fetch(1000, 500);
      if (messages.length === 0) break;
      for (const m of messages) {
        const f = decodeFrame(m.data);
        if (f.kind === 'data') for (const r of f.records) out.push(t.value.decode(r.value));
      }
    }
    await reader.close();
  }
  return out;
}

describe('operator crash (kill -9 and restart)', () => {
  it('operator - the keyed operator killed three times mid-stream: outputs and state equal golden', async () => {
    const nats = await testNats();
    const pg = await testPostgres();
    const partitions = 1;
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    cleanups.push(() => bus.destroy(), () => pg.cleanup());
    const { plan, dataflow } = await loadPlan(FILE, { subjectPrefix: nats.prefix, partitions });
    const topology = await nativeTopology(FILE, plan, dataflow);
    const topic = (id: string) => topology.topics.get(id)!;
    await ensurePlanTopics(bus, plan, plan.topics.map((t) => t.id));

    const abort = new AbortController();
    const inProcess = plan.operators
      .filter((op) => op.id !== KEYED)
      .map((op) => runOperator({ file: FILE, operatorId: op.id, natsUrl: nats.url, databaseUrl: pg.connectionString, schema: pg.schema, subjectPrefix: nats.prefix, partitions, signal: abort.signal }));
    cleanups.push(async () => {
      abort.abort();
      await Promise.allSettled(inProcess);
    });
    let child: ChildProcess | undefined;
    let exited: Promise<number | null> = Promise.resolve(null);
    let running: Promise<void> = Promise.resolve();
    const startKeyed = () => {
      child = spawn(process.execPath, [BIN, 'operator', FILE, '--operator', KEYED, '--nats', nats.url, '--postgres', pg.connectionString, '--schema', pg.schema, '--subject-prefix', nats.prefix, '--partitions', String(partitions)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const c = child;
      exited = new Promise((r) => c.once('exit', (code) => r(code)));
      // The service logs `running` once its topics, state and offsets are loaded.
      running = new Promise((r) => {
        let seen = '';
        c.stderr!.on('data', (b: Buffer) => {
          seen += b.toString();
          if (seen.includes(': running')) r();
        });
        c.once('exit', () => r());
      });
    };
    cleanups.push(async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    startKeyed();

    // Small frames, so the keyed operator works through many batches.
    const input = (await readFile(`${EXAMPLE}/input/sentences.jsonl`, 'utf8')).split('\n').filter((l) => l.trim());
    const records = input.map((l) => JSON.parse(l) as { value: string; timestamp: number }).map((r) => ({ key: null, value: JSON.stringify(r.value), timestamp: r.timestamp }));
    const sentences = topic('sentences');
    const chunks = 3;
    const size = Math.ceil(records.length / chunks);
    for (let i = 0; i < chunks; i++) {
      const frames = [];
      for (let j = i * size; j < Math.min(records.length, (i + 1) * size); j += 4) frames.push(...encodeRecordFrames(records.slice(j, Math.min(j + 4, (i + 1) * size)), 900_000));
      await bus.publish(sentences.name, 0, frames.map((data) => ({ data })));
      // Once the keyed operator runs, kill it at a random moment while it works through the chunk.
      await running;
      await sleep(Math.random() * 300);
      child!.kill('SIGKILL');
      await exited;
      startKeyed();
    }
    await bus.publish(sentences.name, 0, [{ data: encodeFrame({ kind: 'end' }) }]);
    const results = await Promise.all(inProcess);
    expect(results.every((r) => r.ended)).toBe(true);
    expect(await exited).toBe(0);

    expect(await readTopic(bus, topic('top-words'))).toEqual(await jsonLines(`${EXAMPLE}/expected/top-words.jsonl`));
    expect(sorted(await readTopic(bus, topic('words')))).toEqual(sorted(await jsonLines(`${EXAMPLE}/expected/words.jsonl`)));
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
    try {
      const rows = await store.query<{ key: string; value: number }>('SELECT key, value FROM count_words_word_totals');
      expect(Object.fromEntries(rows.map((r) => [r.key, Number(r.value)]))).toEqual(JSON.parse(await readFile(`${EXAMPLE}/expected/state/word-totals.json`, 'utf8')));
    } finally {
      await store.close();
    }
  }, 60_000);
});
