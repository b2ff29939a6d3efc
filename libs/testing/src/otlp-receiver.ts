/**
 * An OTLP/HTTP receiver in the test's process: what Jaeger or a collector would get from the
 * SDK's exporters (JSON, `POST /v1/traces`). Tests of tracing point `OTEL_EXPORTER_OTLP_ENDPOINT`
 * at `url` and read the spans it collected.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpAttribute {
  key: string;
  value: { intValue?: string | number; stringValue?: string; boolValue?: boolean };
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  /** Absent for a root span (OTLP/JSON sends it as an empty string). */
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  attributes: OtlpAttribute[];
  /** The `service.name` of the resource that sent it (`?` when it has none). */
  service: string;
}

export interface OtlpReceiver {
  /** The endpoint to give `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string;
  /** Every span received so far, in arrival order. */
  readonly spans: OtlpSpan[];
  close(): Promise<void>;
}

interface ExportTraceRequest {
  resourceSpans: Array<{ resource: { attributes: OtlpAttribute[] }; scopeSpans: Array<{ spans: Array<Omit<OtlpSpan, 'service'>> }> }>;
}

/** Listens on a port the OS finds free; anything but JSON traces is answered and dropped. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportTraceRequest;
        for (const rs of body.resourceSpans) {
          const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, parentSpanId: s.parentSpanId || undefined, service });
        }
      }
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
