// An OTLP/HTTP trace receiver (the JSON encoding of the OpenTelemetry protocol: POST /v1/traces,
// Content-Type application/json, an ExportTraceServiceRequest) keeping spans in memory, and the
// read side of Jaeger's query API over them. ssdk exports OTLP JSON; a protobuf body is answered
// 415, as the protocol lets a server that does not take that encoding answer.
import { createServer } from 'node:http';

/** trace id → spans, each with the service.name of its resource */
const traces = new Map();

function attribute(attrs, key) {
  const a = (attrs ?? []).find((x) => x.key === key);
  return a?.value?.stringValue;
}

function receive(req, res) {
  if (req.method !== 'POST' || req.url.split('?')[0] !== '/v1/traces') return reply(res, 404, { message: 'POST /v1/traces' });
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
  if (type !== 'application/json') return reply(res, 415, { message: `only application/json is taken here, not ${type || 'no content type'}` });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      return reply(res, 400, { message: `not JSON: ${err.message}` });
    }
    if (!Array.isArray(body?.resourceSpans)) return reply(res, 400, { message: 'an ExportTraceServiceRequest has resourceSpans' });
    let n = 0;
    for (const rs of body.resourceSpans) {
      const service = attribute(rs.resource?.attributes, 'service.name') ?? 'unknown_service';
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          const list = traces.get(span.traceId) ?? [];
          traces.set(span.traceId, list);
          list.push({ ...span, service });
          n++;
        }
      }
    }
    process.stdout.write(`received ${n} spans\n`);
    reply(res, 200, { partialSuccess: {} });
  });
}

// As Jaeger answers: a trace found by one of its services comes whole, every service's spans,
// each naming its parent (`references`, CHILD_OF) and its process (the service).
function query(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/api/services') return reply(res, 200, { data: [...new Set([...traces.values()].flatMap((spans) => spans.map((s) => s.service)))].sort() });
  if (url.pathname === '/api/traces') {
    const service = url.searchParams.get('service') ?? '';
    const limit = Number(url.searchParams.get('limit') ?? 20);
    const data = [...traces]
      .filter(([, spans]) => spans.some((s) => s.service === service))
      .slice(-limit)
      .map(([traceID, spans]) => {
        const services = [...new Set(spans.map((s) => s.service))];
        return {
          traceID,
          spans: spans.map((s) => ({
            traceID,
            spanID: s.spanId,
            operationName: s.name,
            references: s.parentSpanId ? [{ refType: 'CHILD_OF', traceID, spanID: s.parentSpanId }] : [],
            processID: `p${services.indexOf(s.service) + 1}`,
          })),
          processes: Object.fromEntries(services.map((name, i) => [`p${i + 1}`, { serviceName: name }])),
        };
      });
    return reply(res, 200, { data });
  }
  reply(res, 404, { message: 'GET /api/services or /api/traces?service=NAME' });
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

createServer(receive).listen(4318, '0.0.0.0');
createServer(query).listen(16686, '0.0.0.0');
process.stdout.write('OTLP/HTTP on :4318, query API on :16686\n');
process.on('SIGTERM', () => process.exit(0));
