/**
 * Replicas of a scalable connector divide the work: sink replicas read disjoint partitions
 * (p mod N = I), mqtt-source replicas share one MQTT shared subscription (the broker gives each
 * message to one of them; together they store every message once), and connectors that cannot
 * be divided refuse to start as replicas.
 */
import { createServer } from 'node:http';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryBus } from '@ssdk/bus';
import { encodeRecords } from '@ssdk/records';
import { parseConnectorFile, type Connector } from '@ssdk/spec';
import { uniqueName, until } from '@ssdk/testing';
import { PrivateMosquitto, readTopic } from './connectors.testkit.ts';
import { runConnector } from './run.ts';
import type { ConnectorStats } from './runtime.ts';

const stops: AbortController[] = [];
afterAll(() => stops.forEach((s) => s.abort()));

function connectorOf(text: string): Connector {
  const { connector, diagnostics } = parseConnectorFile(text, 'c.yaml');
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return connector!;
}

describe('connector replicas', () => {
  it('replicas - two http-sink replicas deliver disjoint halves of the partitions, together every record', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopic({ name: 'out', partitions: 4 });
    for (let p = 0; p < 4; p++) for (let i = 0; i < 5; i++) await bus.publish('out', p, [{ data: encodeRecords([{ key: null, value: JSON.stringify({ p, i }), timestamp: i }]) }]);
    const byReplica = new Map<string, Array<{ p: number; i: number }>>();
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        byReplica.set(req.url!, [...(byReplica.get(req.url!) ?? []), JSON.parse(body) as { p: number; i: number }]);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    try {
      for (const index of [0, 1]) {
        const stop = new AbortController();
        stops.push(stop);
        void runConnector(connectorOf(`meta: {version: latest, name: out-${index}, type: http-sink, topic: out}\nhttp: {endpoint: "http://127.0.0.1:${port}/r${index}"}\n`), { bus, signal: stop.signal, replica: { index, count: 2 } });
      }
      await until('all 20 records', () => [...byReplica.values()].flat().length >= 20, 20_000);
      const partitions = (url: string) => [...new Set((byReplica.get(url) ?? []).map((r) => r.p))].sort();
      expect(partitions('/r0')).toEqual([0, 2]);
      expect(partitions('/r1')).toEqual([1, 3]);
      expect([...byReplica.values()].flat().length).toBe(20);
    } finally {
      server.close();
    }
  });

  it('replicas - mqtt-source replicas in one shared subscription store every message once, each taking a share', async () => {
    const mosquitto = new PrivateMosquitto();
    await mosquitto.start();
    try {
      const bus = createMemoryBus();
      const name = uniqueName('shared').replace(/_/g, '-');
      const stats: ConnectorStats[] = [];
      const lines: string[] = [];
      for (const index of [0, 1]) {
        const stop = new AbortController();
        stops.push(stop);
        const s: ConnectorStats = { records: 0, deadLetters: 0, retries: 0 };
        stats.push(s);
        const connector = connectorOf(`meta: {version: latest, name: ${name}, type: mqtt-source, topic: ${name}}
mqtt: {url: "${mosquitto.url}", topic: "sensors/#", shared_group: readers, payload_output_type: json, output: payload}
`);
        void runConnector(connector, { bus, signal: stop.signal, stats: s, partitions: 2, replica: { index, count: 2 }, log: (l) => lines.push(`${index}: ${l}`) });
      }
      await until('both replicas subscribed', () => lines.filter((l) => l.includes('subscribed to `$share/readers/sensors/#`')).length === 2, 20_000, () => lines.join('\n'));
      const client = await mqtt.connectAsync(mosquitto.url, { clientId: `${name}-feed` });
      for (let i = 0; i < 200; i++) await client.publishAsync(`sensors/s${i % 7}`, JSON.stringify({ i }), { qos: 1 });
      await client.endAsync();
      await until('every message stored', async () => (await readTopic(bus, name)).length >= 200, 30_000, () => lines.join('\n'));
      const got = ((await readTopic(bus, name)) as Array<{ i: number }>).map((v) => v.i).sort((a, b) => a - b);
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(stats.map((s) => s.records > 0)).toEqual([true, true]);
      expect(stats[0]!.records + stats[1]!.records).toBe(200);
    } finally {
      stops.forEach((s) => s.abort());
      await mosquitto.dispose();
    }
  }, 60_000);

  it('replicas - connectors that cannot divide their endpoint refuse to run as replicas, saying why', async () => {
    const bus = createMemoryBus();
    const poll = connectorOf(`meta: {version: latest, name: poller, type: http-source, topic: t}\nhttp: {endpoint: "http://127.0.0.1:1/x"}\n`);
    await expect(runConnector(poll, { bus, replica: { index: 1, count: 2 } })).rejects.toThrow('cannot run as several replicas: each replica would poll the same endpoint');
    const unshared = connectorOf(`meta: {version: latest, name: m, type: mqtt-source, topic: t}\nmqtt: {url: "mqtt://127.0.0.1:1", topic: "a/#"}\n`);
    await expect(runConnector(unshared, { bus, replica: { index: 0, count: 2 } })).rejects.toThrow('set `shared_group`');
  });
});
