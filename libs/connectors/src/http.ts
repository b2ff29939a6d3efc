/**
 * `http-source` (poll an endpoint at an interval, or receive POSTs as a webhook) and `http-sink`
 * (a request per record or per bus message, retried with backoff, with an `Idempotency-Key`
 * that stays the same when a request is repeated). node's own `fetch` and `http`: no client lib.
 */
import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJsonLine } from '@ssdk/records';
import type { HttpSinkConfig, HttpSourceConfig, ProducerSettings } from '@ssdk/spec';
import { EndpointUnavailableError } from './errors.ts';
import { publishDeadLetters, retrying, SourceBatcher, valueText, type ConnectorHost, type DeadLetter, type SinkRecord, type SinkWriter, type SourceRecord, type SourceTopic } from './runtime.ts';

/** `Key: Value` (Fluvio's) or `Key=Value` header lines, secrets filled in. */
function headersOf(host: ConnectorHost, lines: HttpSourceConfig['headers'], userAgent: string): Headers {
  const headers = new Headers({ 'user-agent': userAgent });
  for (const line of lines) {
    const text = host.secrets.resolve(line);
    const at = text.search(/[:=]/);
    if (at > 0) headers.set(text.slice(0, at).trim(), text.slice(at + 1).trim());
  }
  return headers;
}

/** Statuses that mean "the endpoint is not able now": retried, never dead-lettered. */
function isUnavailableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * Splits a body into records as the source's `split` and `output_type` say (`record`: each part
 * is `{key?, value, timestamp?, headers?}`, read as `ssdk produce --records` reads a line); bad
 * parts come back with the reason, for the dead-letter topic.
 */
export function bodyRecords(config: Pick<HttpSourceConfig, 'split' | 'outputType'>, body: string): { records: SourceRecord[]; bad: Array<{ value: string; reason: string }> } {
  const records: SourceRecord[] = [];
  const bad: Array<{ value: string; reason: string }> = [];
  const take = (text: string, what: string, line: number) => {
    if (config.outputType === 'text') {
      records.push({ value: JSON.stringify(text) });
      return;
    }
    if (config.outputType === 'record') {
      try {
        const r = parseJsonLine(text, line, true);
        const key = r.key === undefined || r.key === null ? null : typeof r.key === 'object' ? JSON.stringify(r.key) : (r.key as string | number | boolean);
        records.push({ key, value: JSON.stringify(r.value), ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}), ...(r.headers ? { headers: r.headers } : {}) });
      } catch (error) {
        bad.push({ value: text, reason: `${what} is not a record: ${(error as Error).message.replace(/^line \d+: /, '')}` });
      }
      return;
    }
    try {
      records.push({ value: JSON.stringify(JSON.parse(text) as unknown) });
    } catch (error) {
      bad.push({ value: text, reason: `${what} is not JSON: ${(error as Error).message}` });
    }
  };
  if (config.split === 'lines') {
    body.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() !== '') take(line, `line ${i + 1}`, i + 1);
    });
  } else if (config.split === 'array') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      bad.push({ value: body, reason: `body is not a JSON array: ${(error as Error).message}` });
      return { records, bad };
    }
    if (!Array.isArray(parsed)) bad.push({ value: body, reason: 'body is not a JSON array' });
    else parsed.forEach((item, i) => (config.outputType === 'json' ? records.push({ value: JSON.stringify(item) }) : take(JSON.stringify(item), `item ${i + 1}`, i + 1)));
  } else take(body, 'body', 1);
  return { records, bad };
}

// ---------------------------------------------------------------------------------------------
// http-source: poll

export async function runHttpPoll(host: ConnectorHost, config: HttpSourceConfig, topic: SourceTopic, producer: ProducerSettings = {}): Promise<void> {
  const endpoint = host.secrets.resolve(config.endpoint!);
  const headers = headersOf(host, config.headers, config.userAgent);
  const batcher = new SourceBatcher(host, topic, producer);
  while (!host.signal.aborted) {
    const started = Date.now();
    const response = await retrying(host, `poll ${host.secrets.redact(endpoint)}`, async () => {
      let res: Response;
      try {
        res = await fetch(endpoint, { method: config.method, headers, ...(config.body ? { body: config.body } : {}), signal: AbortSignal.any([host.signal, AbortSignal.timeout(30_000)]) });
      } catch (error) {
        throw new EndpointUnavailableError(`${host.secrets.redact(endpoint)} did not answer: ${(error as Error).message}`, { cause: error });
      }
      if (isUnavailableStatus(res.status)) throw new EndpointUnavailableError(`${host.secrets.redact(endpoint)} answered HTTP ${res.status}`);
      return { status: res.status, statusText: res.statusText, headers: Object.fromEntries(res.headers), body: await res.text() };
    });
    if (response.status >= 400) {
      await publishDeadLetters(host, [{ reason: `HTTP ${response.status} ${response.statusText}`, input: host.secrets.redact(endpoint), value: response.body }]);
    } else {
      const { records, bad } = bodyRecords(config, response.body);
      await batcher.publish(config.outputParts === 'full' ? records.map((r) => ({ ...r, value: fullResponse(config, response, r.value as string) })) : records);
      await publishDeadLetters(host, bad.map((b) => ({ ...b, input: host.secrets.redact(endpoint) })));
    }
    await sleep(Math.max(0, config.intervalMs - (Date.now() - started)), undefined, { signal: host.signal }).catch(() => {});
  }
}

/** `output_parts: full`: the status and headers with the body (JSON), or the response as text. */
function fullResponse(config: HttpSourceConfig, response: { status: number; statusText: string; headers: Record<string, string> }, value: string): string {
  if (config.outputType === 'json') return JSON.stringify({ status: response.status, headers: response.headers, body: JSON.parse(value) as unknown });
  const head = [`HTTP/1.1 ${response.status} ${response.statusText}`, ...Object.entries(response.headers).map(([k, v]) => `${k}: ${v}`)].join('\n');
  return JSON.stringify(`${head}\n\n${JSON.parse(value) as string}`);
}

// ---------------------------------------------------------------------------------------------
// http-source: webhook

const MAX_BODY = 16 * 1024 * 1024;

/**
 * Receives POSTs; answers 200 only once the records are stored on the bus, so a sender that
 * retries on failure loses nothing. An `Idempotency-Key` header makes a repeated request a
 * duplicate the bus drops. Bad parts of a body are dead-lettered with the reason.
 */
export async function runHttpWebhook(host: ConnectorHost, config: HttpSourceConfig, topic: SourceTopic, producer: ProducerSettings, onListening?: (address: string) => void): Promise<void> {
  const token = config.token ? host.secrets.resolve(config.token) : undefined;
  const batcher = new SourceBatcher(host, topic, producer);
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 503, { error: host.secrets.redact((error as Error).message) }));
  });
  const reply = (res: ServerResponse, status: number, body: unknown) => {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== config.path) return reply(res, 404, { error: `POST to ${config.path}` });
    if (req.method !== 'POST' && req.method !== 'PUT') return reply(res, 405, { error: 'POST records here' });
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) return reply(res, 401, { error: 'missing or wrong bearer token' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return reply(res, 413, { error: `a body may hold at most ${MAX_BODY} bytes` });
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const parts = bodyRecords(config, body);
    const bad = parts.bad;
    const key = req.headers['idempotency-key'];
    const base = typeof key === 'string' && key !== '' ? `webhook|${key}` : undefined;
    const records: SourceRecord[] = parts.records.map((record, i) => ({ ...record, ...(base ? { id: `${base}|${i}` } : {}) }));
    await batcher.publish(records);
    const letters: DeadLetter[] = bad.map((b, i) => ({ ...b, input: `webhook ${config.path}`, ...(base ? { id: `${host.name}|dl|${base}|${i}` } : {}) }));
    await publishDeadLetters(host, letters);
    reply(res, bad.length > 0 && records.length === 0 ? 422 : 200, { accepted: records.length, deadLettered: bad.length, ...(bad.length ? { reasons: bad.map((b) => b.reason) } : {}) });
  };
  const [hostname, port] = splitListen(config.listen!);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve());
  });
  const address = server.address();
  const where = typeof address === 'object' && address !== null ? `${address.address}:${address.port}` : config.listen!;
  host.log(`webhook listening on http://${where}${config.path}`);
  onListening?.(where);
  await new Promise<void>((resolve) => host.signal.addEventListener('abort', () => resolve(), { once: true }));
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function splitListen(listen: string): [string, number] {
  const at = listen.lastIndexOf(':');
  return [listen.slice(0, at) || '0.0.0.0', Number(listen.slice(at + 1))];
}

// ---------------------------------------------------------------------------------------------
// http-sink

/**
 * One request per record (`body: record`, Fluvio's) or per bus message (`array`, `lines`): a
 * bus message's records are the same after any restart, so its `Idempotency-Key` is too.
 */
export function httpSinkWriter(host: ConnectorHost, config: HttpSinkConfig): SinkWriter {
  const endpoint = host.secrets.resolve(config.endpoint);
  const headers = headersOf(host, config.headers, config.userAgent);
  const post = sinkRequester(host, config, endpoint);
  const send = async (body: string, contentType: string, key: string): Promise<{ ok: true } | { ok: false; reason: string }> => {
    const h = new Headers(headers);
    if (!h.has('content-type')) h.set('content-type', contentType);
    h.set('idempotency-key', key);
    const res = await post(body, h);
    if (res.status >= 200 && res.status < 300) return { ok: true };
    if (isUnavailableStatus(res.status)) throw new EndpointUnavailableError(`${host.secrets.redact(endpoint)} answered HTTP ${res.status}`);
    return { ok: false, reason: `${host.secrets.redact(endpoint)} refused it: HTTP ${res.status} ${res.text.slice(0, 300)}` };
  };
  return {
    async write(batch, ctx) {
      for (const message of batch.messages) {
        const base = `${host.name}:${batch.topic}/${batch.partition}:${message.seq}`;
        if (config.body === 'record') {
          for (const record of message.records) {
            const result = await send(valueText(record), 'application/json', `${base}:${record.index}`);
            if (!result.ok) ctx.reject(record, result.reason);
          }
          continue;
        }
        const texts = message.records.map(valueText);
        const body = config.body === 'array' ? `[${texts.map(jsonOrString).join(',')}]` : `${texts.join('\n')}\n`;
        const result = await send(body, config.body === 'array' ? 'application/json' : 'application/x-ndjson', base);
        if (!result.ok) for (const record of message.records) ctx.reject(record, result.reason);
      }
    },
    async close() {
      post.close();
    },
  };
}

/**
 * The sink's requests, on node's own http(s) with a kept-alive agent: unlike `fetch`, it tells
 * the connection apart from the exchange, so `http_connect_timeout` bounds the TCP (and TLS)
 * connect and `http_request_timeout` the whole request. Either running out is an endpoint out
 * of reach: retried with backoff.
 */
function sinkRequester(host: ConnectorHost, config: HttpSinkConfig, endpoint: string): ((body: string, headers: Headers) => Promise<{ status: number; text: string }>) & { close(): void } {
  const url = new URL(endpoint);
  const tls = url.protocol === 'https:';
  const agent = tls ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const where = host.secrets.redact(endpoint);
  const post = (body: string, headers: Headers) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const payload = Buffer.from(body, 'utf8');
      const outgoing: Record<string, string> = Object.fromEntries(headers);
      outgoing['content-length'] = String(payload.length);
      const fail = (message: string, cause?: unknown) => reject(new EndpointUnavailableError(`${where} ${message}`, cause === undefined ? {} : { cause }));
      const req = (tls ? httpsRequest : httpRequest)(url, { method: config.method, headers: outgoing, agent, signal: host.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error) => fail(`did not answer: ${error.message}`, error));
      });
      const whole = setTimeout(() => req.destroy(new Error(`no answer within ${config.requestTimeoutMs} ms`)), config.requestTimeoutMs);
      req.on('close', () => clearTimeout(whole));
      req.on('error', (error) => fail(`did not answer: ${error.message}`, error));
      if (config.connectTimeoutMs !== undefined) {
        const limit = config.connectTimeoutMs;
        req.on('socket', (socket) => {
          // A kept-alive socket is connected already.
          if (!socket.connecting) return;
          const timer = setTimeout(() => req.destroy(new Error(`not connected within ${limit} ms`)), limit);
          socket.once(tls ? 'secureConnect' : 'connect', () => clearTimeout(timer));
          socket.once('close', () => clearTimeout(timer));
        });
      }
      req.end(payload);
    });
  return Object.assign(post, { close: () => agent.destroy() });
}

/** A value that is JSON as it is, else as a JSON string (a raw topic's text). */
function jsonOrString(text: string): string {
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}

export type { SinkRecord };
