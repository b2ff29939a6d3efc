/**
 * The distributed dashboard against real servers: the word-count plan, two replicas' scrape
 * endpoints for one operator (added up), a dead letter on NATS, a state row in PostgreSQL.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { encodeRecordFrames } from '@ssdk/records';
import { ensurePlanTopics, migratePlanState } from '@ssdk/runtime';
import { openPostgresStore } from '@ssdk/state';
import { MetricsRegistry, type OperatorCounters } from '@ssdk/telemetry';
import { testNats, testPostgres } from '@ssdk/testing';
import { mergeReplicas, scrapeOperators } from './scrape.ts';
import { serveDistributedDashboard } from './serve.ts';

const FILE = 'examples/word-count/services.yaml';
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const counters = (o: Partial<OperatorCounters>): OperatorCounters => ({ recordsIn: 0, recordsOut: 0, failed: 0, late: 0, batches: 0, commits: 0, ...o });

describe('distributed dashboard', () => {
  it('scrape - replicas of one operator add up; the lowest watermark shows; a dead endpoint is reported', async () => {
    const a = await MetricsRegistry.start({ serviceName: 'a', port: 0, host: '127.0.0.1' });
    const b = await MetricsRegistry.start({ serviceName: 'b', port: 0, host: '127.0.0.1' });
    cleanups.push(() => a.close(), () => b.close());
    a.register({ operator: 'svc.op', counters: () => counters({ recordsIn: 10, recordsOut: 7, failed: 1, watermark: 2_000 }), lag: () => 3 });
    b.register({ operator: 'svc.op', counters: () => counters({ recordsIn: 5, recordsOut: 4, watermark: 1_000 }), lag: () => 2 });
    const r = await scrapeOperators([a.url!, b.url!, 'http://127.0.0.1:9/metrics']);
    expect(r.operators).toEqual([{ operator: 'svc.op', recordsIn: 15, recordsOut: 11, failed: 1, late: 0, batches: 0, commits: 0, watermark: 1_000, lag: 5 }]);
    expect(r.failed.map((f) => f.url)).toEqual(['http://127.0.0.1:9/metrics']);
    expect(mergeReplicas([])).toEqual([]);
  });

  it('scrape - a host name standing for several addresses (a scaled compose service) is scraped at each', async () => {
    const a = await MetricsRegistry.start({ serviceName: 'a', port: 0, host: '127.0.0.1' });
    const port = Number(new URL(a.url!).port);
    const b = await MetricsRegistry.start({ serviceName: 'b', port, host: '127.0.0.2' });
    cleanups.push(() => a.close(), () => b.close());
    a.register({ operator: 'svc.op', counters: () => counters({ recordsIn: 10 }) });
    b.register({ operator: 'svc.op', counters: () => counters({ recordsIn: 5 }) });
    // What compose's DNS answers for a service scaled to two replicas.
    const replicas = async (host: string) => (host === 'svc-op' ? ['127.0.0.1', '127.0.0.2'] : []);
    const r = await scrapeOperators([`http://svc-op:${port}/metrics`], replicas);
    expect(r.failed).toEqual([]);
    expect(r.operators.map((o) => [o.operator, o.recordsIn])).toEqual([['svc.op', 15]]);
    // One address (or a literal one): the target as given.
    expect((await scrapeOperators([a.url!], replicas)).operators.map((o) => o.recordsIn)).toEqual([10]);
  });

  it('serve - graph of the plan, scraped numbers, the latest dead-letter reason, a state key from PostgreSQL', async () => {
    const nats = await testNats();
    const pg = await testPostgres();
    const { plan } = await planOrThrow(FILE, { subjectPrefix: nats.prefix, partitions: 1 });
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    cleanups.push(
      async () => {
        await bus.destroy();
        await bus.close();
      },
      () => pg.cleanup(),
    );
    const split = plan.operators.find((o) => o.id === 'count-words.split-sentence')!;
    const deadLetter = plan.topics.find((t) => t.id === split.deadLetter)!;
    await ensurePlanTopics(bus, plan, [deadLetter.id]);
    await bus.publish(deadLetter.name, 0, encodeRecordFrames([{ key: null, value: '{}', timestamp: 1, headers: { 'ssdk-reason': 'not a sentence', 'ssdk-operator': split.id } }], 900_000).map((data) => ({ data })));
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
    cleanups.push(() => store.close());
    await migratePlanState(store, plan);
    const table = plan.states.find((s) => s.name === 'word-totals')!.table;
    await store.commit({ writes: [{ table, key: 'river', partition: 0, value: 12 }], offsets: [] });

    const metrics = await MetricsRegistry.start({ serviceName: 'x', port: 0, host: '127.0.0.1' });
    cleanups.push(() => metrics.close());
    metrics.register({ operator: split.id, counters: () => counters({ recordsIn: 40, recordsOut: 300, failed: 1 }) });
    const ui = await serveDistributedDashboard({ file: FILE, scrape: [metrics.url!], natsUrl: nats.url, subjectPrefix: nats.prefix, partitions: 1, databaseUrl: pg.connectionString, schema: pg.schema, port: 0, host: '127.0.0.1' });
    cleanups.push(() => ui.close());

    const overview = (await (await fetch(new URL('/api/overview', ui.url))).json()) as { mode: string; graph: { nodes: Array<{ id: string; kind: string }> } };
    expect(overview.mode).toBe('distributed');
    expect(overview.graph.nodes.filter((n) => n.kind === 'operator').map((n) => n.id)).toEqual(plan.operators.map((o) => o.id));
    const m = (await (await fetch(new URL('/api/metrics', ui.url))).json()) as {
      operators: Array<{ operator: string; recordsIn: number }>;
      problems: Array<{ topic: string; count: number; latest: Array<{ reason: string; operator?: string }> }>;
    };
    expect(m.operators).toEqual([expect.objectContaining({ operator: split.id, recordsIn: 40 })]);
    expect(m.problems.find((p) => p.topic === deadLetter.id)).toEqual(expect.objectContaining({ count: 1, latest: [{ reason: 'not a sentence', operator: split.id, timestamp: 1 }] }));
    expect(await (await fetch(new URL('/api/state?state=word-totals&key=river', ui.url))).json()).toEqual({ state: 'word-totals', key: 'river', found: true, value: 12 });
    expect(await (await fetch(new URL('/api/state?state=word-totals&key=ocean', ui.url))).json()).toEqual({ state: 'word-totals', key: 'ocean', found: false });
    expect(await (await fetch(new URL('/api/logs', ui.url))).json()).toEqual({ lines: [] });
  }, 60_000);
});
