/**
 * One connector process: the connector's topic made sure of, then the connector run by its type
 * (one exhaustive switch: adding a type is one obvious place) until the signal aborts.
 */
import type { Bus } from '@ssdk/bus';
import type { Connector } from '@ssdk/spec';
import type { ServiceTracer } from '@ssdk/telemetry';
import { httpSinkWriter, runHttpPoll, runHttpWebhook } from './http.ts';
import { mqttSinkWriter, runMqttSource } from './mqtt.ts';
import { busPositions, retrying, runSink, type ConnectorHost, type ConnectorStats, type SinkWriter } from './runtime.ts';
import { ConnectorConfigError } from './errors.ts';
import { Secrets } from './secrets.ts';
import { runNexmarkSource } from './nexmark.ts';
import { runPostgresCdc } from './postgres-cdc.ts';
import { runPostgresPoll, sqlSinkWriter } from './sql.ts';

export interface RunConnectorOptions {
  bus: Bus;
  /** @default secrets from the environment */
  secrets?: Secrets;
  /** Stops the connector (it finishes what it holds, then resolves). */
  signal?: AbortSignal;
  /** Partitions of the topic when the connector creates it and the file does not say. @default 8 */
  partitions?: number;
  /** Status and problems, one line each (secrets already taken out). @default nothing */
  log?: (line: string) => void;
  /** Counters to fill (the caller reads them for status and metrics). */
  stats?: ConnectorStats;
  /** A webhook's address once it listens (`HOST:PORT`; useful with port 0). */
  onListening?: (address: string) => void;
  /** Spans of what it publishes or delivers (see `ConnectorHost.tracer`). @default no tracing */
  tracer?: ServiceTracer;
  /**
   * This process is replica `index` of `count` of a scaled connector: a sink reads the
   * partitions p with p mod count = index; an mqtt-source joins its shared subscription under
   * a client id of its own; a webhook needs nothing (each request is stored once wherever it
   * lands). Sources that poll cannot divide their endpoint and refuse more than one replica.
   */
  replica?: { index: number; count: number };
}

/** Runs the connector until the signal aborts (or, for one that `endsOnItsOwn`, until its input is all published). */
export async function runConnector(connector: Connector, options: RunConnectorOptions): Promise<void> {
  const signal = options.signal ?? new AbortController().signal;
  try {
    await run(connector, { ...options, signal });
  } catch (error) {
    // A stop interrupts whatever was in flight (a request, a retry's wait): that is no failure.
    if (!signal.aborted) throw error;
  }
}

async function run(connector: Connector, options: RunConnectorOptions & { signal: AbortSignal }): Promise<void> {
  const secrets = options.secrets ?? new Secrets();
  const host: ConnectorHost = {
    name: connector.name,
    bus: options.bus,
    secrets,
    signal: options.signal,
    stats: options.stats ?? { records: 0, deadLetters: 0, retries: 0 },
    ...(options.tracer ? { tracer: options.tracer } : {}),
    log: (line) => options.log?.(secrets.redact(line)),
  };
  const settings = connector.settings;
  const replica = options.replica ?? { index: 0, count: 1 };
  if (replica.count > 1) {
    const why = scalingRefusal(connector);
    if (why !== undefined) throw new ConnectorConfigError(`connector \`${connector.name}\` cannot run as several replicas: ${why}`);
  }
  if (settings.type.endsWith('-source')) {
    const wanted = connector.partitions ?? options.partitions ?? 8;
    const config = await retrying(host, 'topic', () => host.bus.ensureTopic({ name: connector.topic, partitions: wanted }));
    const topic = { name: config.name, partitions: config.partitions };
    switch (settings.type) {
      case 'http-source':
        return settings.mode === 'webhook' ? runHttpWebhook(host, settings, topic, connector.producer, options.onListening) : runHttpPoll(host, settings, topic, connector.producer);
      case 'mqtt-source':
        return runMqttSource(host, settings, topic, replica);
      case 'postgres-source':
        if (settings.mode === 'cdc') return runPostgresCdc(host, settings, topic);
        return runPostgresPoll(host, settings, topic, await busPositions(host, connector.consumer.id ?? connector.name, 1));
      case 'nexmark-source':
        return runNexmarkSource(host, settings, topic, await busPositions(host, connector.consumer.id ?? connector.name, 1));
    }
  }
  const consumerId = connector.consumer.id ?? connector.name;
  let writer: SinkWriter;
  let backoff = { minMs: 1_000, maxMs: 60_000 };
  switch (settings.type) {
    case 'http-sink':
      writer = httpSinkWriter(host, settings);
      backoff = { minMs: settings.backoffMinMs, maxMs: settings.backoffMaxMs };
      break;
    case 'mqtt-sink':
      writer = mqttSinkWriter(host, settings);
      backoff = { minMs: settings.backoffMinMs, maxMs: settings.backoffMaxMs };
      break;
    case 'sql-sink':
      writer = sqlSinkWriter(host, settings, connector.transforms.find((t) => t.jsonSql)?.jsonSql, consumerId);
      backoff = { minMs: settings.backoffMinMs, maxMs: settings.backoffMaxMs };
      break;
    default:
      return assertNever(settings);
  }
  try {
    await runSink(host, writer, {
      topic: connector.topic,
      ...(connector.consumer.partition !== undefined ? { partition: connector.consumer.partition } : replica.count > 1 ? { replica } : {}),
      consumerId,
      start: connector.consumer.start,
      keepPositions: connector.consumer.strategy !== 'none',
      ...(connector.consumer.maxBytes !== undefined ? { maxBytes: connector.consumer.maxBytes } : {}),
      ...(connector.consumer.flushPeriodMs !== undefined ? { flushPeriodMs: connector.consumer.flushPeriodMs } : {}),
      backoff,
    });
  } finally {
    await writer.close();
  }
}

/**
 * Why a connector cannot be divided among replicas (its endpoint would be read twice), or
 * undefined when it can: checked by a replica before it starts and by `ssdk compose --scale`
 * and `ssdk up` before they write or start any.
 */
export function scalingRefusal(connector: Connector): string | undefined {
  const s = connector.settings;
  if (s.type === 'http-source' && s.mode === 'poll') return 'each replica would poll the same endpoint; run one';
  if (s.type === 'postgres-source') return 'each replica would read the same rows; run one';
  if (s.type === 'nexmark-source') return 'each replica would generate the same events; run one';
  if (s.type === 'mqtt-source' && s.sharedGroup === undefined) return 'each replica would receive every message; set `shared_group` so the broker divides them';
  if (s.type.endsWith('-sink') && connector.consumer.partition !== undefined) return 'it reads one partition (`meta.consumer.partition`); replicas divide the partitions among themselves';
  return undefined;
}

/**
 * Whether the connector stops by itself once its input is all published and ended (a
 * nexmark-source's `events`): `runConnector` then resolves without a stop, and a run that ends
 * its input waits for it first. Every other connector runs until it is stopped.
 */
export function endsOnItsOwn(connector: Connector): boolean {
  return connector.settings.type === 'nexmark-source';
}

function assertNever(value: { type: string }): never {
  throw new Error(`connector type \`${value.type}\` has no runner`);
}
