/**
 * An operator asked to stop while it takes its partitions (after `running`, before it reads)
 * stops: the stop used to be lost there (an 'abort' listener added after the abort never fires)
 * and the process read on until killed. Seen on `ssdk operator` given SIGTERM right after it
 * said `running`. PostgreSQL is reached through a relay of the test's own (on a free port) that asks
 * the stop the moment the operator's first lease statement goes by, so the window is hit every run.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeRecords } from '@ssdk/records';
import { TcpProxy } from '@ssdk/testing';
import { bumpServices, cleanupsAfterAll, operatorServers } from './dataflow.testkit.ts';
import { runOperator } from './operator.ts';

const SERVICES = bumpServices(`h4-stop-${randomBytes(3).toString('hex')}`);

const cleanups = cleanupsAfterAll();

describe('runtime - an operator stopped while it takes its partitions', () => {
  it('runtime - a stop asked for during the first lease statement ends the operator (it does not read on)', { timeout: 120_000 }, async () => {
    const servers = await operatorServers(SERVICES, 'h4_stop_starting', cleanups);
    const { pg, bus } = servers;
    await bus.ensureTopic({ name: 'nums', partitions: 1 });
    await bus.publish('nums', 0, [{ data: encodeRecords([{ key: null, value: '1', timestamp: 1_000 }]) }]);

    const stop = new AbortController();
    let askedAt = 0;
    const relay = TcpProxy.to(pg.connectionString, {
      onClientBytes: (text) => {
        if (!stop.signal.aborted && text.includes('_leases" AS l')) {
          askedAt = Date.now();
          stop.abort();
        }
      },
    });
    await relay.up();
    cleanups.push(() => relay.down());
    const lines: string[] = [];
    const operator = runOperator({
      ...servers.operator,
      databaseUrl: relay.via(pg.connectionString),
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
