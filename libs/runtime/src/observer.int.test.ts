/**
 * Tracing and metrics of the distributed runtime on real servers: three operator units, each a
 * `runOperator` with its own `service.name`, over NATS JetStream and PostgreSQL. A small OTLP/HTTP
 * receiver in the test collects the spans; the operators' Prometheus endpoints are scraped.
 */
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, encodeFrame, encodeRecordFrames, readUtf8 } from '@ssdk/records';
import { operatorStatsOf, parsePrometheusText } from '@ssdk/telemetry';
import { freePort, startOtlpReceiver, testNats, testPostgres, writeServicesFile, type OtlpSpan } from '@ssdk/testing';
import { cleanupsAfterAll, natsBusOf } from './dataflow.testkit.ts';
import { ensurePlanTopics, runOperator } from './operator.ts';
import { logTopicOf, type LogLine } from './observer.ts';
import type { UnitMetrics } from './metrics.ts';

const SERVICES = `apiVersion: 0.5.0
meta:
  name: traced
  version: 0.1.0
  namespace: tests
types:
  num:
    type: i64
topics:
  numbers:
    schema:
      value:
        type: num
  results:
    schema:
      value:
        type: num
services:
  calc:
    sources:
      - type: topic
        id: numbers
    transforms:
      - operator: filter
        run: |
          function isEven(n: Num, ctx: Ctx): boolean {
            if (n % 2 === 0) ctx.log('even', n);
            return n % 2 === 0;
          }
      - operator: map
        run: |
          function timesTen(n: Num): Num {
            return n * 10;
          }
      - operator: map
        run: |
          function plusOne(n: Num): Num {
            return n + 1;
          }
    sinks:
      - type: topic
        id: results
`;
const OPERATORS = ['calc.is-even', 'calc.times-ten', 'calc.plus-one'];

function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.intValue !== undefined ? Number(v.intValue) : (v.stringValue ?? v.boolValue);
}

const cleanups = cleanupsAfterAll();

async function setup(partitions: number) {
  const nats = await testNats();
  const pg = await testPostgres();
  const { dir, file } = await writeServicesFile(SERVICES);
  cleanups.push(() => pg.cleanup(), () => rm(dir, { recursive: true, force: true }));
  const bus = await natsBusOf(nats, cleanups);
  const { plan } = await planOrThrow(file, { subjectPrefix: nats.prefix, partitions });
  expect(plan.operators.map((o) => o.id)).toEqual(OPERATORS);
  const source = plan.topics.find((t) => t.id === 'numbers')!;
  await ensurePlanTopics(bus, plan, ['numbers']);
  const produce = async (values: number[], end: boolean) => {
    const records = values.map((v) => ({ key: null, value: JSON.stringify(v), timestamp: 1_700_000_000_000 + v }));
    await bus.publish(source.name, 0, encodeRecordFrames(records, 900_000).map((data) => ({ data })));
    if (end) for (let p = 0; p < source.partitions; p++) await bus.publish(source.name, p, [{ data: encodeFrame({ kind: 'end' }) }]);
  };
  const start = (telemetry: (op: string) => Parameters<typeof runOperator>[0]['telemetry'], signal: AbortSignal, onMetrics?: (op: string, m: UnitMetrics) => void) =>
    OPERATORS.map((operatorId) =>
      runOperator({
        file,
        operatorId,
        natsUrl: nats.url,
        databaseUrl: pg.connectionString,
        schema: pg.schema,
        subjectPrefix: nats.prefix,
        partitions,
        // Telemetry is the point here, not the sandbox: no component build.
        isolation: 'native',
        signal,
        telemetry: telemetry(operatorId),
        ...(onMetrics ? { onMetrics: (m: UnitMetrics) => onMetrics(operatorId, m) } : {}),
      }),
    );
  const logLines = async (): Promise<LogLine[]> => {
    const reader = bus.read(logTopicOf(plan.dataflow, nats.prefix).name, 0);
    try {
      const out: LogLine[] = [];
      for (const m of await reader.fetch(100, 2_000)) {
        const f = decodeFrame(m.data);
        if (f.kind === 'data') for (const r of f.records) out.push(JSON.parse(readUtf8(r.value)) as LogLine);
      }
      return out;
    } finally {
      await reader.close();
    }
  };
  return { produce, start, logLines };
}

describe('telemetry of operator services (NATS JetStream + PostgreSQL)', () => {
  it('telemetry - one trace holds a batch from every operator service, in order, with its record counts', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const { produce, start, logLines } = await setup(1);
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const running = start(() => ({ env }), abort.signal);
    await produce([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], true);
    const results = await Promise.all(running);
    expect(results.map((r) => r.ended)).toEqual([true, true, true]);

    // runOperator shuts its exporter down before it returns: every span has arrived.
    const processSpans = receiver.spans.filter((s) => s.name === 'process' && Number(attr(s, 'ssdk.records.in')) > 0);
    const first = processSpans.find((s) => s.service === 'calc.is-even');
    expect(first, `spans received: ${receiver.spans.map((s) => `${s.service}/${s.name}`).join(', ')}`).toBeDefined();
    const trace = receiver.spans.filter((s) => s.traceId === first!.traceId);
    const chain = OPERATORS.map((op) => trace.find((s) => s.service === op && s.name === 'process' && Number(attr(s, 'ssdk.records.in')) > 0));
    expect(chain.map((s) => s?.service)).toEqual(OPERATORS);
    // In order: each operator's batch is the child of the batch upstream of it.
    expect(chain[1]!.parentSpanId).toBe(chain[0]!.spanId);
    expect(chain[2]!.parentSpanId).toBe(chain[1]!.spanId);
    expect(BigInt(chain[0]!.startTimeUnixNano) <= BigInt(chain[1]!.startTimeUnixNano)).toBe(true);
    expect(BigInt(chain[1]!.startTimeUnixNano) <= BigInt(chain[2]!.startTimeUnixNano)).toBe(true);
    // The record counts: ten in, five even ones out, then five through each map.
    expect(chain.map((s) => [attr(s!, 'ssdk.records.in'), attr(s!, 'ssdk.records.out')])).toEqual([
      [10, 5],
      [5, 5],
      [5, 5],
    ]);
    expect(chain.map((s) => attr(s!, 'ssdk.operator'))).toEqual(OPERATORS);
    expect(attr(chain[0]!, 'ssdk.partition')).toBe(0);
    expect(Number(attr(chain[0]!, 'ssdk.input.first_seq'))).toBeGreaterThan(0);
    // Each batch's checkpoint is a child span of it.
    for (const s of chain) {
      expect(trace.some((c) => c.name === 'state.commit' && c.parentSpanId === s!.spanId), `${s!.service} has a state.commit child`).toBe(true);
    }
    // ctx.log lines went to the dataflow's log topic, each with its operator, partition and offset.
    const logs = await logLines();
    expect(logs.map((l) => l.message)).toEqual(['even 2', 'even 4', 'even 6', 'even 8', 'even 10']);
    expect(new Set(logs.map((l) => `${l.operator} p${l.partition}@${l.offset}`))).toEqual(new Set([`calc.is-even p0@${attr(chain[0]!, 'ssdk.input.first_seq')}`]));
  }, 90_000);

  it('telemetry - the Prometheus endpoint of each operator counts exactly the records it processed', async () => {
    const { produce, start } = await setup(2);
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const ports = new Map<string, number>();
    for (const op of OPERATORS) ports.set(op, await freePort());
    const live = new Map<string, UnitMetrics>();
    const running = start((op) => ({ env: {}, metricsPort: ports.get(op)!, metricsHost: '127.0.0.1' }), abort.signal, (op, m) => live.set(op, m));
    const values = Array.from({ length: 300 }, (_, i) => i);
    await produce(values.slice(0, 100), false);
    await produce(values.slice(100), false);
    const expected = { 'calc.is-even': [300, 150], 'calc.times-ten': [150, 150], 'calc.plus-one': [150, 150] } as Record<string, [number, number]>;
    const scrape = async (op: string) => {
      const text = await (await fetch(`http://127.0.0.1:${ports.get(op)}/metrics`)).text();
      return { text, stats: operatorStatsOf(parsePrometheusText(text)).find((s) => s.operator === op) };
    };
    const deadline = Date.now() + 60_000;
    for (;;) {
      const got = await Promise.all(OPERATORS.map(async (op) => (await scrape(op).catch(() => undefined))?.stats));
      // Lag 0 too: records are counted in before their batch commits, and the commits are compared below.
      if (got.every((s, i) => s && s.recordsIn === expected[OPERATORS[i]!]![0] && s.recordsOut === expected[OPERATORS[i]!]![1] && s.lag === 0)) break;
      if (Date.now() > deadline) throw new Error(`the counters did not reach the records produced: ${JSON.stringify(got)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const op of OPERATORS) {
      const { text, stats } = await scrape(op);
      const snap = live.get(op)!.snapshot();
      // The same numbers as the runtime's own counters (`show metrics`), not a second count.
      expect([stats!.recordsIn, stats!.recordsOut, stats!.failed, stats!.late]).toEqual([snap.recordsIn, snap.recordsOut, 0, 0]);
      expect(stats!.commits).toBe(snap.commits);
      expect(stats!.lag).toBe(0);
      expect(text).toContain(`ssdk_batch_latency_ms_count{operator="${op}"`);
      expect(text).toMatch(/# TYPE ssdk_records_in_total counter/);
    }
    abort.abort();
    await Promise.all(running);
  }, 90_000);
});
