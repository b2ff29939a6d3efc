/**
 * What every connector shares, written once: a source's way onto its topic (records in frames,
 * deterministic message ids so a replay is stored once, publishes retried while NATS is away),
 * a sink's way off it (each partition read from its committed position, batches handed to the
 * sink, positions committed after the sink has them), dead letters with their reason, and the
 * counters the status line and metrics read.
 */
import type { Bus } from '@ssdk/bus';
import type { ServiceTracer } from '@ssdk/telemetry';
import { decodeFrame, encodeFrame, encodeRecordFrames, encodeRecords, isFrame, partitionOfText, type OutRecord } from '@ssdk/records';
import { withBackoff } from './backoff.ts';
import { ConnectorError } from './errors.ts';
import type { Secrets } from './secrets.ts';

/** Counters of one connector process; read, never reset. */
export interface ConnectorStats {
  /** Records a source published, or a sink delivered. */
  records: number;
  deadLetters: number;
  /** Attempts that failed and were retried (endpoint or bus away). */
  retries: number;
  lastError?: string;
  /** Bus messages a sink has taken (its batches). */
  batches?: number;
  /** A sink's position per partition: the last message it delivered (for its lag). */
  positions?: Map<number, number>;
}

export interface ConnectorHost {
  readonly name: string;
  readonly bus: Bus;
  readonly secrets: Secrets;
  readonly signal: AbortSignal;
  readonly stats: ConnectorStats;
  /**
   * Traces, when on: a source's publish opens the trace of the records it writes (its context in
   * the messages' headers, as `ssdk produce` does); a sink's delivery continues the trace its
   * messages carry, so the endpoint's write is the last span of a record's path.
   */
  readonly tracer?: ServiceTracer;
  log(line: string): void;
}

/** Retryable: the connector's own retryable errors and the bus's (`BusUnavailableError`). */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ConnectorError) return error.retryable;
  return (error as { retryable?: unknown } | undefined)?.retryable === true;
}

/** Retries `what` with backoff while it fails with a retryable error, counting and logging each retry. */
export function retrying<T>(host: ConnectorHost, what: string, fn: () => Promise<T>, range: { minMs?: number; maxMs?: number } = {}): Promise<T> {
  return withBackoff(fn, isRetryable, {
    ...range,
    signal: host.signal,
    onRetry: (error, attempt, wait) => {
      host.stats.retries++;
      host.stats.lastError = host.secrets.redact((error as Error).message);
      if (attempt === 1 || attempt % 10 === 0) host.log(`${what}: ${host.stats.lastError}; retrying in ${wait} ms (attempt ${attempt})`);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Dead letters

export function deadLetterTopic(connector: string): string {
  return `${connector}.dead-letter`;
}

export interface DeadLetter {
  reason: string;
  /** Where the record came from: `topic/partition:seq` for a sink, the endpoint for a source. */
  input?: string;
  value: Uint8Array | string;
  timestamp?: number;
  /** Deterministic id, so a replayed dead letter is stored once. */
  id?: string;
}

/** Publishes dead letters (`{reason, connector, input, value | raw}`) to `<connector>.dead-letter`, partition 0. */
export async function publishDeadLetters(host: ConnectorHost, letters: readonly DeadLetter[], count = true): Promise<void> {
  if (letters.length === 0) return;
  const topic = deadLetterTopic(host.name);
  await host.bus.ensureTopic({ name: topic, partitions: 1 });
  const messages = letters.map((letter) => {
    const reason = host.secrets.redact(letter.reason);
    const text = typeof letter.value === 'string' ? letter.value : Buffer.from(letter.value).toString('utf8');
    let value: unknown;
    try {
      value = { value: JSON.parse(text) as unknown };
    } catch {
      value = { raw: text };
    }
    const body = { reason, connector: host.name, ...(letter.input ? { input: letter.input } : {}), ...(value as object), timestamp: letter.timestamp ?? Date.now() };
    const record: OutRecord = { key: null, value: JSON.stringify(body), timestamp: letter.timestamp ?? Date.now(), headers: { 'ssdk-reason': reason.slice(0, 1000), 'ssdk-connector': host.name } };
    return { data: encodeRecords([record]), ...(letter.id ? { msgId: letter.id } : {}) };
  });
  await retrying(host, 'dead-letter publish', () => host.bus.publish(topic, 0, messages));
  if (!count) return;
  host.stats.deadLetters += letters.length;
  for (const letter of letters) host.log(`dead letter: ${host.secrets.redact(letter.reason)}`);
}

// ---------------------------------------------------------------------------------------------
// Positions a connector keeps on the bus (sinks other than sql-sink, polling sources)

export interface PositionStore {
  load(slot: number): Promise<string | undefined>;
  save(slot: number, position: string): Promise<void>;
}

/**
 * Positions as the last message of a partition of the topic `<connector>.positions` (slot =
 * partition): the bus is the one store every connector already has, so an http-sink needs no
 * database to resume where it was.
 */
export async function busPositions(host: ConnectorHost, id: string, slots: number): Promise<PositionStore> {
  const topic = `${id}.positions`;
  const config = await retrying(host, 'positions topic', () => host.bus.ensureTopic({ name: topic, partitions: Math.max(1, slots) }));
  return {
    async load(slot) {
      if (slot >= config.partitions) return undefined;
      const last = await retrying(host, 'position read', () => host.bus.lastSeq(topic, slot));
      if (last === 0) return undefined;
      const reader = host.bus.read(topic, slot, { afterSeq: last - 1 });
      try {
        const [message] = await reader.fetch(1, 5_000);
        return message === undefined ? undefined : Buffer.from(message.data).toString('utf8');
      } finally {
        await reader.close();
      }
    },
    async save(slot, position) {
      await retrying(host, 'position write', () => host.bus.publish(topic, slot, [{ data: new TextEncoder().encode(position) }]));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Sources

export interface SourceRecord {
  /** Written to the bus as JSON (a topic's default key converter), as `ssdk produce` writes keys. */
  key?: string | number | boolean | null;
  value: Uint8Array | string;
  timestamp?: number;
  headers?: Record<string, string>;
  /**
   * A deterministic id (the MQTT packet, the webhook's Idempotency-Key, the row's position):
   * such a record travels alone in its message, under this id, so a replay is stored once.
   */
  id?: string;
}

export interface SourceTopic {
  name: string;
  partitions: number;
}

/** A bus message's records take at most this many bytes unless `batch-size` says otherwise. */
export const DEFAULT_FRAME_BYTES = 900_000;

/** Publishes a source's records to its topic; resolves once the bus has stored them all. */
export async function publishSourceRecords(host: ConnectorHost, topic: SourceTopic, records: readonly SourceRecord[], roundRobin: { next: number }, frameBytes = DEFAULT_FRAME_BYTES): Promise<void> {
  if (records.length === 0) return;
  const byPartition = new Map<number, { data: Uint8Array; msgId?: string }[]>();
  const loose = new Map<number, OutRecord[]>();
  for (const r of records) {
    // Keys are JSON on the bus, as `ssdk produce` writes them (a topic's default key converter).
    const key = r.key === undefined || r.key === null ? null : JSON.stringify(r.key);
    const partition = key !== null ? partitionOfText(key, topic.partitions) : roundRobin.next++ % topic.partitions;
    const out: OutRecord = { key, value: r.value, timestamp: r.timestamp ?? Date.now(), ...(r.headers ? { headers: r.headers } : {}) };
    if (r.id !== undefined) {
      const list = byPartition.get(partition) ?? [];
      list.push({ data: encodeRecords([out]), msgId: `${host.name}|${r.id}` });
      byPartition.set(partition, list);
    } else {
      const list = loose.get(partition) ?? [];
      list.push(out);
      loose.set(partition, list);
    }
  }
  for (const [partition, list] of loose) {
    const messages = byPartition.get(partition) ?? [];
    for (const data of encodeRecordFrames(list, frameBytes)) messages.push({ data });
    byPartition.set(partition, messages);
  }
  await publishTraced(host, topic, records.length, byPartition);
}

/**
 * Publishes messages per partition (in parallel, each retried while the bus is away) under one
 * `connector.publish` span whose headers every message carries, and counts the records once
 * the bus has stored them all.
 */
async function publishTraced(host: ConnectorHost, topic: SourceTopic, records: number, byPartition: Iterable<[number, Array<{ data: Uint8Array; msgId?: string }>]>): Promise<void> {
  const span = host.tracer?.startSend('connector.publish', { 'ssdk.connector': host.name, 'messaging.destination.name': topic.name, 'ssdk.records': records });
  const traced = span ? (messages: Array<{ data: Uint8Array; msgId?: string }>) => messages.map((m) => ({ ...m, headers: { ...span.headers } })) : (messages: Array<{ data: Uint8Array; msgId?: string }>) => messages;
  try {
    await Promise.all(
      [...byPartition].map(([partition, messages]) => retrying(host, `publish to \`${topic.name}\``, () => host.bus.publish(topic.name, partition, traced(messages)))),
    );
  } catch (error) {
    span?.fail(error);
    throw error;
  } finally {
    span?.end();
  }
  host.stats.records += records;
}

/**
 * Publishes records that arrive in deterministic groups (a generator's batch of events) to one
 * partition under one id: the frames of the group carry `<connector>|<id>|<frame>`, so a group
 * published again after a crash (the same records, split the same way) is stored once.
 */
export async function publishSourceGroup(host: ConnectorHost, topic: SourceTopic, partition: number, records: readonly SourceRecord[], id: string, frameBytes = DEFAULT_FRAME_BYTES): Promise<void> {
  if (records.length === 0) return;
  const out: OutRecord[] = records.map((r) => ({ key: r.key === undefined || r.key === null ? null : JSON.stringify(r.key), value: r.value, timestamp: r.timestamp ?? Date.now(), ...(r.headers ? { headers: r.headers } : {}) }));
  const messages = encodeRecordFrames(out, frameBytes).map((data, frame) => ({ data, msgId: `${host.name}|${id}|${frame}` }));
  await publishTraced(host, topic, records.length, [[partition, messages]]);
}

/**
 * Marks the end of a finite source's input on every partition of its topic (as `ssdk produce
 * --end` does), under ids of its own so a source that ends again after a crash marks it once.
 */
export async function endSourceInput(host: ConnectorHost, topic: SourceTopic, id: string): Promise<void> {
  for (let p = 0; p < topic.partitions; p++) {
    await retrying(host, `end of input on \`${topic.name}\``, () => host.bus.publish(topic.name, p, [{ data: encodeFrame({ kind: 'end' }), msgId: `${host.name}|${id}|end|${p}` }]));
  }
}

/**
 * Fluvio's `meta.producer` for a source whose records arrive in small groups (webhook requests,
 * poll responses): records wait up to `lingerMs` for others to share their messages, and go at
 * once when `batchBytes` of them wait; each message holds at most `batchBytes`. A caller's
 * promise resolves when its records are stored (a webhook answers only then).
 */
export class SourceBatcher {
  private pending: SourceRecord[] = [];
  private pendingBytes = 0;
  private waiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly roundRobin = { next: 0 };
  private readonly frameBytes: number;
  private readonly host: ConnectorHost;
  private readonly topic: SourceTopic;
  private readonly lingerMs: number;

  constructor(host: ConnectorHost, topic: SourceTopic, producer: { lingerMs?: number; batchBytes?: number }) {
    this.host = host;
    this.topic = topic;
    this.lingerMs = producer.lingerMs ?? 0;
    this.frameBytes = producer.batchBytes ?? DEFAULT_FRAME_BYTES;
  }

  publish(records: readonly SourceRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (this.lingerMs <= 0) return publishSourceRecords(this.host, this.topic, records, this.roundRobin, this.frameBytes);
    const stored = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.pending.push(...records);
    for (const r of records) this.pendingBytes += typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.byteLength;
    if (this.pendingBytes >= this.frameBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    return stored;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const records = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.pendingBytes = 0;
    this.waiters = [];
    publishSourceRecords(this.host, this.topic, records, this.roundRobin, this.frameBytes).then(
      () => waiters.forEach((w) => w.resolve()),
      (error: unknown) => waiters.forEach((w) => w.reject(error)),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Sinks

export interface SinkRecord {
  key: Uint8Array | null;
  value: Uint8Array;
  timestamp: number;
  headers?: Record<string, string>;
  /** The bus message it came in, and its index in that message's frame. */
  seq: number;
  index: number;
}

/** The messages of one partition a sink takes at once (in order). */
export interface SinkBatch {
  topic: string;
  partition: number;
  messages: Array<{ seq: number; records: SinkRecord[] }>;
  /** The position to commit once the batch is delivered: its last message's sequence. */
  lastSeq: number;
  /** The position the batch starts after. */
  afterSeq: number;
  /** The stream the sequences belong to (`StreamIdentity.created`): committed with the position. */
  stream: string;
}

/**
 * A sink's committed position: a sequence of one stream. `stream` is absent in positions
 * committed before streams were recorded; such a position is trusted while it is not past the
 * partition's end.
 */
export interface SinkPosition {
  seq: number;
  stream?: string;
}

export interface SinkWriter {
  /**
   * Positions the sink keeps itself, in the same transaction as what it writes (sql-sink):
   * then the runner keeps none. Undefined: the runner keeps them on the bus.
   */
  positions?(topic: string, partitions: readonly number[]): Promise<Map<number, SinkPosition>>;
  /**
   * Delivers a batch (durably, before resolving). Records the endpoint cannot take go to
   * `reject` with the reason; they are dead-lettered before the position moves (a writer that
   * commits its own positions calls `publishRejected` before its commit). A retryable error
   * retries the whole batch with backoff.
   */
  write(batch: SinkBatch, ctx: SinkWriteContext): Promise<void>;
  close(): Promise<void>;
}

export interface SinkWriteContext {
  reject(record: SinkRecord, reason: string): void;
  /** Dead-letters what was rejected so far (deterministic ids: a replay stores them once). */
  publishRejected(): Promise<void>;
}

export interface SinkRunOptions {
  topic: string;
  /** Which partitions to read; all when undefined. */
  partition?: number;
  /** Replica `index` of `count`: reads the partitions p with p mod count = index. */
  replica?: { index: number; count: number };
  /** Names the positions (`meta.consumer.id`, else the connector's name). */
  consumerId: string;
  start: 'beginning' | 'end';
  keepPositions: boolean;
  /** Messages per batch. @default 100 */
  maxMessages?: number;
  /** Bytes of messages per batch (Fluvio's `max_bytes`); a batch holds at least one message. */
  maxBytes?: number;
  /** Save positions kept on the bus at most this often, and when the sink stops (Fluvio's `flush-period`). */
  flushPeriodMs?: number;
  backoff: { minMs: number; maxMs: number };
}

/** Reads every partition of the topic into the writer until the signal aborts. */
export async function runSink(host: ConnectorHost, writer: SinkWriter, options: SinkRunOptions): Promise<void> {
  const config = await retrying(host, 'topic lookup', async () => {
    const found = await host.bus.topic(options.topic);
    return found ?? host.bus.ensureTopic({ name: options.topic, partitions: 8 });
  });
  const all = Array.from({ length: config.partitions }, (_, p) => p);
  const partitions = options.partition !== undefined ? [options.partition] : options.replica ? all.filter((p) => p % options.replica!.count === options.replica!.index) : all;
  if (partitions.length === 0) host.log(`replica ${options.replica?.index} of ${options.replica?.count}: \`${options.topic}\` has ${config.partitions} partition(s), none for this replica`);
  const runnerPositions = writer.positions === undefined && options.keepPositions ? await busPositions(host, options.consumerId, config.partitions) : undefined;
  const own = writer.positions ? await retrying(host, 'positions', () => writer.positions!(options.topic, partitions), options.backoff) : undefined;
  const stream = await retrying(host, 'stream lookup', () => host.bus.streamIdentity(options.topic));
  await Promise.all(
    partitions.map(async (partition) => {
      let saved = own?.get(partition);
      if (saved === undefined && runnerPositions) saved = parseSinkPosition(await runnerPositions.load(partition));
      const last = await host.bus.lastSeq(options.topic, partition);
      let after: number | undefined;
      if (saved !== undefined && saved.seq > 0) {
        // A position of another stream (the topic made again, the in-memory bus of another
        // process) would skip that many records of this one without a word: it is dropped and
        // the sink starts as one that never committed (`meta.consumer.offset.start`).
        const other = saved.stream !== undefined ? saved.stream !== stream.created : saved.seq > last;
        if (!other) after = saved.seq;
        else
          host.log(
            `position ${saved.seq} of \`${options.topic}\`/${partition} was committed against another stream (${saved.stream ?? 'unrecorded'}; this one is ${stream.created}, last sequence ${last}): reading from its ${options.start}`,
          );
      }
      after ??= options.start === 'end' ? last : 0;
      (host.stats.positions ??= new Map()).set(partition, after);
      await runPartition(host, writer, options, partition, after, stream.created, runnerPositions);
    }),
  );
}

/** A position as `busPositions` keeps it for a sink: `{"seq", "stream"}`, or a bare sequence (before streams were recorded). */
function parseSinkPosition(text: string | undefined): SinkPosition | undefined {
  if (text === undefined) return undefined;
  if (!text.startsWith('{')) return { seq: Number(text) };
  const { seq, stream } = JSON.parse(text) as { seq: number; stream: string };
  return { seq, stream };
}

async function runPartition(host: ConnectorHost, writer: SinkWriter, options: SinkRunOptions, partition: number, startAfter: number, stream: string, positions: PositionStore | undefined): Promise<void> {
  let after = startAfter;
  let reader = host.bus.read(options.topic, partition, { afterSeq: after });
  // Positions delivered but not saved yet (a flush period holds them back).
  let saved = startAfter;
  let savedAt = Date.now();
  const savePosition = async (force: boolean) => {
    if (!positions || after === saved) return;
    if (!force && options.flushPeriodMs !== undefined && Date.now() - savedAt < options.flushPeriodMs) return;
    await positions.save(partition, JSON.stringify({ seq: after, stream }));
    saved = after;
    savedAt = Date.now();
  };
  try {
    while (!host.signal.aborted) {
      let fetched;
      try {
        fetched = await reader.fetch(options.maxMessages ?? 100, 500);
      } catch (error) {
        if (!isRetryable(error)) throw error;
        host.stats.retries++;
        await reader.close().catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 500));
        reader = host.bus.read(options.topic, partition, { afterSeq: after });
        continue;
      }
      if (fetched.length === 0) {
        await savePosition(false);
        continue;
      }
      for (const messages of byBytes(fetched, options.maxBytes)) {
        await deliver(host, writer, options, partition, after, stream, messages);
        after = messages.at(-1)!.seq;
        host.stats.batches = (host.stats.batches ?? 0) + 1;
        (host.stats.positions ??= new Map()).set(partition, after);
        await savePosition(false);
      }
      await reader.ack(after).catch(() => {});
    }
    // A clean stop saves what a flush period held back.
    await savePosition(true);
  } finally {
    await reader.close().catch(() => {});
  }
}

/** Fetched messages as batches of at most `maxBytes` each (at least one message a batch). */
function byBytes<M extends { data: Uint8Array }>(messages: M[], maxBytes: number | undefined): M[][] {
  if (maxBytes === undefined) return [messages];
  const batches: M[][] = [];
  let current: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (current.length > 0 && bytes + message.data.byteLength > maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += message.data.byteLength;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** One batch to the writer: decoded, delivered (retried while the endpoint is away), rejects dead-lettered. */
async function deliver(host: ConnectorHost, writer: SinkWriter, options: SinkRunOptions, partition: number, after: number, stream: string, messages: Array<{ seq: number; data: Uint8Array; headers?: Record<string, string> }>): Promise<void> {
  if (!host.tracer) return deliverBatch(host, writer, options, partition, after, stream, messages);
  const span = host.tracer.startBatch('connector.deliver', messages.map((m) => m.headers), { 'ssdk.connector': host.name, 'messaging.destination.name': options.topic, 'ssdk.partition': partition, 'ssdk.messages': messages.length, 'ssdk.input.first_seq': messages[0]!.seq, 'ssdk.input.last_seq': messages.at(-1)!.seq });
  try {
    await deliverBatch(host, writer, options, partition, after, stream, messages);
  } catch (error) {
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}

async function deliverBatch(host: ConnectorHost, writer: SinkWriter, options: SinkRunOptions, partition: number, after: number, stream: string, messages: Array<{ seq: number; data: Uint8Array }>): Promise<void> {
  const batch: SinkBatch = { topic: options.topic, partition, messages: [], lastSeq: messages.at(-1)!.seq, afterSeq: after, stream };
  const undecodable: DeadLetter[] = [];
  for (const message of messages) {
    const records: SinkRecord[] = [];
    if (!isFrame(message.data)) {
      // A foreign producer's bare record (`nats pub`): the message is the value.
      records.push({ key: null, value: message.data, timestamp: Date.now(), seq: message.seq, index: 0 });
    } else {
      let frame;
      try {
        frame = decodeFrame(message.data);
      } catch (error) {
        undecodable.push({ reason: `message is not a readable frame: ${(error as Error).message}`, input: `${options.topic}/${partition}:${message.seq}`, value: message.data, id: `${host.name}|dl|${options.topic}/${partition}:${message.seq}` });
        continue;
      }
      // Progress and end-of-input frames say nothing to an outside system.
      if (frame.kind === 'data') frame.records.forEach((r, index) => records.push({ ...r, ...(r.headers ? { headers: r.headers } : {}), seq: message.seq, index }));
    }
    if (records.length > 0) batch.messages.push({ seq: message.seq, records });
  }
  const rejected: DeadLetter[] = [...undecodable];
  if (batch.messages.length > 0) {
    await retrying(
      host,
      `deliver \`${options.topic}\`/${partition}`,
      async () => {
        rejected.length = undecodable.length;
        await writer.write(batch, {
          reject: (record, reason) =>
            rejected.push({ reason, input: `${options.topic}/${partition}:${record.seq}`, value: record.value, timestamp: record.timestamp, id: `${host.name}|dl|${options.topic}/${partition}:${record.seq}:${record.index}` }),
          publishRejected: () => publishDeadLetters(host, rejected, false),
        });
      },
      options.backoff,
    );
  }
  await publishDeadLetters(host, rejected);
  host.stats.records += batch.messages.reduce((n, m) => n + m.records.length, 0) - (rejected.length - undecodable.length);
}

/** A record's value as text (JSON values are UTF-8 text on the bus). */
export function valueText(record: SinkRecord): string {
  return Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength).toString('utf8');
}
