/**
 * A partition reader over JetStream: one pull consumer per reader, filtered on the partition's
 * subject and starting after the reader's `afterSeq`; a background loop pulls into a buffer that
 * `fetch()` drains.
 *
 * Why an ephemeral consumer per reader (not a durable one per operator partition): the runtime
 * commits its read positions with its state in PostgreSQL and opens readers with `afterSeq`, so
 * the committed sequence, not a consumer's ack floor, is the truth. A durable consumer would be a
 * second, lagging copy of it that a rescale or a restore would have to move. The consumer is
 * kept in memory (`mem_storage`), deleted on `close()`, and removed by the server after
 * `inactive_threshold` when a process dies. When it is lost (a server restart, a dropped
 * connection), the loop creates a new one after the last delivered sequence: nothing is
 * skipped, nothing is delivered twice.
 *
 * Flow control: the loop pulls only what fits in the reader's byte budget (`readBufferBytes`, at
 * the size messages have had lately), and the consumer's `max_ack_pending` stops delivery while the operator has not acknowledged,
 * so a slow operator holds the stream back instead of growing memory. Acks use `AckPolicy.All`:
 * `ack(seq)` is one message that acknowledges everything before it too. A message redelivered
 * after `ack_wait` is dropped (its sequence was already handed out).
 */
import { redact } from '@ssdk/records';
import { AckPolicy, DeliverPolicy, ReplayPolicy, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { nanos, type MsgHdrs } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import type { BusMessage, PartitionReader } from './bus.ts';
import { BusError, BusUnavailableError, UnknownTopicError } from './errors.ts';
import type { CompiledNatsBusOptions } from './nats-options.ts';
import { partitionSubject, type TopicLayout } from './nats-names.ts';
import { backoffDelay, isTransientNatsError, sleep, waitAtMost } from './retry.ts';

/** What a reader needs from its bus. */
export interface ReaderHost {
  readonly options: CompiledNatsBusOptions;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The topic's layout, its partition checked; retries a lost server, throws `BusError`s. */
  resolve(topic: string, partition: number, signal: AbortSignal): Promise<TopicLayout>;
  /** Bytes of the largest message the bus publishes (the server's max_payload or lower). */
  maxPayload(): number;
  /** 0 while connected, else how long the connection has been down, ms. */
  disconnectedFor(): number;
  /** Resolves on reconnect, after `ms`, or when `signal` aborts. */
  waitConnected(ms: number, signal: AbortSignal): Promise<void>;
  forget(reader: NatsPartitionReader): void;
}

/** Headers JetStream and the client add (`Nats-Msg-Id`, ...) are not the producer's. */
const SYSTEM_HEADER = /^nats-/i;
/** Messages one pull request asks for at most. */
const MAX_PULL = 256;
/** Bytes per message a pull assumes at least (subject, reply and headers on the wire). */
const MIN_SIZE_ESTIMATE = 256;
/** How long `fetch` waits for messages known to be on the server when asked not to wait. */
const KNOWN_PENDING_WAIT_MS = 2_000;
const CONSUMER_DELETE_WAIT_MS = 2_000;

export class NatsPartitionReader implements PartitionReader {
  private readonly host: ReaderHost;
  private readonly topic: string;
  private readonly partition: number;
  private readonly buffer: BusMessage[] = [];
  private bufferBytes = 0;
  /** Delivered by the current consumer and not yet acknowledged, in order. */
  private unacked: Array<{ seq: number; msg: JsMsg }> = [];
  /** Highest stream sequence taken into the buffer (or the reader's start). */
  private lastDelivered: number;
  /** Messages the consumer still had after the last delivery; -1 before the consumer exists. */
  private serverPending = -1;
  /** Bytes per message lately: up at once with a large message, down 5% per smaller one. */
  private sizeEstimate: number | undefined;
  private failure: BusError | undefined;
  private open = true;
  private readonly stop = new AbortController();
  private readonly listeners = new Set<() => void>();
  private pull: ConsumerMessages | undefined;
  /** Set on reconnect: the consumer may be gone with the server's memory, make a new one. */
  private stale = false;
  private consumer: { stream: string; name: string } | undefined;
  private readonly loop: Promise<void>;

  constructor(host: ReaderHost, topic: string, partition: number, afterSeq: number) {
    this.host = host;
    this.topic = topic;
    this.partition = partition;
    this.lastDelivered = afterSeq;
    this.loop = this.run().catch((error: unknown) => {
      this.fail(error instanceof BusError ? error : new BusUnavailableError(`reading ${this.where()} failed: ${errorText(error)}`, this.context(error)));
    });
  }

  async fetch(max: number, waitMs: number): Promise<BusMessage[]> {
    const start = Date.now();
    // Woken by every message taken in until `max` are here: one timer for the whole wait, not
    // one per wake (a timer of a new length each time, ~30 µs a message in profiles).
    const wait = new Wakeup(this.listeners);
    try {
      for (;;) {
        if (!this.open) return [];
        if (this.buffer.length >= max) return this.take(max);
        if (this.buffer.length === 0 && this.failure) throw this.failure;
        const more = this.moreOnTheWay();
        if (this.buffer.length > 0 && !more) return this.take(max);
        const limit = more ? Math.max(waitMs, KNOWN_PENDING_WAIT_MS) : waitMs;
        if (Date.now() - start >= limit) return this.take(max);
        await wait.until(start + limit);
      }
    } finally {
      wait.stop();
    }
  }

  async ack(seq: number): Promise<void> {
    let n = 0;
    while (n < this.unacked.length && this.unacked[n]!.seq <= seq) n++;
    if (n === 0) return;
    const last = this.unacked[n - 1]!.msg;
    this.unacked = this.unacked.slice(n);
    // AckPolicy.All: acknowledging the last one acknowledges every earlier delivery. The ack
    // is a plain publish (no round trip): the committed sequence, not the ack, is the truth.
    if (this.open) last.ack();
    this.notify();
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.stop.abort();
    this.pull?.stop();
    this.notify();
    await this.loop;
    this.host.forget(this);
    await this.deleteConsumer();
  }

  /** @internal the connection came back: the consumer may have been lost with the server. */
  onReconnect(): void {
    this.stale = true;
    this.pull?.stop();
  }

  /** @internal the connection dropped: stop the pull, the loop waits for the reconnect. */
  onDisconnect(): void {
    this.pull?.stop();
  }

  private async run(): Promise<void> {
    const o = this.host.options;
    const layout = await this.host.resolve(this.topic, this.partition, this.stop.signal);
    const subject = partitionSubject(layout, this.partition);
    let consumer: Consumer | undefined;
    let failingSince: number | undefined;
    let attempt = 0;
    while (this.open) {
      const down = this.host.disconnectedFor();
      if (down > 0) {
        if (down >= o.retryTimeoutMs) throw new BusUnavailableError(`reading ${this.where()}: NATS has been unreachable for ${down} ms`, this.context());
        await this.host.waitConnected(o.retryTimeoutMs - down, this.stop.signal);
        continue;
      }
      try {
        if (!consumer || this.stale) {
          this.stale = false;
          consumer = await this.createConsumer(layout, subject);
          if (!this.open) break;
        }
        const batch = this.pullSize();
        if (batch < 1) {
          await this.changed(o.pullExpiresMs);
          continue;
        }
        const pull = await consumer.fetch({ max_messages: batch, expires: o.pullExpiresMs });
        this.pull = pull;
        if (!this.open || this.stale) pull.stop();
        let got = 0;
        for await (const m of pull) {
          got++;
          this.accept(m);
        }
        const error = await pull.closed();
        this.pull = undefined;
        if (error) throw error;
        // A pull that expired empty: nothing is deliverable now (or acks hold it back).
        if (got === 0 && !this.stale && this.host.disconnectedFor() === 0) {
          this.serverPending = 0;
          this.notify();
        }
        failingSince = undefined;
        attempt = 0;
      } catch (error) {
        this.pull = undefined;
        if (!this.open) break;
        if (error instanceof BusError && !error.retryable) throw error;
        if (isStreamGone(error)) {
          throw new UnknownTopicError(`topic \`${this.topic}\` was deleted while ${this.where()} was being read`, this.context(error));
        }
        // Any other failure: make a new consumer after the last delivered sequence and go on.
        consumer = undefined;
        failingSince ??= Date.now();
        const failing = Date.now() - failingSince;
        if (failing >= o.retryTimeoutMs) {
          const what = isTransientNatsError(error) ? 'NATS did not answer' : 'reading kept failing';
          throw new BusUnavailableError(`reading ${this.where()}: ${what} for ${failing} ms (${errorText(error)})`, this.context(error));
        }
        await sleep(Math.min(backoffDelay(attempt++, o.retryInitialDelayMs, o.retryMaxDelayMs), o.retryTimeoutMs - failing), this.stop.signal);
      }
    }
  }

  private async createConsumer(layout: TopicLayout, subject: string): Promise<Consumer> {
    const o = this.host.options;
    const start = this.lastDelivered + 1;
    const name = `ssdk_reader_${randomBytes(8).toString('hex')}`;
    const previous = this.consumer;
    const info = await this.host.jsm.consumers.add(layout.stream, {
      name,
      filter_subject: subject,
      ...(start > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start } : { deliver_policy: DeliverPolicy.All }),
      ack_policy: AckPolicy.All,
      ack_wait: nanos(o.ackWaitMs),
      max_ack_pending: o.maxAckPending,
      max_deliver: -1,
      replay_policy: ReplayPolicy.Instant,
      inactive_threshold: nanos(Math.max(60_000, 3 * o.pullExpiresMs)),
      mem_storage: true,
      num_replicas: 1,
    });
    this.consumer = { stream: layout.stream, name };
    if (previous) this.host.jsm.consumers.delete(previous.stream, previous.name).catch(() => {});
    if (!this.open) {
      await this.deleteConsumer();
      return this.host.js.consumers.getConsumerFromInfo(info);
    }
    // Deliveries of the previous consumer cannot be acknowledged on this one.
    this.unacked = [];
    this.serverPending = info.num_pending;
    this.notify();
    return this.host.js.consumers.getConsumerFromInfo(info);
  }

  private accept(m: JsMsg): void {
    const seq = m.info.streamSequence;
    if (seq <= this.lastDelivered) return; // redelivered after ack_wait: already handed out
    this.lastDelivered = seq;
    this.serverPending = m.info.pending;
    this.unacked.push({ seq, msg: m });
    const headers = userHeaders(m.headers);
    this.buffer.push(headers ? { seq, data: m.data, headers } : { seq, data: m.data });
    this.bufferBytes += m.data.byteLength;
    const size = m.data.byteLength;
    this.sizeEstimate = Math.max(size, (this.sizeEstimate ?? size) * 0.95);
    this.notify();
  }

  private take(max: number): BusMessage[] {
    if (this.buffer.length === 0 || max <= 0) return [];
    const out = this.buffer.splice(0, max);
    for (const m of out) this.bufferBytes -= m.data.byteLength;
    this.notify();
    return out;
  }

  /** Messages are known to be on the server and deliverable to this reader right now. */
  private moreOnTheWay(): boolean {
    if (this.failure || this.host.disconnectedFor() > 0) return false;
    if (this.serverPending < 0) return true; // the consumer is being created
    return this.serverPending > 0 && this.pullSize() >= 1;
  }

  /**
   * Messages the next pull may ask for: what the byte budget holds at the size messages have
   * had lately (a pull by bytes would end in a 409 whenever a frame does not fit), no more than
   * the consumer may deliver unacknowledged.
   */
  private pullSize(): number {
    const room = Math.max(this.host.options.readBufferBytes, 2 * this.host.maxPayload()) - this.bufferBytes;
    const byBytes = Math.floor(room / Math.max(MIN_SIZE_ESTIMATE, this.sizeEstimate ?? this.host.maxPayload() / 4));
    const byAcks = this.host.options.maxAckPending - this.unacked.length;
    return Math.min(MAX_PULL, byBytes, byAcks);
  }

  private fail(error: BusError): void {
    this.failure ??= error;
    this.notify();
  }

  private async changed(ms: number): Promise<void> {
    const wait = new Wakeup(this.listeners);
    try {
      await wait.until(Date.now() + ms);
    } finally {
      wait.stop();
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private async deleteConsumer(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    if (!c || this.host.disconnectedFor() > 0) return;
    const deleted = this.host.jsm.consumers.delete(c.stream, c.name).catch(() => false);
    await waitAtMost(deleted, CONSUMER_DELETE_WAIT_MS);
  }

  private where(): string {
    return `topic \`${this.topic}\` partition ${this.partition}`;
  }

  private context(cause?: unknown) {
    return { topic: this.topic, partition: this.partition, ...(cause === undefined ? {} : { cause }) };
  }
}

/**
 * Waits for the next change a reader tells its listeners of, or a deadline: one timer per
 * deadline, kept across the waits of one `fetch`.
 */
class Wakeup {
  private readonly listeners: Set<() => void>;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline the timer is set for; undefined once it went off (a next wait sets it again). */
  private armedFor: number | undefined;
  private resolve: (() => void) | undefined;
  private readonly wake = () => {
    this.listeners.delete(this.wake);
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.();
  };

  constructor(listeners: Set<() => void>) {
    this.listeners = listeners;
  }

  until(deadline: number): Promise<void> {
    if (this.armedFor !== deadline) {
      clearTimeout(this.timer);
      this.armedFor = deadline;
      this.timer = setTimeout(() => {
        this.armedFor = undefined;
        this.wake();
      }, Math.max(0, deadline - Date.now()));
    }
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      this.listeners.add(this.wake);
    });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.listeners.delete(this.wake);
  }
}

export function userHeaders(h: MsgHdrs | undefined): Record<string, string> | undefined {
  if (!h) return undefined;
  let out: Record<string, string> | undefined;
  for (const k of h.keys()) {
    if (SYSTEM_HEADER.test(k)) continue;
    (out ??= {})[k] = h.get(k);
  }
  return out;
}

function isStreamGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 10059 || (error instanceof Error && /stream not found|stream deleted/i.test(error.message));
}

export function errorText(error: unknown): string {
  return redact(error instanceof Error ? error.message || error.name : String(error));
}
