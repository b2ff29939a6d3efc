/**
 * http-source processes killed with SIGKILL mid-stream, against HTTP servers started here and
 * the NATS JetStream server. Webhook: a sender that retries refused or failed POSTs with the same
 * `Idempotency-Key` ends with every record on the topic exactly once. Poll: a restarted poller
 * loses nothing the endpoint still serves; it has no cursor, so an endpoint that answers with
 * the same items again gets them published again (at least once per answer, never fewer).
 * Each connector stays down SSDK_CONNECTOR_OUTAGE_MS once (2 s in CI, 10 s in the acceptance run).
 */
import { createServer, type Server } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort, uniqueName, until } from '@ssdk/testing';
import { ConnectorProcess, OUTAGE_MS, readTopic, natsSuite, sleep } from './connectors.testkit.ts';

// Ports the OS finds free, not fixed ones: a fixed port in the ephemeral range (32768–60999) was
// taken by an outgoing connection once (EADDRINUSE, the test hung). A restarted webhook listens on
// the same one.
let HOOK_PORT = 0;
let FEED_PORT = 0;

const suite = natsSuite('http-source-test');

beforeAll(async () => {
  HOOK_PORT = await freePort();
  FEED_PORT = await freePort();
});

describe('http-source kill -9', () => {
  it('http-source webhook - kill -9 mid-stream while a sender retries with the same Idempotency-Key: every record on the topic exactly once', async () => {
    const name = uniqueName('h9-hook').replace(/_/g, '-');
    const source = new ConnectorProcess(suite.box.write(`${name}.yaml`, `apiVersion: 0.2.0
meta: {version: latest, name: ${name}, type: http-source, topic: {meta: {name: ${name}}, partition: {count: 2}}}
http:
  mode: webhook
  listen: 127.0.0.1:${HOOK_PORT}
  path: /events
  split: lines
  output_type: json
`), suite.nats);
    source.start();
    await source.waitFor('webhook listening');
    let failures = 0;
    // The sender: anything but 200 (refused connection, reset, 503) is sent again, same key, same body.
    const post = async (body: string, key: string) => {
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${HOOK_PORT}/events`, { method: 'POST', body, headers: { 'idempotency-key': key } }).catch(() => undefined);
        if (res?.status === 200) return;
        failures++;
        await sleep(50);
      }
    };
    const total = 600;
    const kills = new Set([15, 40]);
    for (let batch = 0; batch < total / 10; batch++) {
      const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ n: batch * 10 + i })).join('\n');
      if (!kills.has(batch)) {
        await post(lines, `b${batch}`);
        continue;
      }
      // Killed while a request is in flight (it may or may not be stored): the sender's retry decides.
      const sent = post(lines, `b${batch}`);
      await sleep(batch === 15 ? 0 : 5);
      await source.kill9();
      // The second time the webhook stays down a while: the sender's retries are refused meanwhile.
      if (batch === 40) await sleep(OUTAGE_MS);
      source.start();
      await sent;
    }
    expect(failures).toBeGreaterThan(0);
    const values = async () => ((await readTopic(suite.bus, name)) as Array<{ n: number }>).map((v) => v.n);
    await until('every record on the topic', async () => (await values()).length >= total, 30_000);
    await sleep(300);
    expect((await values()).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(await source.stop()).toBe(0);
  }, 180_000);

  it('http-source poll - kill -9 mid-stream and a restart: every item the endpoint served is on the topic, each at least once per answer', async () => {
    const name = uniqueName('h9-poll').replace(/_/g, '-');
    // A feed that grows by one item every 20 ms and answers with all of it (an idempotent endpoint, as a
    // status or list API is): what a poller without a cursor can promise is nothing lost, not exactly once.
    const items: number[] = [];
    const grow = setInterval(() => items.push(items.length), 20);
    let answers = 0;
    const feed: Server = createServer((_req, res) => {
      answers++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(items.map((n) => ({ n }))));
    });
    await new Promise<void>((resolve, reject) => feed.once('error', reject).listen(FEED_PORT, '127.0.0.1', () => resolve()));
    try {
      const source = new ConnectorProcess(suite.box.write(`${name}.yaml`, `meta: {version: latest, name: ${name}, type: http-source, topic: ${name}}
http:
  endpoint: http://127.0.0.1:${FEED_PORT}/feed
  interval: 100ms
  output_type: json
  split: array
`), suite.nats);
      const values = async () => ((await readTopic(suite.bus, name)) as Array<{ n: number }>).map((v) => v.n);
      source.start();
      await until('the first answers on the topic', async () => (await values()).length > 0, 30_000, () => source.output.slice(-1500));
      await sleep(300);
      await source.kill9();
      await sleep(OUTAGE_MS);
      const killedAt = items.length;
      source.start();
      await until('polling again after the restart', async () => (await values()).some((n) => n > killedAt + 20), 30_000, () => source.output.slice(-1500));
      clearInterval(grow);
      const last = items.length - 1;
      await until('the last item polled', async () => (await values()).includes(last), 10_000, () => source.output.slice(-1500));
      expect(await source.stop()).toBe(0);
      const got = await values();
      const seen = new Set(got);
      // Every item, including those added while no poller ran: the restarted one's first answer carries them.
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: last + 1 }, (_, i) => i));
      // No cursor: each answer is published whole, so items served twice are on the topic twice.
      expect(got.length).toBeGreaterThan(seen.size);
      expect(answers).toBeGreaterThan(2);
    } finally {
      clearInterval(grow);
      await new Promise<void>((resolve) => feed.close(() => resolve()));
    }
  }, 180_000);
});
