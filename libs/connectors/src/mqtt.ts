/**
 * `mqtt-source` and `mqtt-sink` over MQTT 3.1.1 with QoS 1 (the `mqtt` package; only this file
 * imports it).
 *
 * The source holds each message's PUBACK until the bus has stored its record: a source killed
 * in between has not acknowledged it, so the broker (persistent session: fixed client id,
 * `clean: false`) delivers it again, with the same packet id, and the record's message id —
 * connector, packet id, topic and a hash of the payload — makes that repeat a duplicate the bus
 * drops. Messages that arrive while a store is under way are stored together (one bus publish),
 * up to the broker's in-flight window (Mosquitto's `max_inflight_messages`, 20): one NATS round
 * trip per message could not keep up with a publisher, and the broker drops what passes its
 * queue (`max_queued_messages`, 1000). The sink publishes with QoS 1 and moves its position only when the broker has
 * acknowledged every record (at least once: MQTT has no way to drop a repeat).
 */
import { createHash } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { MqttSinkConfig, MqttSourceConfig } from '@ssdk/spec';
import { EndpointUnavailableError } from './errors.ts';
import { publishDeadLetters, publishSourceRecords, retrying, type ConnectorHost, type DeadLetter, type SinkWriter, type SourceRecord, type SourceTopic } from './runtime.ts';

function connect(host: ConnectorHost, url: string, options: IClientOptions): MqttClient {
  const client = mqtt.connect(url, { reconnectPeriod: 1_000, connectTimeout: 10_000, ...options });
  let down = false;
  // A socket error's text names the broker's address, which may be secret: say only its code.
  client.on('error', (error: Error & { code?: unknown }) =>
    host.log(`mqtt: ${typeof error.code === 'string' ? `broker ${host.secrets.redact(url)} out of reach (${error.code})` : host.secrets.redact(error.message)}`),
  );
  client.on('offline', () => {
    if (!down) host.log(`mqtt: broker ${host.secrets.redact(url)} out of reach; reconnecting`);
    down = true;
  });
  client.on('connect', () => {
    if (down) host.log('mqtt: reconnected');
    down = false;
  });
  return client;
}

/** The connector's default client id: stable, so the broker keeps its session across restarts. */
function clientIdOf(host: ConnectorHost, configured: string | undefined, role: string): string {
  return configured ?? `ssdk-${host.name}-${role}`.slice(0, 64);
}

export async function runMqttSource(host: ConnectorHost, config: MqttSourceConfig, topic: SourceTopic, replica: { index: number; count: number } = { index: 0, count: 1 }): Promise<void> {
  const url = host.secrets.resolve(config.url);
  // Each replica keeps a session of its own with the broker: a client id of its own.
  const clientId = clientIdOf(host, config.clientId, 'source') + (replica.count > 1 ? `-${replica.index}` : '');
  const subscription = config.sharedGroup !== undefined ? `$share/${config.sharedGroup}/${config.topic}` : config.topic;
  const rr = { next: 0 };
  const client = connect(host, url, { clientId, clean: false, connectTimeout: config.timeoutMs });
  const acks = holdPubacks(client);
  let failed: ((error: unknown) => void) | undefined;
  const fatal = new Promise<never>((_, reject) => (failed = reject));
  fatal.catch(() => {});
  const waiting: Array<{ record?: SourceRecord; dead?: DeadLetter; messageId?: number }> = [];
  let storing = false;
  // Stores what waits, in arrival order, then releases those messages' PUBACKs; what arrives
  // meanwhile waits for the next round.
  const store = async () => {
    if (storing) return;
    storing = true;
    try {
      while (waiting.length > 0) {
        const round = waiting.splice(0);
        const records = round.flatMap((m) => (m.record ? [m.record] : []));
        const dead = round.flatMap((m) => (m.dead ? [m.dead] : []));
        await publishSourceRecords(host, topic, records, rr);
        await publishDeadLetters(host, dead);
        for (const m of round) if (m.messageId !== undefined) acks.release(m.messageId);
      }
    } catch (error) {
      // Not acknowledged: the broker delivers them again to the next process.
      if (!host.signal.aborted) failed?.(error);
    } finally {
      storing = false;
    }
  };
  // MQTT.js handles the next message once this callback is called, and sends the PUBACK then:
  // `holdPubacks` keeps that PUBACK until the message is stored, so messages are taken while
  // the previous ones are being stored.
  client.handleMessage = (packet, done) => {
    if (packet.cmd !== 'publish') return done();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const id = `mqtt|${packet.messageId ?? 0}|${packet.topic}|${createHash('sha256').update(payload).digest('hex').slice(0, 16)}`;
    const value = toRecord(config, packet.topic, payload);
    const messageId = packet.qos > 0 ? packet.messageId : undefined;
    if (messageId !== undefined) acks.hold(messageId);
    waiting.push({
      ...(typeof value === 'string' ? { record: { key: keyOf(config, packet.topic), value, id } } : { dead: { reason: value.reason, input: `mqtt ${packet.topic}`, value: payload, id: `${host.name}|dl|${id}` } }),
      ...(messageId !== undefined ? { messageId } : {}),
    });
    void store();
    done();
  };
  await new Promise<void>((resolve, reject) => {
    // A broker out of reach at start is waited for, as one lost later is (the client reconnects
    // every second; the error listener logs it); a broker that answers and refuses the connection
    // (a CONNACK return code: bad credentials, not authorised) is fatal.
    const fail = (error: Error & { code?: unknown }) => {
      if (typeof error.code !== 'number') return;
      client.off('error', fail);
      reject(new EndpointUnavailableError(`the MQTT broker ${host.secrets.redact(url)} refused the connection: ${error.message}`, { cause: error }));
    };
    client.once('connect', (ack) => {
      client.off('error', fail);
      // A resumed session keeps its subscription; subscribing again is harmless.
      if (ack.sessionPresent) host.log('mqtt: session resumed');
      resolve();
    });
    client.on('error', fail);
    host.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  if (host.signal.aborted) {
    await client.endAsync(true);
    return;
  }
  await retrying(host, 'mqtt subscribe', async () => {
    const granted = await client.subscribeAsync(subscription, { qos: config.qos });
    if (granted.some((g) => g.qos === 128)) throw new EndpointUnavailableError(`the broker refused the subscription to \`${subscription}\``);
  });
  host.log(`mqtt: subscribed to \`${subscription}\` (QoS ${config.qos})`);
  try {
    await Promise.race([fatal, new Promise<void>((resolve) => host.signal.addEventListener('abort', () => resolve(), { once: true }))]);
  } finally {
    await client.endAsync(host.signal.aborted ? false : true);
  }
}

/**
 * PUBACKs held back until their messages are stored. MQTT.js sends a QoS 1 message's PUBACK as
 * soon as `handleMessage` calls back, and only then hands over the next message; holding the
 * PUBACK (through its `_sendPacket`, the one way packets leave; mqtt is pinned at 5.16.0) lets
 * the source take the broker's whole in-flight window while it stores the first messages. A
 * PUBACK sent while offline is queued by MQTT.js and goes out on the next connection, where it
 * acknowledges the same message redelivered: it is only ever sent once the message is stored.
 */
function holdPubacks(client: MqttClient): { hold(messageId: number): void; release(messageId: number): void } {
  type Send = (packet: { cmd: string; messageId?: number }, cb?: (error?: Error) => void, ...rest: unknown[]) => void;
  const inner = client as unknown as { _sendPacket: Send };
  const send = inner._sendPacket.bind(client);
  // messageId → the PUBACK waiting for the store (undefined: held, PUBACK not yet asked for).
  const held = new Map<number, (() => void) | undefined>();
  const stored = new Set<number>();
  inner._sendPacket = (packet, cb, ...rest) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined && held.has(packet.messageId) && !stored.delete(packet.messageId)) {
      held.set(packet.messageId, () => send(packet, undefined, ...rest));
      // The client goes on to the next message now; the PUBACK goes when the message is stored.
      cb?.();
      return;
    }
    if (packet.cmd === 'puback' && packet.messageId !== undefined) held.delete(packet.messageId);
    send(packet, cb, ...rest);
  };
  return {
    hold(messageId) {
      held.set(messageId, undefined);
    },
    release(messageId) {
      const puback = held.get(messageId);
      if (puback) {
        held.delete(messageId);
        puback();
      } else if (held.has(messageId)) stored.add(messageId);
    },
  };
}

function keyOf(config: MqttSourceConfig, mqttTopic: string): string | null {
  if (config.key === 'none') return null;
  return config.key === 'last-level' ? (mqttTopic.split('/').at(-1) ?? mqttTopic) : mqttTopic;
}

/** The record value for a payload: Fluvio's envelope `{mqtt_topic, payload}`, or the payload itself. */
function toRecord(config: MqttSourceConfig, mqttTopic: string, payload: Buffer): string | { reason: string } {
  let value: unknown;
  if (config.payloadOutputType === 'json') {
    try {
      value = JSON.parse(payload.toString('utf8')) as unknown;
    } catch (error) {
      return { reason: `payload is not JSON: ${(error as Error).message}` };
    }
  } else {
    value = config.output === 'payload' ? payload.toString('utf8') : [...payload];
  }
  return JSON.stringify(config.output === 'payload' ? value : { mqtt_topic: mqttTopic, payload: value });
}

export function mqttSinkWriter(host: ConnectorHost, config: MqttSinkConfig): SinkWriter {
  const url = host.secrets.resolve(config.url);
  const client = connect(host, url, { clientId: clientIdOf(host, config.clientId, 'sink'), clean: true });
  return {
    async write(batch) {
      if (!client.connected) throw new EndpointUnavailableError(`the MQTT broker ${host.secrets.redact(url)} is out of reach`);
      const sends: Promise<unknown>[] = [];
      for (const message of batch.messages) {
        for (const record of message.records) sends.push(client.publishAsync(config.topic, Buffer.from(record.value), { qos: config.qos, retain: config.retain }));
      }
      try {
        await Promise.all(sends);
      } catch (error) {
        throw new EndpointUnavailableError(`publish to MQTT failed: ${(error as Error).message}`, { cause: error });
      }
    },
    async close() {
      await client.endAsync();
    },
  };
}
