/**
 * Rescale test of the distributed runtime (issue 5's acceptance): word count over 4 partitions
 * on NATS JetStream and PostgreSQL. The keyed operator starts as one replica (`ssdk operator`
 * process), two more join mid-stream and the three divide its partitions with fenced leases;
 * then one is killed with SIGKILL and the survivors take its partitions over once its lease
 * expires, reloading their state from PostgreSQL. The other units run in this process.
 * The sink topics and the state tables must equal the reference exactly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testNats, testPostgres } from '@ssdk/testing';
import { generateInput, KEYED, OperatorProcesses, reading, reference, runUnitsButKeyed, sleep, sorted, until, WordCountStream, type Servers } from './word-count.testkit.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('operator rescale (replicas join and die)', () => {
  it('operator - the keyed operator goes from 1 to 3 replicas, then one is killed: outputs and state equal golden', async () => {
    const nats = await testNats();
    const pg = await testPostgres();
    const s: Servers = { natsUrl: nats.url, databaseUrl: pg.connectionString, checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: nats.prefix, partitions: 4 };
    const stream = await WordCountStream.open(s);
    cleanups.push(() => stream.close(), () => pg.cleanup());
    const input = generateInput(3_000, 6);
    const golden = reference(input);
    const starts = [...golden.perWindow.keys()];

    const abort = new AbortController();
    const inProcess = await runUnitsButKeyed(s, abort.signal);
    const procs = await OperatorProcesses.open(s);
    cleanups.push(async () => {
      abort.abort();
      await Promise.allSettled(inProcess);
    }, () => procs.killAll());

    const a = procs.start(KEYED);
    await a.running;
    const window = async (k: number) => {
      await stream.produce(input.windows[k]!);
      await stream.waitCounted(starts[k]!, golden.perWindow.get(starts[k]!)!, 90_000);
    };
    await window(0);
    expect(reading(a)).toEqual([0, 1, 2, 3]);

    // Two replicas join while window 1 streams in: the three divide the 4 partitions.
    await stream.produce(input.windows[1]!);
    const b = procs.start(KEYED);
    const c = procs.start(KEYED);
    await Promise.all([b.running, c.running]);
    await until('the new replicas to read their partitions', () => reading(b) !== undefined && reading(c) !== undefined);
    await stream.waitCounted(starts[1]!, golden.perWindow.get(starts[1]!)!, 90_000);
    // Settled: every partition read by exactly one of the three (a takeover lands at the next heartbeat).
    const shares = (ps = [a, b, c]) => ps.map((p) => reading(p) ?? []);
    await until('the three replicas to divide the 4 partitions', () => shares().flat().sort().join() === '0,1,2,3');
    expect(shares().every((share) => share.length >= 1)).toBe(true);
    await window(2);

    // One of them dies mid-window (no drain, its leases held until they expire).
    await stream.produce(input.windows[3]!);
    await sleep(Math.random() * 200);
    await procs.kill(b);
    await stream.waitCounted(starts[3]!, golden.perWindow.get(starts[3]!)!, 90_000);
    // The survivors read every partition again. What b held when it died they take over once
    // its leases expire; on a loaded box b may have lost them before (its membership lapsed
    // while it was starved), so the takeover itself is not required.
    await until('the survivors to read all 4 partitions', () => shares([a, c]).flat().sort().join() === '0,1,2,3', 60_000, [a, c, b]);
    await window(4);
    await window(5);
    await stream.produce(input.late);
    await stream.end();

    const results = await Promise.all(inProcess);
    expect(results.map((r) => r.ended)).toEqual(inProcess.map(() => true));
    expect(await a.exited).toBe(0);
    expect(await c.exited).toBe(0);

    expect(sorted(await stream.read('words'))).toEqual(sorted(golden.words));
    expect(await stream.totals()).toEqual(golden.totals);
    // Window results are keyless: all in partition 0, in window order.
    expect(await stream.read('top-words')).toEqual(golden.topWords);
    expect(sorted(await stream.read('top-words.late-events'))).toEqual(sorted(golden.late));
    expect(await stream.openWindowRows()).toBe(0);
    // The partitions b held were taken over with a new epoch.
    const leases = await stream.store.leases(KEYED);
    expect(leases.filter((l) => l.epoch > 1).length).toBeGreaterThan(0);
  }, 300_000);
});
