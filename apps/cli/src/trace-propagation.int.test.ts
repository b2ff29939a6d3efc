/**
 * One trace per record's path, from `ssdk produce` through every operator, on real NATS and
 * PostgreSQL with an OTLP/HTTP receiver in this process: the producer's batch is the root span,
 * each operator's batch the child of the one upstream of it, linked by the trace context carried
 * in the NATS messages' headers. Which headers is `OTEL_PROPAGATORS` (OpenTelemetry's own
 * reading of it): W3C `traceparent` by default, B3 when it says `b3multi`.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { runOperator } from '@ssdk/runtime';
import { startOtlpReceiver, testNats, testPostgres, writeServicesFile, type OtlpSpan } from '@ssdk/testing';
import { ssdk } from './distributed.testkit.ts';

const SERVICES = `apiVersion: 0.5.0
meta:
  name: traced-path
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
          function isEven(n: Num): boolean {
            return n % 2 === 0;
          }
      - operator: map
        run: |
          function timesTen(n: Num): Num {
            return n * 10;
          }
    sinks:
      - type: topic
        id: results
`;
const OPERATORS = ['calc.is-even', 'calc.times-ten'];

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});
const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_PROPAGATORS', 'OTEL_SERVICE_NAME']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

/** Produces 1..10 with `ssdk produce` (the end too) into two operators; the spans and the headers of the sink's messages. */
async function tracedRun(propagators: string | undefined): Promise<{ spans: OtlpSpan[]; sinkHeaders: Array<Record<string, string> | undefined>; produceErr: string }> {
  const receiver = await startOtlpReceiver();
  cleanups.push(() => receiver.close());
  // The standard environment, as the operators of a compose stack and the producer on the host have it.
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = receiver.url;
  delete process.env['OTEL_SERVICE_NAME'];
  if (propagators === undefined) delete process.env['OTEL_PROPAGATORS'];
  else process.env['OTEL_PROPAGATORS'] = propagators;
  const nats = await testNats();
  const pg = await testPostgres();
  const { dir, file } = await writeServicesFile(SERVICES);
  await writeFile(join(dir, 'numbers.jsonl'), Array.from({ length: 10 }, (_, i) => String(i + 1)).join('\n') + '\n');
  const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
  cleanups.push(
    async () => {
      await bus.destroy();
      await bus.close();
    },
    () => pg.cleanup(),
    () => rm(dir, { recursive: true, force: true }),
  );
  const abort = new AbortController();
  cleanups.push(async () => abort.abort());
  const running = OPERATORS.map((operatorId) =>
    runOperator({
      file,
      operatorId,
      natsUrl: nats.url,
      databaseUrl: pg.connectionString,
      schema: pg.schema,
      subjectPrefix: nats.prefix,
      partitions: 1,
      isolation: 'native',
      signal: abort.signal,
      telemetry: { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } },
    }),
  );
  const produced = await ssdk(['produce', 'numbers', '--file', join(dir, 'numbers.jsonl'), '--end', '--nats', nats.url, '--subject-prefix', nats.prefix, '--partitions', '1', file]);
  expect(produced.code, produced.err).toBe(0);
  expect((await Promise.all(running)).map((r) => r.ended)).toEqual([true, true]);
  const { plan } = await planOrThrow(file, { subjectPrefix: nats.prefix, partitions: 1 });
  const reader = bus.read(plan.topics.find((t) => t.id === 'results')!.name, 0);
  const messages = await reader.fetch(100, 2_000);
  await reader.close();
  return { spans: receiver.spans, sinkHeaders: messages.map((m) => m.headers), produceErr: produced.err };
}

/** The produce span of the records, then the batch of each operator that had records from it, in order. */
function pathOf(spans: OtlpSpan[]): OtlpSpan[] {
  const produce = spans.filter((s) => s.service === 'ssdk-produce' && s.name === 'produce');
  expect(produce, `spans: ${spans.map((s) => `${s.service}/${s.name}`).join(', ')}`).toHaveLength(1);
  const trace = spans.filter((s) => s.traceId === produce[0]!.traceId);
  const path = [produce[0]!];
  for (const op of OPERATORS) {
    const child = trace.find((s) => s.service === op && s.name === 'process' && s.parentSpanId === path.at(-1)!.spanId);
    expect(child, `${op}'s batch is the child of ${path.at(-1)!.service}'s in trace ${produce[0]!.traceId}: ${trace.map((s) => `${s.service}/${s.name}<-${s.parentSpanId}`).join(', ')}`).toBeDefined();
    path.push(child!);
  }
  return path;
}

describe('one trace across the path of a record', () => {
  it('trace - produce → every operator → the sink topic is one trace: the producer\'s span the root, each batch the child of the one upstream (W3C traceparent)', async () => {
    const { spans, sinkHeaders } = await tracedRun(undefined);
    const path = pathOf(spans);
    expect(path[0]!.parentSpanId).toBeUndefined();
    expect(path[0]!.kind).toBe(4); // SPAN_KIND_PRODUCER
    expect(new Set(path.map((s) => s.traceId)).size).toBe(1);
    // What reached the sink topic carries the last operator's batch, so a sink (or `ssdk consume`) continues the trace.
    expect(sinkHeaders.length).toBeGreaterThan(0);
    const last = path.at(-1)!;
    expect(sinkHeaders.some((h) => h?.['traceparent'] === `00-${last.traceId}-${last.spanId}-01`), JSON.stringify(sinkHeaders)).toBe(true);
  }, 120_000);

  it('trace - OTEL_PROPAGATORS=b3multi: the same one trace, carried in B3 headers instead of traceparent', async () => {
    const { spans, sinkHeaders } = await tracedRun('b3multi');
    const path = pathOf(spans);
    const last = path.at(-1)!;
    const carried = sinkHeaders.find((h) => h?.['x-b3-spanid'] === last.spanId);
    expect(carried, JSON.stringify(sinkHeaders)).toBeDefined();
    expect(carried!['x-b3-traceid']).toBe(last.traceId);
    for (const h of sinkHeaders) expect(h?.['traceparent']).toBeUndefined();
  }, 120_000);

  it('trace - an OTEL_PROPAGATORS name the SDK does not know is said, not silently dropped', async () => {
    const { produceErr } = await tracedRun('tracecontext,no-such-format');
    expect(produceErr).toMatch(/no-such-format/);
  }, 120_000);
});
