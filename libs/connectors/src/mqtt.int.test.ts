/**
 * mqtt-source and mqtt-sink against a real Mosquitto of the test's own and the NATS JetStream
 * server: the source killed with SIGKILL mid-stream and the broker down for a while; the
 * topic must end up holding every published message exactly once.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryBus, type Bus } from '@ssdk/bus';
import { encodeRecords } from '@ssdk/records';
import { uniqueName, until } from '@ssdk/testing';
import { parseConnectorFile } from '@ssdk/spec';
import { ConnectorProcess, OUTAGE_MS, PrivateMosquitto, readTopic, natsSuite, sleep } from './connectors.testkit.ts';
import { runConnector } from './run.ts';

let broker: PrivateMosquitto;
const suite = natsSuite('mqtt-test');

beforeAll(async () => {
  broker = new PrivateMosquitto();
  await broker.start();
});

afterAll(async () => {
  await broker?.dispose();
});

describe('mqtt connectors', () => {
  it('mqtt-source - kill -9 mid-stream and the broker down: every message on the topic exactly once, bad payloads dead-lettered', async () => {
    const name = uniqueName('mqttsrc').replace(/_/g, '-');
    const topic = `${name}-readings`;
    const file = suite.box.write(`${name}.yaml`, `apiVersion: 0.1.0
meta: {version: 0.1.0, name: ${name}, type: mqtt-source, topic: ${topic}, secrets: [{name: BROKER_URL}]}
mqtt:
  url: {secret: {name: BROKER_URL}}
  topic: "sensors/#"
  payload_output_type: json
  output: payload
`);
    const env = { BROKER_URL: broker.url };
    const connector = new ConnectorProcess(file, suite.nats, env);
    connector.start();
    await connector.waitFor('subscribed');

    const total = 300;
    const publisher = await mqtt.connectAsync(broker.url, { clientId: `${name}-pub`, clean: false, reconnectPeriod: 200 });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      // One bad payload: it must be dead-lettered with the reason, and the stream go on.
      const payload = i === 7 ? 'not json {' : JSON.stringify({ sensor: `s${i % 5}`, n: i });
      sends.push(publisher.publishAsync(`sensors/s${i % 5}`, payload, { qos: 1 }));
      if (i === 100) {
        await Promise.all(sends.splice(0));
        await connector.kill9();
        connector.start();
      }
      if (i === 200) {
        await Promise.all(sends.splice(0));
        await broker.stop();
        await sleep(OUTAGE_MS);
        await broker.start();
      }
      if (i % 20 === 0) await sleep(20);
    }
    await Promise.all(sends);
    await publisher.endAsync();

    const golden = Array.from({ length: total }, (_, n) => n).filter((n) => n !== 7);
    await until('every message on the topic', async () => new Set((await readTopic(suite.bus, topic)).map((v) => (v as { n: number }).n)).size === golden.length, 90_000, () => connector.output.split('\n').filter((l) => !/ 0 records/.test(l)).join('\n').slice(-3000));
    await sleep(500);
    const values = (await readTopic(suite.bus, topic)) as Array<{ n: number; sensor: string }>;
    expect(values.map((v) => v.n).sort((a, b) => a - b)).toEqual(golden);
    const dead = (await readTopic(suite.bus, `${name}.dead-letter`)) as Array<{ reason: string; raw?: string }>;
    expect(dead).toEqual([expect.objectContaining({ reason: expect.stringContaining('payload is not JSON'), raw: 'not json {' })]);
    expect(connector.output).not.toContain(broker.url.replace('mqtt://', ''));
    expect(await connector.stop()).toBe(0);
  }, 240_000);

  it('mqtt-sink - every record of the topic published to the broker with QoS 1, across a kill -9 mid-stream and a broker outage', async () => {
    const name = uniqueName('mqttsink').replace(/_/g, '-');
    const topic = `${name}-out`;
    await suite.bus.ensureTopic({ name: topic, partitions: 2 });
    const file = suite.box.write(`${name}.yaml`, `meta: {version: latest, name: ${name}, type: mqtt-sink, topic: ${topic}}
mqtt: {url: "${broker.url}", topic: "out/${name}", qos: 1}
`);
    const received = new Set<number>();
    const subscriber = await mqtt.connectAsync(broker.url, { clientId: `${name}-sub`, clean: false, reconnectPeriod: 200 });
    subscriber.on('message', (_t, payload) => received.add((JSON.parse(payload.toString()) as { n: number }).n));
    await subscriber.subscribeAsync(`out/${name}`, { qos: 1 });
    const connector = new ConnectorProcess(file, suite.nats);
    connector.start();
    const produce = async (from: number, to: number) => {
      for (let p = 0; p < 2; p++) {
        const records = [];
        for (let n = from + p; n < to; n += 2) records.push({ key: null, value: JSON.stringify({ n }), timestamp: n });
        await suite.bus.publish(topic, p, [{ data: encodeRecords(records) }]);
      }
    };
    await produce(0, 100);
    // kill -9 as soon as the first records arrive (mid-stream): at least once, so a restarted
    // sink may send some again (the subscriber counts distinct records), but loses none.
    await until('the first records at the subscriber', () => received.size > 0, 60_000, () => connector.output.slice(-1500));
    await connector.kill9();
    connector.start();
    await until('first half at the subscriber', () => received.size >= 100, 60_000, () => connector.output.slice(-1500));
    await broker.stop();
    await produce(100, 200);
    await sleep(OUTAGE_MS);
    await broker.start();
    await until('every record at the subscriber', () => received.size === 200, 90_000, () => connector.output.slice(-1500));
    expect([...received].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    await subscriber.endAsync();
    expect(await connector.stop()).toBe(0);
  }, 240_000);

  it('mqtt-source - messages that arrive while a store is under way share the next store (PUBACKs held until stored): a slow suite.bus takes few publishes, every message once', async () => {
    // Stored one suite.bus round trip at a time, the source fell behind a publisher, the broker's
    // queue (Mosquitto's max_queued_messages, 1000 by default) overflowed and it dropped the
    // rest (npm run bench:connectors at its default 5000 records). A suite.bus that takes 30 ms a
    // publish makes the difference plain: one message a publish would need 300 of them.
    const memory = createMemoryBus();
    let publishes = 0;
    const slow: Bus = {
      ...memory,
      ensureTopic: (t) => memory.ensureTopic(t),
      topic: (n) => memory.topic(n),
      read: (t, p, o) => memory.read(t, p, o),
      lastSeq: (t, p) => memory.lastSeq(t, p),
      streamIdentity: (t) => memory.streamIdentity(t),
      close: () => memory.close(),
      publish: async (t, p, messages) => {
        publishes++;
        await sleep(30);
        return memory.publish(t, p, messages);
      },
    };
    const name = uniqueName('mqttbatch').replace(/_/g, '-');
    const topic = `${name}-burst`;
    const { connector, diagnostics } = parseConnectorFile(`meta: {version: latest, name: ${name}, type: mqtt-source, topic: ${topic}}\nmqtt: {url: "${broker.url}", topic: "burst-${name}/#", payload_output_type: json, output: payload}\n`, 'burst.yaml');
    expect(diagnostics).toEqual([]);
    const log: string[] = [];
    const stop = new AbortController();
    const running = runConnector(connector!, { bus: slow, signal: stop.signal, log: (line) => log.push(line), partitions: 1 });
    await until('the subscription', () => log.some((l) => l.includes('subscribed')), 30_000, () => log.join('\n'));
    const total = 300;
    const publisher = await mqtt.connectAsync(broker.url, { clientId: `${name}-pub`, clean: true });
    await Promise.all(Array.from({ length: total }, (_, n) => publisher.publishAsync(`burst-${name}/${n % 4}`, JSON.stringify({ n }), { qos: 1 })));
    await publisher.endAsync();
    let seen = 0;
    await until('every message on the topic', async () => (seen = (await readTopic(memory, topic)).length) >= total, 60_000, () => `${seen} of ${total} stored\n${log.join('\n')}`);
    stop.abort();
    await running;
    const values = (await readTopic(memory, topic)) as Array<{ n: number }>;
    expect(values.map((v) => v.n).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(publishes).toBeLessThan(total / 5);
  }, 120_000);
});
