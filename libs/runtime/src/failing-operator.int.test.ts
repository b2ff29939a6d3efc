/**
 * An operator service whose PostgreSQL is out of reach is `failing` with the reason (what its
 * heartbeats carry to `ssdk status`, and what its metrics endpoint says), retries with a bounded
 * backoff, and is `running` again once the server can be reached: then it processes every record.
 * PostgreSQL is reached through a TCP relay of the test's own (on a free port), so the server can be
 * "away" without touching the real one.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeFrame, encodeRecords } from '@ssdk/records';
import { freePort, TcpProxy, until } from '@ssdk/testing';
import { bumpServices, cleanupsAfterAll, operatorServers, readTopic } from './dataflow.testkit.ts';
import { UnitMetrics, type UnitMetricsSnapshot } from './metrics.ts';
import { runOperator } from './operator.ts';

const SERVICES = bumpServices(`h1-failing-${randomBytes(3).toString('hex')}`);

const cleanups = cleanupsAfterAll();

describe('runtime - an operator that cannot reach its state store', () => {
  it('runtime - PostgreSQL away: the operator is failing with the reason, then running once it can reach it, and processes every record', async () => {
    const servers = await operatorServers(SERVICES, 'h1_failing_op', cleanups);
    const { pg, bus } = servers;
    const pgRelay = TcpProxy.to(pg.connectionString);
    pgRelay.port = await freePort();
    cleanups.push(() => pgRelay.down());

    await bus.ensureTopic({ name: 'nums', partitions: 1 });
    const records = Array.from({ length: 100 }, (_, i) => ({ key: null, value: String(i), timestamp: 1_000 + i }));
    await bus.publish('nums', 0, [{ data: encodeRecords(records) }]);

    const stop = new AbortController();
    const held: { metrics?: UnitMetrics } = {};
    const lines: string[] = [];
    const operator = runOperator({
      ...servers.operator,
      databaseUrl: pgRelay.via(pg.connectionString),
      retryInitialDelayMs: 50,
      retryMaxDelayMs: 400,
      onMetrics: (m) => (held.metrics = m),
      log: (l) => lines.push(l),
      signal: stop.signal,
    });
    const snapshot = (): UnitMetricsSnapshot | undefined => held.metrics?.snapshot();
    await until('the operator failing', () => snapshot()?.state === 'failing' && (snapshot()?.restarts ?? 0) >= 3, 30_000, () => JSON.stringify(snapshot()));
    const failing = snapshot()!;
    // Why, in one line, with no credentials: what `ssdk status` prints under its table.
    expect(failing.reason).toMatch(/ECONNREFUSED|connect|reach/i);
    expect(failing.reason).not.toContain('\n');
    expect(failing.recordsIn).toBe(0);
    // A bounded backoff: the retries keep coming (the cap is 400 ms), they do not stop or spin.
    const before = failing.restarts!;
    await new Promise((r) => setTimeout(r, 1_500));
    const later = snapshot()!.restarts! - before;
    expect(later).toBeGreaterThanOrEqual(3);
    expect(later).toBeLessThanOrEqual(30);

    // The server back: running again, every record processed once.
    await pgRelay.up();
    await bus.publish('nums', 0, [{ data: encodeFrame({ kind: 'end' }) }]);
    const result = await operator;
    expect(result.ended).toBe(true);
    const done = result.metrics.snapshot();
    expect(done.recordsIn).toBe(100);
    expect(done.recordsOut).toBe(100);
    expect(done.reason).toBeUndefined();
    expect(lines.some((l) => /retry \d+ in \d+ ms/.test(l))).toBe(true);
    expect(await readTopic(bus, 'out')).toHaveLength(100);
  }, 120_000);

  it('runtime - a failing unit is running again as soon as it makes progress, not only at its end', () => {
    // The same metrics rules the heartbeats carry: failing until a commit (or a quiet input), then running.
    const m = new UnitMetrics('x.y');
    m.setState('running');
    m.failing('PostgreSQL is away', 400);
    m.setState('running'); // a leg that starts again is not yet progress
    expect(m.snapshot()).toMatchObject({ state: 'failing', reason: 'PostgreSQL is away', restarts: 1 });
    expect(m.snapshot().retryAt).toBeGreaterThan(Date.now());
    m.commit(new Map([['nums/0', 3]]));
    expect(m.snapshot().state).toBe('running');
    expect(m.snapshot().reason).toBeUndefined();
  });
});
