/**
 * http-source (webhook and poll) and http-sink against real HTTP servers started here and the
 * NATS JetStream server: the sink killed with SIGKILL mid-stream and its endpoint down for a
 * while; the endpoint, which drops repeats by `Idempotency-Key`, must end up with every record
 * exactly once.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, uniqueName, until } from '@ssdk/testing';
import { closeServer, ConnectorProcess, OUTAGE_MS, readTopic, natsSuite, sleep } from './connectors.testkit.ts';

const suite = natsSuite('http-test');

/** An HTTP endpoint of the test's own that can go down and come back on the same port. */
class Endpoint {
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly handle: (body: string, headers: Record<string, string | string[] | undefined>, res: ServerResponse) => void;

  constructor(handle: (body: string, headers: Record<string, string | string[] | undefined>, res: ServerResponse) => void) {
    this.handle = handle;
  }

  async up(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(Buffer.concat(chunks).toString('utf8'), req.headers, res));
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.server = server;
  }

  async down(): Promise<void> {
    await closeServer(this.server, this.sockets);
    this.server = undefined;
  }
}

describe('http connectors', () => {
  it('http webhook → topic → http-sink - kill -9 of the sink and its endpoint down: every record exactly once at the endpoint', async () => {
    const name = uniqueName('hook').replace(/_/g, '-');
    const topic = `${name}-events`;
    const hookPort = await freePort();
    // The receiving end keeps the first body of each Idempotency-Key, as an idempotent API does.
    const byKey = new Map<string, unknown[]>();
    let requests = 0;
    const target = new Endpoint((body, headers, res) => {
      requests++;
      const key = String(headers['idempotency-key']);
      if (!byKey.has(key)) byKey.set(key, JSON.parse(body) as unknown[]);
      res.writeHead(200).end('{}');
    });
    await target.up();
    const source = new ConnectorProcess(suite.box.write(`${name}-in.yaml`, `apiVersion: 0.2.0
meta:
  version: 0.1.0
  name: ${name}-in
  type: http-source
  topic: {meta: {name: ${topic}}, partition: {count: 2}}
  secrets: [{name: HOOK_TOKEN}]
http:
  mode: webhook
  listen: 127.0.0.1:${hookPort}
  path: /events
  token: {secret: {name: HOOK_TOKEN}}
  split: lines
  output_type: json
`), suite.nats, { HOOK_TOKEN: 'hunter22' });
    const sink = new ConnectorProcess(suite.box.write(`${name}-out.yaml`, `meta: {version: latest, name: ${name}-out, type: http-sink, topic: ${topic}}
http:
  endpoint: http://127.0.0.1:${target.port}/ingest
  body: array
  backoff_min: 100ms
  backoff_max: 1s
`), suite.nats);
    source.start();
    sink.start();
    await source.waitFor('webhook listening');

    const post = async (body: string, key: string, token = 'hunter22') => {
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${hookPort}/events`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'idempotency-key': key } }).catch(() => undefined);
        if (res && res.status !== 503) return res;
        await sleep(100);
      }
    };
    expect((await post('{"n": -1}', 'x', 'wrong')).status).toBe(401);
    const total = 400;
    for (let batch = 0; batch < total / 10; batch++) {
      const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ n: batch * 10 + i })).join('\n');
      // A repeated request (the sender retrying) is stored once.
      expect((await post(lines, `b${batch}`)).status).toBe(200);
      if (batch % 7 === 0) await post(lines, `b${batch}`);
      if (batch === 12) {
        await sink.kill9();
        sink.start();
      }
      if (batch === 25) await target.down();
      if (batch === 30) {
        await sleep(OUTAGE_MS);
        await target.up();
      }
    }
    const bad = await post('{"n": 1000}\nnot json\n', 'bad');
    expect(await bad.json()).toMatchObject({ accepted: 1, deadLettered: 1 });

    const received = () => [...byKey.values()].flat().map((v) => (v as { n: number }).n);
    await until('every record at the endpoint', () => received().length >= total + 1, 120_000, () => sink.output.slice(-1500));
    await sleep(500);
    expect(received().sort((a, b) => a - b)).toEqual([...Array.from({ length: total }, (_, n) => n), 1000]);
    expect(requests).toBeGreaterThanOrEqual(byKey.size);
    const dead = (await readTopic(suite.bus, `${name}-in.dead-letter`)) as Array<{ reason: string }>;
    expect(dead.map((d) => d.reason)).toEqual([expect.stringContaining('line 2 is not JSON')]);
    expect(source.output + sink.output).not.toContain('hunter22');
    expect(await source.stop()).toBe(0);
    expect(await sink.stop()).toBe(0);
  }, 300_000);

  it('http-source poll - polls at the interval with headers, retries while the endpoint is down, dead-letters refusals', async () => {
    const name = uniqueName('poll').replace(/_/g, '-');
    let calls = 0;
    let auth = '';
    const api = new Endpoint((_body, headers, res) => {
      calls++;
      auth = String(headers['authorization']);
      if (calls === 2) return res.writeHead(404).end('gone');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ call: calls, a: 1 }, { call: calls, a: 2 }]));
    });
    await api.up();
    const source = new ConnectorProcess(suite.box.write(`${name}.yaml`, `meta: {version: latest, name: ${name}, type: http-source, topic: ${name}-facts}
http:
  endpoint: http://127.0.0.1:${api.port}/facts
  interval: 200ms
  headers: ["Authorization: Bearer \${{ secrets.API_TOKEN }}"]
  output_type: json
  split: array
`), suite.nats, { API_TOKEN: 'tok-123' });
    source.start();
    await until('three good polls', async () => (await readTopic(suite.bus, `${name}-facts`)).length >= 6, 90_000, () => source.output.slice(-1500));
    await api.down();
    await sleep(1000);
    await api.up();
    const before = calls;
    await until('polling again after the outage', () => calls > before + 1, 60_000, () => source.output.slice(-1500));
    expect(auth).toBe('Bearer tok-123');
    expect(source.output).toContain('did not answer');
    const dead = (await readTopic(suite.bus, `${name}.dead-letter`)) as Array<{ reason: string; raw: string }>;
    expect(dead).toEqual([expect.objectContaining({ reason: 'HTTP 404 Not Found', raw: 'gone' })]);
    const values = (await readTopic(suite.bus, `${name}-facts`)) as Array<{ call: number; a: number }>;
    expect(values.filter((v) => v.call === 1).map((v) => v.a)).toEqual([1, 2]);
    expect(values.some((v) => v.call === 2)).toBe(false);
    expect(source.output).not.toContain('tok-123');
    expect(await source.stop()).toBe(0);
  }, 180_000);
});
