/**
 * Crash tests of Nexmark's windowed queries in the distributed runtime: q5 (hop windows 10 s
 * sliding 2 s, the auctions with the most bids, ties kept), q8 (a windowed join of
 * persons and auctions, a tumbling window keyed by person), q11 (bids per bidder session, gap
 * 10 s), q3 (a stream-table join) and q9 (an interval join), every operator unit in its own `ssdk operator` process over 4 partitions (q11 over one too). While the
 * events stream in, a random process is killed with SIGKILL three times (the window unit at least
 * once: q11's open sessions live in its checkpoint) and restarted. The sink must equal the golden
 * of examples/nexmark (reference.mjs, not ssdk): nothing lost, nothing duplicated, no session
 * cut in two.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { encodeFrame, encodeRecordFrames, type OutRecord } from '@ssdk/records';
import { testNats, testPostgres } from '@ssdk/testing';
import { OperatorProcesses, ROOT, sleep, sorted, until, WordCountStream, type Servers } from './word-count.testkit.ts';

/** Each query with its window or join unit (its state and flush: the unit a crash costs most). */
const QUERIES = [
  // q5's hop windows (10 s sliding 2 s) each flush the auctions with the most bids, ties kept:
  // every window's counts of all auctions must survive a kill, or a window's max comes out wrong.
  { query: 'q5', windowUnit: 'q5.count-bid', partitions: 4 },
  { query: 'q8', windowUnit: 'q8.mark', partitions: 4 },
  { query: 'q11', windowUnit: 'q11.count-bid', partitions: 4 },
  // Over one partition only the session unit's input moves its watermark: the results of the
  // sessions a message closes go out under that message's ids, which a restart must make again.
  { query: 'q11', windowUnit: 'q11.count-bid', partitions: 1 },
  // Joins: the sides held in the join unit's checkpoint; q3's persons and auctions reach it
  // through different partitions, so only the event-time order makes its result hold.
  { query: 'q3', windowUnit: 'q3.local-item', partitions: 4 },
  { query: 'q9', windowUnit: 'q9.winning-bid', partitions: 4 },
];
const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { timestamp: number; value: unknown });
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('nexmark crash (kill -9 and restart)', () => {
  it.each(QUERIES)('operator - nexmark $query with operator processes killed three times mid-stream equals the golden (over $partitions partitions)', async ({ query, windowUnit, partitions }) => {
    const FILE = `${ROOT}examples/nexmark/${query}/services.yaml`;
    const nats = await testNats();
    const pg = await testPostgres();
    const s: Servers = { natsUrl: nats.url, databaseUrl: pg.connectionString, checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: nats.prefix, partitions, file: FILE };
    const stream = await WordCountStream.open(s);
    cleanups.push(() => stream.close(), () => pg.cleanup());
    const events = lines(`${ROOT}examples/nexmark/input/events.jsonl`);
    const golden = readFileSync(`${ROOT}examples/nexmark/${query}/expected/${query}.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    const { plan } = await planOrThrow(FILE, { subjectPrefix: s.prefix, partitions: s.partitions });
    const procs = await OperatorProcesses.open(s);
    cleanups.push(() => procs.killAll());
    for (const op of plan.operators) procs.start(op.id);
    await Promise.all(procs.all.map((p) => p.running));

    // Events round-robin over the partitions (each partition in event-time order), in ten chunks.
    const topic = stream.topic('events');
    const publish = async (chunk: typeof events, from: number) => {
      const byPartition: OutRecord[][] = Array.from({ length: s.partitions }, () => []);
      chunk.forEach((e, i) => byPartition[(from + i) % s.partitions]!.push({ key: null, value: JSON.stringify(e.value), timestamp: e.timestamp }));
      await Promise.all(byPartition.map((records, p) => stream.bus.publish(topic.name, p, encodeRecordFrames(records, 900_000).map((data) => ({ data })))));
    };
    const CHUNKS = 10;
    const size = Math.ceil(events.length / CHUNKS);
    const killAt = new Map<number, 'window' | 'any'>([[4, 'window']]);
    // Two more kills of any process after other chunks (never replacing the window unit's kill).
    while (killAt.size < 3) {
      const chunk = 2 + Math.floor(Math.random() * (CHUNKS - 3));
      if (!killAt.has(chunk)) killAt.set(chunk, 'any');
    }
    // The window unit is killed once it has committed results and still holds open windows (q11:
    // sessions kept in its checkpoint): a restart that lost them would cut sessions in two.
    const sinkHasResults = async () => {
      for (let p = 0; p < s.partitions; p++) if ((await stream.bus.lastSeq(stream.topic(query).name, p)) > 0) return true;
      return false;
    };
    const kills: string[] = [];
    for (let k = 0; k < CHUNKS; k++) {
      await publish(events.slice(k * size, (k + 1) * size), k * size);
      const which = killAt.get(k);
      if (which) {
        if (which === 'window') await until(`${query} has results before the window unit is killed`, sinkHasResults, 180_000, procs.all);
        await sleep(200 + Math.random() * 1_000);
        const live = procs.live(which === 'window' ? windowUnit : undefined);
        const victim = live[Math.floor(Math.random() * live.length)]!;
        await procs.kill(victim);
        kills.push(`${victim.unit} after chunk ${k}`);
        procs.start(victim.unit);
      }
    }
    for (let p = 0; p < s.partitions; p++) await stream.bus.publish(topic.name, p, [{ data: encodeFrame({ kind: 'end' }) }]);
    const codes = await Promise.all(procs.live().map((p) => p.exited));
    console.log(`${query} crash test: ${events.length} events, ${golden.length} results; killed ${kills.join('; ')}`);
    expect(codes).toEqual(codes.map(() => 0));
    expect(procs.all.length).toBe(plan.operators.length + 3);
    expect(sorted(await stream.read(query))).toEqual(sorted(golden));
    expect(await stream.read(`${query}.late-events`)).toEqual([]);
    expect(await stream.read(`${query}.dead-letter`)).toEqual([]);
  }, 600_000);
});
