/**
 * Connectors are traced as operators are, on the real NATS server: a source's publish opens the
 * trace of the records it writes (the context in the messages' headers), and a sink's delivery
 * to its endpoint is a child of it: a record's way from the webhook to the HTTP endpoint is one
 * trace.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { parseConnectorFile, type Connector } from '@ssdk/spec';
import { Tracing, type TracingOptions } from '@ssdk/telemetry';
import { freePort, testNats, uniqueName, until, type TestNats } from '@ssdk/testing';
import { runConnector } from './run.ts';

type Exporter = ReturnType<NonNullable<TracingOptions['exporter']>>;
type ExportedSpan = Parameters<Exporter['export']>[0][number];

let nats: TestNats;
let bus: NatsBus;
const stops: AbortController[] = [];

beforeAll(async () => {
  nats = await testNats();
  bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
});

afterAll(async () => {
  stops.forEach((s) => s.abort());
  await bus?.close();
  await nats?.cleanup();
});

function connectorOf(text: string): Connector {
  const { connector, diagnostics } = parseConnectorFile(text, 'c.yaml');
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return connector!;
}

describe('connector tracing', () => {
  it('tracing - webhook source → topic → http-sink is one trace: the delivery span is the child of the publish span', async () => {
    const spans: ExportedSpan[] = [];
    const tracing = new Tracing({
      endpoint: 'http://unused',
      exporter: () => ({
        export: (batch, done) => {
          spans.push(...batch);
          done({ code: 0 });
        },
        shutdown: async () => {},
      }),
    });
    const received: string[] = [];
    const endpoint = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(...(JSON.parse(body) as string[]));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', () => resolve()));
    const topic = uniqueName('traced');
    const port = await freePort();
    const stop = new AbortController();
    stops.push(stop);
    try {
      const source = connectorOf(`meta: {version: latest, name: lines-in, type: http-source, topic: ${topic}}
http: {mode: webhook, listen: "127.0.0.1:${port}", split: lines}
`);
      const sink = connectorOf(`meta: {version: latest, name: lines-out, type: http-sink, topic: ${topic}}
http: {endpoint: "http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/", body: array}
`);
      let listening!: () => void;
      const ready = new Promise<void>((resolve) => (listening = resolve));
      const running = [runConnector(source, { bus, signal: stop.signal, partitions: 1, tracer: tracing.tracer('ssdk-connector-lines-in'), onListening: () => listening() })];
      await ready;
      running.push(runConnector(sink, { bus, signal: stop.signal, partitions: 1, tracer: tracing.tracer('ssdk-connector-lines-out') }));
      await new Promise((r) => setTimeout(r, 500));
      expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'hello\nthere\n' })).status).toBe(200);
      await until('the lines at the endpoint', () => received.length === 2, 30_000);
      stop.abort();
      await Promise.all(running);
    } finally {
      endpoint.close();
      await tracing.shutdown();
    }
    const publish = spans.filter((s) => s.name === 'connector.publish');
    expect(publish).toHaveLength(1);
    expect(publish[0]!.resource.attributes['service.name']).toBe('ssdk-connector-lines-in');
    expect(publish[0]!.parentSpanContext).toBeUndefined();
    const deliver = spans.find((s) => s.name === 'connector.deliver');
    expect(deliver, spans.map((s) => s.name).join(', ')).toBeDefined();
    expect(deliver!.resource.attributes['service.name']).toBe('ssdk-connector-lines-out');
    expect(deliver!.spanContext().traceId).toBe(publish[0]!.spanContext().traceId);
    expect(deliver!.parentSpanContext?.spanId).toBe(publish[0]!.spanContext().spanId);
  }, 60_000);
});
