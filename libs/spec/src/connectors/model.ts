/**
 * The model of a connector file (Fluvio's `connector.yaml`: `apiVersion`, `meta`, a section per
 * type, `transforms`) and of a connector declared inline in a services file. One model for
 * both, so the connector runner never knows where its settings were written.
 *
 * Durations are milliseconds. Values that may hold credentials are `SecretText`: the model
 * keeps the secret's NAME, never its value; values are filled in only when a connector starts.
 */
import type { SourcePos } from '../model.ts';

/** The connector types ssdk runs; the order is the order messages list them in. */
export const CONNECTOR_TYPES = ['http-source', 'http-sink', 'mqtt-source', 'mqtt-sink', 'sql-sink', 'postgres-source', 'nexmark-source'] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

export function connectorDirection(type: ConnectorType): 'source' | 'sink' {
  return type.endsWith('-source') ? 'source' : 'sink';
}

/**
 * Text that may name secrets: literal parts and secret references, from `{secret: {name: X}}`
 * (the whole value) or `${{ secrets.X }}` inside a string (Fluvio's template syntax).
 */
export interface SecretText {
  parts: Array<string | { secret: string }>;
}

/**
 * Fluvio's `meta.producer`: how a source groups records before it publishes them. Applied by the
 * sources whose records arrive without an id of their own (http-source); the others store each
 * record alone under its id, and refuse these settings.
 */
export interface ProducerSettings {
  /** Wait at most this long to fill a batch (records of several requests in one message). @default 0: publish at once */
  lingerMs?: number;
  /** A message holds at most this many bytes of records; a batch this big is published at once. @default 900 kB */
  batchBytes?: number;
}

/** Fluvio's `meta.consumer`: where a sink starts and which partition it reads. */
export interface ConsumerSettings {
  /** Names the committed position; the connector's name when absent. */
  id?: string;
  /** Read one partition only (else all). */
  partition?: number;
  /** Where a sink with no committed position starts. @default 'beginning' */
  start: 'beginning' | 'end';
  /** `none`: positions are not kept, every start begins at `start`. @default 'auto' */
  strategy: 'auto' | 'manual' | 'none';
  /** A batch handed to the sink holds at most this many bytes of messages (at least one message). */
  maxBytes?: number;
  /**
   * Positions kept on the bus are saved at most this often (and when the sink stops); a crash
   * repeats what was delivered since (http-sink's `Idempotency-Key` makes that harmless).
   * sql-sink commits its position with its rows, in every transaction. @default every batch
   */
  flushPeriodMs?: number;
}

/** `infinyon/json-sql`: a record (JSON) → one row of `table`. */
export interface JsonSqlMapping {
  table: string;
  operation: 'insert' | 'upsert';
  uniqueColumns: string[];
  columns: JsonSqlColumn[];
  pos: SourcePos;
}

export interface JsonSqlColumn {
  name: string;
  /** A JSON pointer-ish path into the record: `device.device_id`, `$` = the whole record. */
  jsonKey: string;
  /** PostgreSQL type the value is converted to. */
  type: string;
  default?: string;
  required: boolean;
}

export interface HttpSourceConfig {
  type: 'http-source';
  /** `poll` GETs (or POSTs) `endpoint` every `intervalMs`; `webhook` listens for POSTs. */
  mode: 'poll' | 'webhook';
  endpoint?: SecretText;
  method: string;
  body?: string;
  userAgent: string;
  intervalMs: number;
  headers: SecretText[];
  /** `body` publishes the response body; `full` also the status line and headers. */
  outputParts: 'body' | 'full';
  /**
   * `text` publishes the body as a string; `json` parses it (a bad body is dead-lettered);
   * `record` (ssdk's) reads each part as a record `{key?, value, timestamp?, headers?}`, as
   * `ssdk produce --records` does, so a sender gives the key and the event time.
   */
  outputType: 'text' | 'json' | 'record';
  /** How a body holds records: one (`none`), one per line (`lines`), a JSON array (`array`). */
  split: 'none' | 'lines' | 'array';
  /** Webhook: address to listen on, `HOST:PORT`. */
  listen?: string;
  /** Webhook: the path requests must use. @default '/' */
  path: string;
  /** Webhook: a bearer token every request must carry (`Authorization: Bearer ...`). */
  token?: SecretText;
}

export interface HttpSinkConfig {
  type: 'http-sink';
  endpoint: SecretText;
  method: string;
  userAgent: string;
  headers: SecretText[];
  requestTimeoutMs: number;
  /** How long the TCP (and TLS) connection may take before the attempt counts as failed (Fluvio's `http_connect_timeout`). */
  connectTimeoutMs?: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** One request per record (Fluvio's), or per batch as a JSON array or JSON lines. */
  body: 'record' | 'array' | 'lines';
}

export interface MqttSourceConfig {
  type: 'mqtt-source';
  url: SecretText;
  topic: string;
  clientId?: string;
  timeoutMs: number;
  /** Fluvio's envelope `{mqtt_topic, payload}`: payload parsed (`json`) or as bytes (`binary`). */
  payloadOutputType: 'binary' | 'json';
  /** `envelope` (Fluvio's record shape) or `payload` (the payload itself is the record value). */
  output: 'envelope' | 'payload';
  /** The record key: the MQTT topic, its last level (`cars/CAR-01` → `CAR-01`), or none. */
  key: 'topic' | 'last-level' | 'none';
  qos: 0 | 1;
  /**
   * Subscribe as a member of this MQTT shared subscription (`$share/<group>/<topic>`): the
   * broker gives each message to one member, so replicas of the connector divide the feed.
   */
  sharedGroup?: string;
}

export interface MqttSinkConfig {
  type: 'mqtt-sink';
  url: SecretText;
  topic: string;
  clientId?: string;
  qos: 0 | 1;
  retain: boolean;
  backoffMinMs: number;
  backoffMaxMs: number;
}

export interface SqlSinkConfig {
  type: 'sql-sink';
  url: SecretText;
  /**
   * Rows are the record values (objects, columns by name). Without `table` and without a
   * json-sql transform, records are Fluvio's SQL operations (`{"Insert": {table, values}}`).
   */
  table?: string;
  /** Upsert on these columns (ON CONFLICT); plain inserts without. */
  uniqueColumns: string[];
  backoffMinMs: number;
  backoffMaxMs: number;
}

export interface PostgresSourceConfig {
  type: 'postgres-source';
  url: SecretText;
  /**
   * `poll` reads new rows by an ever-growing column; `cdc` reads every insert, update and
   * delete from a logical replication slot (test_decoding; the server needs `wal_level = logical`).
   */
  mode: 'poll' | 'cdc';
  /** Poll: the table read. Cdc: the table followed (else every table's changes). */
  table?: string;
  /** Poll: the column that orders rows and only grows (an id, a sequence). Cdc: the column whose value keys each change. */
  column?: string;
  /** Poll: between polls. Cdc: between peeks of the slot when it had nothing. */
  intervalMs: number;
  /** Cdc: the replication slot, created at the first start. @default the connector's name */
  slot?: string;
  publication?: string;
}

/**
 * The Nexmark benchmark's events generated in the connector (`@ssdk/nexmark`, what `ssdk nexmark`
 * writes): a finite source for benchmarks without files. Event n is a pure function of the seed
 * and n, so a restarted source regenerates exactly what it would have published.
 */
export interface NexmarkSourceConfig {
  type: 'nexmark-source';
  /** How many events; then the source marks the end of its topic's input and stops. */
  events: number;
  /** @default 0 */
  seed: number;
  /** Events per second of event time (not of wall-clock time: the source publishes as fast as the bus takes). @default 10000 */
  rate: number;
  /** The number of the first event (to continue a stream). @default 0 */
  first: number;
  /** Event time of event 0, epoch ms. @default `ssdk nexmark`'s (2025-01-01T00:00:00Z) */
  baseTime?: number;
  /** Events per publish (one bus message, or a few when they exceed a message's bytes). @default NEXMARK_SOURCE_BATCH */
  batch: number;
}

/** A nexmark-source's events per publish when its file does not say (`batch`). */
export const NEXMARK_SOURCE_BATCH = 1_000;

export type ConnectorSettings =
  | NexmarkSourceConfig
  | HttpSourceConfig
  | HttpSinkConfig
  | MqttSourceConfig
  | MqttSinkConfig
  | SqlSinkConfig
  | PostgresSourceConfig;

export interface ConnectorTransform {
  uses: string;
  jsonSql?: JsonSqlMapping;
  pos: SourcePos;
}

export interface Connector {
  file: string;
  /** `0.0.0` when the file has no `apiVersion` (Fluvio reads it as the first version). */
  apiVersion: string;
  name: string;
  type: ConnectorType;
  /** The topic a source writes or a sink reads. */
  topic: string;
  /** `meta.version` as written (`latest`, `0.3.0`): the connector package's version. */
  version: string;
  /** Partitions of the topic when the connector creates it (apiVersion 0.2.0 `topic.partition.count`). */
  partitions?: number;
  producer: ProducerSettings;
  consumer: ConsumerSettings;
  /** Secrets the file declares in `meta.secrets`. */
  secrets: string[];
  transforms: ConnectorTransform[];
  settings: ConnectorSettings;
  pos: SourcePos;
}
