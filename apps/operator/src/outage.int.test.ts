/**
 * Outage tests of the distributed runtime (issue 5's acceptance): the word-count example's
 * operators lose a server for 10 s mid-stream and must retry with backoff and finish with the
 * golden output. The shared servers are never touched:
 * - PostgreSQL: the operators reach it through a TCP proxy in this process, which drops every
 *   connection and refuses new ones for 10 s;
 * - NATS: the operators and the test use a private nats-server (own port and store directory),
 *   stopped for 10 s and started again on the same store.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { runOperator } from '@ssdk/runtime';
import { PrivateNatsServer, TcpProxy, testNats, testPostgres } from '@ssdk/testing';
import { FILE, generateInput, reference, sleep, sorted, WordCountStream, type Servers } from './word-count.testkit.ts';

const OUTAGE_MS = 10_000;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Runs every unit in this process, streams 6 windows and calls `outage` while window 2 streams in. */
async function wordCountThrough(s: Servers, outage: (stream: WordCountStream) => Promise<void>, retries: string[]) {
  const stream = await WordCountStream.open(s);
  cleanups.push(() => stream.close());
  const input = generateInput(3_000, 6, 11);
  const golden = reference(input);
  const starts = [...golden.perWindow.keys()];
  const { plan } = await planOrThrow(FILE, { subjectPrefix: s.prefix, partitions: s.partitions });
  const abort = new AbortController();
  const operators = plan.operators.map((op) =>
    runOperator({
      file: FILE,
      operatorId: op.id,
      natsUrl: s.natsUrl,
      databaseUrl: s.databaseUrl,
      schema: s.schema,
      subjectPrefix: s.prefix,
      partitions: s.partitions,
      leaseTtlMs: 1_500,
      heartbeatMs: 250,
      retryMaxDelayMs: 2_000,
      // The outage is the point, not the sandbox (operator-sandboxed.int.test.ts covers that).
      isolation: 'native',
      signal: abort.signal,
      log: (line) => {
        if (line.includes('(retry ')) retries.push(line);
      },
    }),
  );
  cleanups.push(async () => {
    abort.abort();
    await Promise.allSettled(operators);
  });
  for (let k = 0; k < starts.length; k++) {
    await stream.produce(input.windows[k]!);
    if (k === 2) await outage(stream);
    await stream.waitCounted(starts[k]!, golden.perWindow.get(starts[k]!)!, 60_000);
  }
  await stream.produce(input.late);
  await stream.end();
  const results = await Promise.all(operators);
  expect(results.map((r) => r.ended)).toEqual(operators.map(() => true));
  expect(sorted(await stream.read('words'))).toEqual(sorted(golden.words));
  expect(await stream.totals()).toEqual(golden.totals);
  expect(await stream.read('top-words')).toEqual(golden.topWords);
  expect(sorted(await stream.read('top-words.late-events'))).toEqual(sorted(golden.late));
  expect(await stream.openWindowRows()).toBe(0);
}

describe('operator outages (a server away for 10 s)', () => {
  it('operator - PostgreSQL cut for 10 s mid-stream: operators retry with backoff and finish with golden output', async () => {
    const nats = await testNats();
    const pg = await testPostgres();
    cleanups.push(() => pg.cleanup());
    const proxy = TcpProxy.to(pg.connectionString);
    await proxy.up();
    cleanups.push(() => proxy.down());
    const retries: string[] = [];
    const s: Servers = { natsUrl: nats.url, databaseUrl: proxy.via(pg.connectionString), checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: nats.prefix, partitions: 4 };
    let cuts = 0;
    // Every connection dropped and new ones refused for the outage, then the same port again.
    const cut = async () => {
      cuts++;
      await proxy.down();
      await sleep(OUTAGE_MS);
      await proxy.up();
    };
    await wordCountThrough(s, cut, retries);
    expect(cuts).toBe(1);
    // The operators did meet the outage, and waited it out.
    expect(retries.some((l) => /unavailable|terminated|ECONNRE/i.test(l))).toBe(true);
  }, 300_000);

  it('operator - NATS stopped for 10 s mid-stream: operators retry with backoff and finish with golden output', async () => {
    const server = new PrivateNatsServer('ssdk-operator-nats');
    await server.start();
    cleanups.push(() => server.dispose());
    const pg = await testPostgres();
    cleanups.push(() => pg.cleanup());
    const retries: string[] = [];
    const s: Servers = { natsUrl: server.url, databaseUrl: pg.connectionString, checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: `outage${process.pid}`, partitions: 4 };
    await wordCountThrough(
      s,
      async () => {
        await sleep(200);
        await server.stop();
        await sleep(OUTAGE_MS);
        await server.start();
      },
      retries,
    );
    // The bus adapter rides out a lost server itself (reconnect, new consumers after the last
    // delivered sequence); longer outages surface as a retryable error and restart the unit.
  }, 300_000);
});
