/**
 * The NATS JetStream bus of the distributed runtime (docs/architecture.md sections 3-5).
 *
 * - One stream per topic (`<prefix>_<topic>`), subjects `<prefix>.topic.<name>.<partition>` (or
 *   the topic's own template, e.g. a plan's internal subjects); the partition count lives in the
 *   stream's description, so any process reads a topic back from the server and an existing
 *   topic keeps its partitions. Stream settings (replicas, storage, duplicate window, limits)
 *   come from the options and apply when a stream is created, so an R3 cluster needs nothing
 *   but `replicas: 3`.
 * - `publish` sends a call's messages pipelined (bounded by `maxPublishInFlight`) on one
 *   connection, so they are stored in call order; each carries its `msgId` as `Nats-Msg-Id`
 *   and a republish within the duplicate window comes back as `{seq, duplicate: true}`. A
 *   message over `max_payload` is refused before anything is sent.
 * - Sequences are the stream's: they grow within a partition but are not contiguous (the
 *   partitions of a topic share one stream), which the `Bus` interface allows.
 * - A lost server: the connection reconnects forever with backoff; publishes, reads and admin
 *   calls wait and retry for `retryTimeoutMs`, then fail with a retryable `BusUnavailableError`.
 *   A retried publish keeps its `msgId`, so it is stored once; if a failure strikes mid-call,
 *   the retried messages may land after later ones of the same call.
 */
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { ClosedConnectionError, DrainingConnectionError, nanos, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { Bus, PartitionReader, PublishAck, PublishMessage, ReadOptions, StreamIdentity, TopicConfig } from './bus.ts';
import {
  BusClosedError,
  BusError,
  BusServerError,
  BusUnavailableError,
  PayloadTooLargeError,
  TopicConflictError,
  UnknownTopicError,
  type BusErrorOptions,
} from './errors.ts';
import { closeWithoutTrace, connectNats, describeServers } from './nats-connection.ts';
import { compileNatsBusOptions, type CompiledNatsBusOptions, type NatsBusOptions } from './nats-options.ts';
import { describeTopic, parseDescription, partitionSubject, streamNameOf, streamNamePrefix, topicLayout, type TopicLayout } from './nats-names.ts';
import { JetStreamPublisher } from './nats-publisher.ts';
import { NatsPartitionReader, errorText, type ReaderHost } from './nats-reader.ts';
import { backoffDelay, isNoResponders, isTransientNatsError, sleep, waitAtMost } from './retry.ts';

export interface NatsBus extends Bus {
  readonly options: Readonly<CompiledNatsBusOptions>;
  /** The JetStream stream that holds a topic. */
  streamName(topic: string): string;
  /** Bytes of the largest message this bus publishes (data and headers): size frames below it. */
  maxPayload(): number;
  /**
   * Which stream holds a topic now: its creation time (a stream deleted and made again, or one on
   * another server, has another) and its last sequence over every partition. Offsets committed
   * against a stream mean nothing on another (runtime's stream check).
   */
  streamIdentity(topic: string): Promise<StreamIdentity>;
  /** Deletes a topic's stream and its messages; false when there was none. */
  deleteTopic(name: string): Promise<boolean>;
  /** Deletes every topic of this bus's subject prefix (tests); returns the streams deleted. */
  deleteTopics(): Promise<string[]>;
  /** `deleteTopics()`, then `close()`: what a test calls when it is done. */
  destroy(): Promise<void>;
}

/**
 * Bytes the client gathers before it writes them to the socket (nats.js's `pendingLimit`, an
 * option its types leave out; 32 KiB by default). A batch's frames are published in one go
 * (`pipelined`), each a message of tens of kB: at 32 KiB nearly every message was a write of
 * its own — a syscall that wakes the server for each. Gathered up to 1 MiB, 184 000 bids in
 * 2 000 frames (47 MB) cost 0.32 instead of 0.41 CPU s to publish (5 alternating pairs). What is
 * gathered still goes out once the publishing code yields (the client flushes in a microtask),
 * so no message waits longer; the client holds at most this much more before writing it.
 */
export const PUBLISH_COALESCE_BYTES = 1024 * 1024;
const coalescedWrites: Partial<ConnectionOptions> & { pendingLimit: number } = { pendingLimit: PUBLISH_COALESCE_BYTES };

/**
 * Connects to NATS and returns a bus over JetStream. Fails with a `BusUnavailableError` when no
 * server answers within `connectTimeoutMs`, and a `BusServerError` when JetStream is off.
 *
 * @example
 * const bus = await createNatsBus({ servers: process.env.NATS_URL, replicas: 3 });
 * await bus.ensureTopic({ name: 'sentences', partitions: 8 });
 * await bus.publish('sentences', 3, [{ data: frame, msgId: 'split:3:41:0' }]);
 */
export async function createNatsBus(options: NatsBusOptions = {}): Promise<NatsBus> {
  const o = compileNatsBusOptions(options);
  let reconnects = 0;
  const nc = await connectNats(o.connection, {
    name: o.name,
    timeout: o.connectTimeoutMs,
    maxReconnectAttempts: o.maxReconnectAttempts,
    reconnectDelayHandler: () => backoffDelay(reconnects++, 100, o.reconnectMaxDelayMs),
    pingInterval: 15_000,
    maxPingOut: 2,
    // A stack captured per request costs a third of a publish; our errors say where instead.
    noAsyncTraces: true,
    ...coalescedWrites,
  });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: o.apiTimeoutMs });
  } catch (cause) {
    await closeWithoutTrace(nc).catch(() => {});
    if (/not enabled/i.test(errorText(cause))) {
      throw new BusServerError(`the NATS server at ${describeServers(o.servers)} runs without JetStream: start it with -js`, { cause });
    }
    throw new BusUnavailableError(`JetStream at ${describeServers(o.servers)} did not answer: ${errorText(cause)}`, { cause });
  }
  return new NatsJetStreamBus(nc, jsm, jetstream(nc, { timeout: o.apiTimeoutMs }), o, () => (reconnects = 0));
}

class NatsJetStreamBus implements NatsBus, ReaderHost {
  readonly options: CompiledNatsBusOptions;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  private readonly nc: NatsConnection;
  private readonly publisher: JetStreamPublisher;
  private readonly layouts = new Map<string, TopicLayout>();
  private readonly readers = new Set<NatsPartitionReader>();
  private readonly closing = new AbortController();
  /** Aborts on close() and on the caller's signal. */
  private readonly signal: AbortSignal;
  private disconnectedAt: number | undefined;
  private connectedWaiters = new Set<() => void>();
  private closed = false;

  constructor(nc: NatsConnection, jsm: JetStreamManager, js: JetStreamClient, options: CompiledNatsBusOptions, onReconnect: () => void) {
    this.nc = nc;
    this.jsm = jsm;
    this.js = js;
    this.options = options;
    this.publisher = new JetStreamPublisher(nc, options.publishTimeoutMs);
    this.signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    void this.watch(onReconnect);
  }

  // ---- Bus ----

  async ensureTopic(config: TopicConfig): Promise<TopicConfig> {
    const wanted = topicLayout(this.options.subjectPrefix, config);
    return this.retrying(`creating topic \`${config.name}\``, { topic: config.name }, this.signal, async () => {
      const existing = await this.load(config.name);
      if (existing) return this.toConfig(existing);
      try {
        await this.jsm.streams.add(this.streamConfig(wanted));
      } catch (error) {
        const code = apiCode(error);
        if (code === 10058 || code === 10065) {
          // Created meanwhile by another process (with other settings): the stored one wins.
          // A server still creating the same stream answers the race with "subjects overlap"
          // (10065) rather than "name in use" (10058), so both read the topic back first.
          const raced = await this.load(config.name);
          if (raced) return this.toConfig(raced);
        }
        if (code === 10065) {
          throw new TopicConflictError(
            `topic \`${config.name}\`: subjects \`${wanted.base}.*\` overlap a stream that is not this topic's (${errorText(error)}); ` +
              'use another subject prefix or remove that stream',
            { topic: config.name, cause: error },
          );
        }
        throw error;
      }
      this.layouts.set(config.name, wanted);
      return this.toConfig(wanted);
    });
  }

  async topic(name: string): Promise<TopicConfig | undefined> {
    const layout = await this.retrying(`reading topic \`${name}\``, { topic: name }, this.signal, () => this.load(name));
    return layout && this.toConfig(layout);
  }

  async publish(topic: string, partition: number, messages: PublishMessage[]): Promise<PublishAck[]> {
    this.checkOpen();
    const layout = await this.resolve(topic, partition, this.signal);
    if (messages.length === 0) return [];
    const subject = partitionSubject(layout, partition);
    const limit = this.maxPayload();
    const prepared = messages.map((m, i) => {
      const size = m.data.byteLength + headerBytes(m);
      if (size > limit) {
        throw new PayloadTooLargeError(
          `message ${i} of ${messages.length} for topic \`${topic}\` partition ${partition} is ${size} bytes, over the limit of ${limit} ` +
            `(the server's max_payload${this.options.maxPayload === undefined ? '' : ' or the bus option maxPayload'}): encode smaller frames`,
          { size, limit },
          { topic, partition },
        );
      }
      const headers = m.headers && Object.keys(m.headers).length > 0 ? m.headers : undefined;
      return { data: m.data, msgId: m.msgId, headers };
    });

    const acks: PublishAck[] = new Array(messages.length);
    const deadline = Date.now() + this.options.retryTimeoutMs;
    let todo = prepared.map((_, i) => i);
    for (let attempt = 0; todo.length > 0; attempt++) {
      await this.untilConnected(deadline, `publishing to topic \`${topic}\` partition ${partition}`, { topic, partition }, this.signal);
      const failed: Array<{ index: number; error: unknown }> = [];
      await pipelined(todo, this.options.maxPublishInFlight, async (index) => {
        try {
          const m = prepared[index]!;
          acks[index] = await this.publisher.send(subject, m.data, m.msgId, m.headers);
        } catch (error) {
          failed.push({ index, error });
        }
      });
      if (failed.length === 0) break;
      failed.sort((a, b) => a.index - b.index);
      const first = failed[0]!.error;
      const fatal = failed.find((f) => !isTransientNatsError(f.error));
      const what = `publishing to topic \`${topic}\` partition ${partition}`;
      if (fatal) throw this.toBusError(fatal.error, what, { topic, partition });
      if (isNoResponders(first)) await this.checkStreamExists(layout, partition);
      const left = deadline - Date.now();
      if (left <= 0 || this.signal.aborted) {
        throw this.gaveUp(`${what}: ${failed.length} of ${messages.length} messages unacknowledged`, first, { topic, partition });
      }
      await sleep(Math.min(left, backoffDelay(attempt, this.options.retryInitialDelayMs, this.options.retryMaxDelayMs)), this.signal);
      todo = failed.map((f) => f.index);
    }
    return acks;
  }

  read(topic: string, partition: number, options: ReadOptions = {}): PartitionReader {
    this.checkOpen();
    const known = this.layouts.get(topic);
    if (known) checkPartition(known, partition);
    const reader = new NatsPartitionReader(this, topic, partition, options.afterSeq ?? 0);
    this.readers.add(reader);
    return reader;
  }

  async streamIdentity(topic: string): Promise<StreamIdentity> {
    const layout = await this.resolve(topic, 0, this.signal);
    return this.retrying(`reading the stream of topic \`${topic}\``, { topic }, this.signal, async () => {
      const info = await this.jsm.streams.info(layout.stream);
      return { stream: layout.stream, created: info.created, lastSeq: info.state.last_seq };
    });
  }

  async lastSeq(topic: string, partition: number): Promise<number> {
    const layout = await this.resolve(topic, partition, this.signal);
    const subject = partitionSubject(layout, partition);
    return this.retrying(`reading the last sequence of topic \`${topic}\` partition ${partition}`, { topic, partition }, this.signal, async () => {
      try {
        const m = await this.jsm.streams.getMessage(layout.stream, { last_by_subj: subject });
        return m?.seq ?? 0;
      } catch (error) {
        if (apiCode(error) === 10037) return 0; // no message on that subject
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.readers].map((r) => r.close()));
    this.closed = true;
    this.closing.abort();
    this.publisher.close();
    for (const w of this.connectedWaiters) w();
    if (this.disconnectedAt === undefined) {
      // Acks and consumer deletes are plain publishes: let them reach the server.
      await waitAtMost(this.nc.flush().catch(() => {}), 1_000);
    }
    await closeWithoutTrace(this.nc).catch(() => {});
  }

  // ---- NatsBus ----

  streamName(topic: string): string {
    return streamNameOf(this.options.subjectPrefix, topic);
  }

  maxPayload(): number {
    const server = this.nc.info?.max_payload ?? 1024 * 1024;
    return Math.min(server, this.options.maxPayload ?? server);
  }

  async deleteTopic(name: string): Promise<boolean> {
    this.layouts.delete(name);
    return this.retrying(`deleting topic \`${name}\``, { topic: name }, this.signal, async () => {
      try {
        return await this.jsm.streams.delete(this.streamName(name));
      } catch (error) {
        if (apiCode(error) === 10059) return false;
        throw error;
      }
    });
  }

  async deleteTopics(): Promise<string[]> {
    const prefix = streamNamePrefix(this.options.subjectPrefix);
    const mine = await this.retrying('listing topics', {}, this.signal, async () => {
      const names: string[] = [];
      for await (const info of this.jsm.streams.list()) {
        const stored = parseDescription(info.config.description);
        if (info.config.name.startsWith(prefix) && stored?.prefix === this.options.subjectPrefix) names.push(info.config.name);
      }
      return names;
    });
    for (const stream of mine) {
      await this.retrying(`deleting stream ${stream}`, {}, this.signal, async () => {
        try {
          await this.jsm.streams.delete(stream);
        } catch (error) {
          if (apiCode(error) !== 10059) throw error;
        }
      });
    }
    this.layouts.clear();
    return mine;
  }

  async destroy(): Promise<void> {
    if (this.closed) {
      // Closed already (a test that closes its bus): connect once more to clean up.
      const again = await createNatsBus({ ...this.options, ...this.options.connection, signal: undefined });
      return again.destroy();
    }
    for (const r of [...this.readers]) await r.close();
    await this.deleteTopics();
    await this.close();
  }

  // ---- ReaderHost ----

  async resolve(topic: string, partition: number, signal: AbortSignal): Promise<TopicLayout> {
    let layout = this.layouts.get(topic);
    if (!layout) {
      layout = await this.retrying(`reading topic \`${topic}\``, { topic }, signal, () => this.load(topic));
      if (!layout) throw new UnknownTopicError(`topic \`${topic}\` does not exist on this bus`, { topic });
    }
    checkPartition(layout, partition);
    return layout;
  }

  disconnectedFor(): number {
    return this.disconnectedAt === undefined ? 0 : Math.max(1, Date.now() - this.disconnectedAt);
  }

  waitConnected(ms: number, signal: AbortSignal): Promise<void> {
    if (this.disconnectedAt === undefined || ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.connectedWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.connectedWaiters.add(done);
    });
  }

  forget(reader: NatsPartitionReader): void {
    this.readers.delete(reader);
  }

  // ---- internals ----

  private async watch(onReconnect: () => void): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.disconnectedAt ??= Date.now();
        for (const r of this.readers) r.onDisconnect();
      } else if (s.type === 'reconnect') {
        this.disconnectedAt = undefined;
        onReconnect();
        for (const w of [...this.connectedWaiters]) w();
        for (const r of this.readers) r.onReconnect();
      }
    }
  }

  /** The stored layout of a topic, or undefined when its stream does not exist. */
  private async load(name: string): Promise<TopicLayout | undefined> {
    const stream = this.streamName(name);
    let description: string | undefined;
    try {
      description = (await this.jsm.streams.info(stream)).config.description;
    } catch (error) {
      if (apiCode(error) === 10059) {
        this.layouts.delete(name);
        return undefined;
      }
      throw error;
    }
    const stored = parseDescription(description);
    if (!stored || stored.topic !== name || stored.prefix !== this.options.subjectPrefix) {
      throw new TopicConflictError(
        `stream ${stream} exists on the server but is not topic \`${name}\` of subject prefix \`${this.options.subjectPrefix}\`` +
          (stored ? ` (it is topic \`${stored.topic}\` of prefix \`${stored.prefix}\`)` : ''),
        { topic: name },
      );
    }
    const layout = topicLayout(this.options.subjectPrefix, { name, partitions: stored.partitions, subject: stored.subject });
    this.layouts.set(name, layout);
    return layout;
  }

  private streamConfig(layout: TopicLayout): Partial<StreamConfig> & { name: string } {
    const o = this.options;
    return {
      name: layout.stream,
      subjects: [`${layout.base}.*`],
      description: describeTopic(o.subjectPrefix, layout),
      retention: RetentionPolicy.Limits,
      storage: o.storage === 'memory' ? StorageType.Memory : StorageType.File,
      num_replicas: o.replicas,
      duplicate_window: nanos(o.duplicateWindowMs),
      max_age: nanos(o.maxAgeMs),
      max_bytes: o.maxBytes,
      max_msgs: o.maxMessages,
      discard: DiscardPolicy.Old,
    };
  }

  private toConfig(layout: TopicLayout): TopicConfig {
    const standard = topicLayout(this.options.subjectPrefix, { name: layout.name, partitions: layout.partitions }).subject;
    return layout.subject === standard
      ? { name: layout.name, partitions: layout.partitions }
      : { name: layout.name, partitions: layout.partitions, subject: layout.subject };
  }

  /** After "no responders" on publish: is JetStream down, or is the stream gone? */
  private async checkStreamExists(layout: TopicLayout, partition: number): Promise<void> {
    try {
      await this.jsm.streams.info(layout.stream);
    } catch (error) {
      if (apiCode(error) === 10059) {
        this.layouts.delete(layout.name);
        throw new UnknownTopicError(`topic \`${layout.name}\` does not exist on this bus (its stream ${layout.stream} was deleted)`, {
          topic: layout.name,
          partition,
          cause: error,
        });
      }
    }
  }

  private async untilConnected(deadline: number, what: string, context: BusErrorOptions, signal: AbortSignal): Promise<void> {
    while (this.disconnectedAt !== undefined) {
      this.checkOpen();
      const left = deadline - Date.now();
      if (left <= 0 || signal.aborted) throw this.gaveUp(`${what}: NATS is unreachable`, undefined, context);
      await this.waitConnected(left, signal);
    }
  }

  /** Runs `fn`, waiting out a lost server with backoff until `retryTimeoutMs` has passed. */
  private async retrying<T>(what: string, context: BusErrorOptions, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.options.retryTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      this.checkOpen();
      await this.untilConnected(deadline, what, context, signal);
      try {
        return await fn();
      } catch (error) {
        if (error instanceof BusError) throw error;
        if (!isTransientNatsError(error)) throw this.toBusError(error, what, context);
        const left = deadline - Date.now();
        if (left <= 0 || signal.aborted) throw this.gaveUp(what, error, context);
        await sleep(Math.min(left, backoffDelay(attempt, this.options.retryInitialDelayMs, this.options.retryMaxDelayMs)), signal);
      }
    }
  }

  private gaveUp(what: string, cause: unknown, context: BusErrorOptions): BusError {
    if (this.closed) return new BusClosedError(`${what}: the bus was closed`, { ...context, cause });
    const why = this.signal.aborted ? 'aborted' : `gave up after ${this.options.retryTimeoutMs} ms`;
    return new BusUnavailableError(`${what}: ${why}${cause === undefined ? '' : ` (${errorText(cause)})`}`, { ...context, cause });
  }

  private toBusError(error: unknown, what: string, context: BusErrorOptions): BusError {
    if (error instanceof BusError) return error;
    if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError) {
      return new BusClosedError(`${what}: the NATS connection is closed`, { ...context, cause: error });
    }
    if (apiCode(error) === 10059) {
      if (context.topic !== undefined) this.layouts.delete(context.topic);
      return new UnknownTopicError(`${what}: the topic's stream does not exist`, { ...context, cause: error });
    }
    return new BusServerError(`${what}: ${errorText(error)}`, { ...context, cause: error });
  }

  private checkOpen(): void {
    if (this.closed || this.closing.signal.aborted) throw new BusClosedError('the bus is closed');
  }
}

function checkPartition(layout: TopicLayout, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= layout.partitions) {
    throw new UnknownTopicError(`topic \`${layout.name}\` has no partition ${partition} (it has ${layout.partitions})`, {
      topic: layout.name,
      partition,
    });
  }
}

function apiCode(error: unknown): number | undefined {
  return error instanceof JetStreamApiError ? error.code : undefined;
}

/** Bytes the header block of a message takes on the wire (`NATS/1.0`, `Nats-Msg-Id`, the producer's). */
function headerBytes(m: PublishMessage): number {
  const entries = Object.entries(m.headers ?? {});
  if (entries.length === 0 && m.msgId === undefined) return 0;
  let n = 'NATS/1.0\r\n\r\n'.length;
  for (const [k, v] of entries) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  if (m.msgId !== undefined) n += 'Nats-Msg-Id'.length + Buffer.byteLength(m.msgId) + 4;
  return n;
}

/**
 * Runs `task` over `items` with at most `limit` running at once, refilling once half of them
 * are done: the refill's messages go out together in one socket write instead of one write per
 * ack. Items start in order (a task sends its message before its first await), so the server
 * receives them in order. `task` must not reject.
 */
function pipelined<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const low = Math.floor(limit / 2);
    let next = 0;
    let running = 0;
    const fill = () => {
      while (running < limit && next < items.length) {
        running++;
        void task(items[next++]!).then(done, done);
      }
      if (running === 0) resolve();
    };
    const done = () => {
      running--;
      if (running <= low || next >= items.length) fill();
    };
    fill();
  });
}
