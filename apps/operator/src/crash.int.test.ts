/**
 * Crash test of the distributed runtime (issue 5's acceptance): every operator unit of the
 * word-count example runs as its own `ssdk operator` process over 4 partitions; while the
 * sentences stream in, a random process is killed with SIGKILL three times at random moments and
 * restarted each time. Committed offsets (in the same transaction as the state), fenced leases
 * and deterministic message ids must make the sinks and the state tables equal the reference
 * exactly: nothing lost, nothing duplicated.
 *
 * Size: SSDK_CRASH_SENTENCES (default 20 000 here, so CI stays quick; `npm run
 * test:acceptance:distributed` runs it at the acceptance size, 100 000).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { testNats, testPostgres } from '@ssdk/testing';
import { expectGolden, generateInput, OperatorProcesses, reference, sleep, WordCountStream, type Servers } from './word-count.testkit.ts';
import { FILE } from './word-count.testkit.ts';

const SENTENCES = Number(process.env['SSDK_CRASH_SENTENCES'] ?? 20_000);
const WINDOWS = 8;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('operator crash (kill -9 and restart)', () => {
  it(`operator - a random operator process killed three times mid-stream (${SENTENCES} sentences): sinks and state equal golden`, async () => {
    const nats = await testNats();
    const pg = await testPostgres();
    const s: Servers = { natsUrl: nats.url, databaseUrl: pg.connectionString, checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: nats.prefix, partitions: 4 };
    const stream = await WordCountStream.open(s);
    cleanups.push(() => stream.close(), () => pg.cleanup());
    const input = generateInput(SENTENCES, WINDOWS);
    const golden = reference(input);
    const starts = [...golden.perWindow.keys()];
    const { plan } = await planOrThrow(FILE, { subjectPrefix: s.prefix, partitions: s.partitions });
    const procs = new OperatorProcesses(s);
    cleanups.push(() => procs.killAll());
    for (const op of plan.operators) procs.start(op.id);
    await Promise.all(procs.all.map((p) => p.running));

    // Three kills, each during a different window, at a random moment of it.
    const killAt = new Set<number>();
    while (killAt.size < 3) killAt.add(1 + Math.floor(Math.random() * (WINDOWS - 2)));
    const kills: string[] = [];
    const t0 = Date.now();
    for (let k = 0; k < WINDOWS; k++) {
      await stream.produce(input.windows[k]!);
      if (killAt.has(k)) {
        await sleep(Math.random() * 1_500);
        const live = procs.live();
        const victim = live[Math.floor(Math.random() * live.length)]!;
        await procs.kill(victim);
        kills.push(`${victim.unit} in window ${k} at ${Date.now() - t0} ms`);
        procs.start(victim.unit);
      }
      await stream.waitCounted(starts[k]!, golden.perWindow.get(starts[k]!)!, 120_000);
    }
    await stream.produce(input.late);
    await stream.end();
    const codes = await Promise.all(procs.live().map((p) => p.exited));
    console.log(`crash test: ${SENTENCES} sentences, ${golden.words.length} words in ${Date.now() - t0} ms; killed ${kills.join('; ')}`);
    expect(codes).toEqual(codes.map(() => 0));
    expect(procs.all.length).toBe(plan.operators.length + 3);

    expectGolden({ topWords: await stream.read('top-words'), late: await stream.read('top-words.late-events'), words: await stream.read('words'), totals: await stream.totals() }, golden);
    expect(await stream.openWindowRows()).toBe(0);
  }, 600_000);
});
