/**
 * Fluvio's producer and consumer settings and the http-sink's connect timeout do what they say
 * (each case beside the same connector without the setting, so it fails if the setting is
 * read and dropped): `linger` and `batch-size` group a webhook's records, `max_bytes` bounds a
 * sink's batches, `flush-period` holds back position saves until it elapses or the sink stops,
 * `http_connect_timeout` gives up on a connection that never completes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryBus, type Bus } from '@ssdk/bus';
import { decodeFrame, encodeRecords } from '@ssdk/records';
import { parseConnectorFile, type Connector } from '@ssdk/spec';
import { freePort, until } from '@ssdk/testing';
import { readTopic, sleep } from './connectors.testkit.ts';
import { runConnector } from './run.ts';
import { runSink, type ConnectorHost, type SinkBatch } from './runtime.ts';
import { Secrets } from './secrets.ts';

const stops: AbortController[] = [];
afterAll(() => stops.forEach((s) => s.abort()));

function connectorOf(text: string): Connector {
  const { connector, diagnostics } = parseConnectorFile(text, 'c.yaml');
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return connector!;
}

/** Starts a webhook connector on the bus; resolves with its address once it listens. */
async function webhook(bus: Bus, name: string, producer: string): Promise<{ url: string; stop: AbortController }> {
  const port = await freePort();
  const stop = new AbortController();
  stops.push(stop);
  const connector = connectorOf(`meta: {version: latest, name: ${name}, type: http-source, topic: ${name}${producer ? `, producer: ${producer}` : ''}}
http: {mode: webhook, listen: "127.0.0.1:${port}", path: /in, split: lines, output_type: json}
`);
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  void runConnector(connector, { bus, signal: stop.signal, partitions: 1, onListening: () => listening() });
  await ready;
  return { url: `http://127.0.0.1:${port}/in`, stop };
}

function host(bus: Bus, signal: AbortSignal): ConnectorHost {
  return { name: 'settings-test', bus, secrets: new Secrets({ env: {} }), signal, stats: { records: 0, deadLetters: 0, retries: 0 }, log: () => {} };
}

async function fill(bus: Bus, topic: string, messages: number, bytes: number): Promise<void> {
  await bus.ensureTopic({ name: topic, partitions: 1 });
  for (let i = 0; i < messages; i++) {
    await bus.publish(topic, 0, [{ data: encodeRecords([{ key: null, value: JSON.stringify({ i, pad: 'x'.repeat(bytes) }), timestamp: i }]) }]);
  }
}

describe('connector settings', () => {
  it('linger - concurrent webhook requests share one bus message; without it each request is its own', async () => {
    const bus = createMemoryBus();
    const lingering = await webhook(bus, 'lingering', '{linger: 400ms}');
    const eager = await webhook(bus, 'eager', '');
    for (const target of [lingering, eager]) {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(target.url, { method: 'POST', body: JSON.stringify({ i }) })));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    }
    expect((await readTopic(bus, 'lingering')).length).toBe(6);
    expect(await bus.lastSeq('lingering', 0)).toBe(1);
    expect(await bus.lastSeq('eager', 0)).toBe(6);
  });

  it('batch-size - a message holds at most that many bytes of records; without it one request is one message', async () => {
    const bus = createMemoryBus();
    const small = await webhook(bus, 'small-batches', '{batch-size: 1 KB}');
    const plain = await webhook(bus, 'one-batch', '');
    const body = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, text: 'y'.repeat(60) })).join('\n');
    for (const target of [small, plain]) expect((await fetch(target.url, { method: 'POST', body })).status).toBe(200);
    expect((await readTopic(bus, 'small-batches')).length).toBe(40);
    const messages = await bus.lastSeq('small-batches', 0);
    expect(messages).toBeGreaterThanOrEqual(3);
    const reader = bus.read('small-batches', 0);
    for (const m of await reader.fetch(100, 1_000)) {
      const frame = decodeFrame(m.data);
      expect(frame.kind === 'data' ? frame.records.reduce((n, r) => n + r.value.byteLength, 0) : 0).toBeLessThanOrEqual(1_000);
    }
    await reader.close();
    expect(await bus.lastSeq('one-batch', 0)).toBe(1);
  });

  it('max_bytes - a sink gets batches of at most that many bytes (one message at least); without it, what one fetch brings', async () => {
    const bus = createMemoryBus();
    await fill(bus, 'rows', 10, 400);
    const sizes = async (maxBytes: number | undefined) => {
      const stop = new AbortController();
      const batches: number[] = [];
      const writer = { write: async (batch: SinkBatch) => void batches.push(batch.messages.length), close: async () => {} };
      const running = runSink(host(bus, stop.signal), writer, { topic: 'rows', consumerId: `c${maxBytes}`, start: 'beginning', keepPositions: false, backoff: { minMs: 10, maxMs: 10 }, ...(maxBytes ? { maxBytes } : {}) });
      await until('all ten delivered', () => batches.reduce((a, b) => a + b, 0) === 10, 10_000);
      stop.abort();
      await running;
      return batches;
    };
    expect(await sizes(1_000)).toEqual([2, 2, 2, 2, 2]);
    expect(await sizes(undefined)).toEqual([10]);
  });

  it('flush-period - positions on the bus are saved when it elapses or at a clean stop, not after every batch', async () => {
    const bus = createMemoryBus();
    await fill(bus, 'events', 6, 10);
    const saves = async (flushPeriodMs: number | undefined) => {
      const stop = new AbortController();
      let delivered = 0;
      const writer = { write: async (batch: SinkBatch) => void (delivered += batch.messages.length), close: async () => {} };
      const id = `flush-${flushPeriodMs ?? 'none'}`;
      const running = runSink(host(bus, stop.signal), writer, { topic: 'events', consumerId: id, start: 'beginning', keepPositions: true, maxMessages: 1, backoff: { minMs: 10, maxMs: 10 }, ...(flushPeriodMs ? { flushPeriodMs } : {}) });
      await until('all six delivered', () => delivered === 6, 10_000);
      await sleep(200);
      const whileRunning = await bus.lastSeq(`${id}.positions`, 0);
      stop.abort();
      await running;
      return { whileRunning, afterStop: await bus.lastSeq(`${id}.positions`, 0) };
    };
    expect(await saves(3_600_000)).toEqual({ whileRunning: 0, afterStop: 1 });
    expect(await saves(undefined)).toEqual({ whileRunning: 6, afterStop: 6 });
  });

  it('http_connect_timeout - a connection that never completes is given up after it, and retried; without it the request timeout waits', async () => {
    // A listener that accepts nothing, its backlog full: further connects hang in SYN-SENT.
    const port = await freePort();
    const listener: ChildProcess = spawn('python3', ['-c', `import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', ${port})); s.listen(0)
c=socket.create_connection(('127.0.0.1', ${port})); print('ready', flush=True); time.sleep(120)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => listener.stdout!.once('data', () => resolve()));
      const bus = createMemoryBus();
      await fill(bus, 'out', 1, 10);
      const retriesIn2s = async (connectTimeout: string) => {
        const stop = new AbortController();
        const stats = { records: 0, deadLetters: 0, retries: 0 };
        const lines: string[] = [];
        const connector = connectorOf(`meta: {version: latest, name: slow-${connectTimeout ? 'limited' : 'plain'}, type: http-sink, topic: out}
http: {endpoint: "http://127.0.0.1:${port}/x", http_request_timeout: 30s, backoff_min: 50ms, backoff_max: 100ms${connectTimeout ? `, http_connect_timeout: ${connectTimeout}` : ''}}
`);
        const running = runConnector(connector, { bus, signal: stop.signal, stats, log: (line) => lines.push(line) });
        await sleep(2_000);
        stop.abort();
        await running;
        return { retries: stats.retries, said: lines.join('\n') };
      };
      const limited = await retriesIn2s('300ms');
      expect(limited.retries).toBeGreaterThanOrEqual(2);
      expect(limited.said).toContain('not connected within 300 ms');
      expect((await retriesIn2s('')).retries).toBe(0);
    } finally {
      listener.kill('SIGKILL');
    }
  }, 30_000);
});
