/**
 * An operator asked to stop while it takes its partitions (after `running`, before it reads)
 * stops: the stop used to be lost there (an 'abort' listener added after the abort never fires)
 * and the process read on until killed. Seen on `ssdk operator` given SIGTERM right after it
 * said `running`. PostgreSQL is reached through a relay of the test's own (port 40451) that asks
 * the stop the moment the operator's first lease statement goes by, so the window is hit every run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { planDataflow } from '@ssdk/plan';
import { encodeRecords } from '@ssdk/records';
import { parseServicesFile } from '@ssdk/spec';
import { dataflowSchema, openPostgresStore } from '@ssdk/state';
import { TcpProxy, testNats, testPostgres } from '@ssdk/testing';
import { runOperator } from './operator.ts';

const NAME = `h4-stop-${randomBytes(3).toString('hex')}`;
const SERVICES = `apiVersion: 0.5.0
meta: {name: ${NAME}, namespace: test, version: 0.1.0}
topics:
  nums: {schema: {value: {type: u32}}}
  out: {schema: {value: {type: u32}}}
services:
  bump:
    sources: [{type: topic, id: nums}]
    transforms:
      - operator: map
        run: |
          function addOne(n: number): number {
            return n + 1;
          }
    sinks: [{type: topic, id: out}]
`;

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('runtime - an operator stopped while it takes its partitions', () => {
  it('runtime - a stop asked for during the first lease statement ends the operator (it does not read on)', { timeout: 120_000 }, async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ssdk-stop-starting-')), 'services.yaml');
    await writeFile(file, SERVICES);
    const { dataflow } = parseServicesFile(SERVICES, file);
    const operatorId = planDataflow(dataflow, { partitions: 1 }).plan!.operators[0]!.id;
    const nats = await testNats({ prefix: 'h4_stop_starting' });
    const pg = await testPostgres({ prefix: 'h4_stop_starting' });
    cleanups.push(() => pg.cleanup());
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    cleanups.push(async () => {
      await bus.destroy();
      await bus.close();
      const store = await openPostgresStore({ connectionString: pg.connectionString, schema: dataflowSchema('test', NAME, nats.prefix) });
      await store.destroy();
      await store.close();
    });
    await bus.ensureTopic({ name: 'nums', partitions: 1 });
    await bus.publish('nums', 0, [{ data: encodeRecords([{ key: null, value: '1', timestamp: 1_000 }]) }]);

    const stop = new AbortController();
    let askedAt = 0;
    const real = new URL(pg.connectionString);
    const relay = new TcpProxy(
      { host: real.hostname, port: Number(real.port || 5432) },
      {
        onClientBytes: (text) => {
          if (!stop.signal.aborted && text.includes('_leases" AS l')) {
            askedAt = Date.now();
            stop.abort();
          }
        },
      },
    );
    await relay.up();
    cleanups.push(() => relay.down());
    const viaRelay = new URL(relay.via(pg.connectionString));
    const lines: string[] = [];
    const operator = runOperator({
      file,
      operatorId,
      natsUrl: nats.url,
      databaseUrl: viaRelay.toString(),
      subjectPrefix: nats.prefix,
      partitions: 1,
      isolation: 'native',
      telemetry: false,
      log: (l) => lines.push(l),
      signal: stop.signal,
    });
    // Generous under load; without the fix it never returns (the test's timeout fails it).
    const result = await Promise.race([operator, new Promise<'still reading'>((r) => setTimeout(() => r('still reading'), 60_000))]);
    expect(askedAt, lines.join('\n')).toBeGreaterThan(0);
    expect(result, lines.join('\n')).not.toBe('still reading');
    expect((result as Awaited<typeof operator>).ended).toBe(false);
  });
});
