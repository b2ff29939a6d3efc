/**
 * The topic interface every runtime talks to. A topic is a set of partitions; a partition is
 * an ordered log of messages, each one a frame (many records) with a sequence number that only
 * grows. Two adapters: in-memory (embedded mode) and NATS JetStream (distributed mode).
 *
 * Exactly-once effects rest on two properties both adapters keep:
 * - a publish with a `msgId` already seen within the duplicate window is dropped (and
 *   reported as a duplicate), so a replayed batch does not publish twice;
 * - a reader can start after any sequence, so a restarted operator resumes from the sequence
 *   it committed with its state.
 */

export interface TopicConfig {
  name: string;
  partitions: number;
  /**
   * Subject template of the topic's partitions on NATS, `{partition}` as the last token (the
   * plan's `subject`, e.g. `ssdk.acme.orders.internal.enrich.{partition}`). The NATS adapter
   * stores it with the topic; without it a topic's subjects are
   * `<subjectPrefix>.topic.<name>.{partition}`. The in-memory adapter has no subjects.
   */
  subject?: string;
  /**
   * What a partition keeps: `all` (the default) every message, for readers still to come;
   * `interest` only what a reader has not acked yet — a message every reader opened on the
   * partition has acked is gone, and a reader opened later starts after it (JetStream's interest
   * retention). The in-memory adapter honours it (an embedded run's internal topics, read only
   * by their units, would otherwise hold every record of the run); the NATS adapter keeps its
   * streams' own retention.
   */
  retention?: 'all' | 'interest';
}

export interface PublishMessage {
  data: Uint8Array;
  /** Deterministic id for de-duplication (e.g. `<operator>:<partition>:<input seq>:<index>`). */
  msgId?: string;
  headers?: Record<string, string>;
}

export interface PublishAck {
  seq: number;
  duplicate: boolean;
}

export interface BusMessage {
  /** Position in the partition; increasing, not necessarily contiguous. */
  seq: number;
  data: Uint8Array;
  headers?: Record<string, string>;
}

export interface ReadOptions {
  /** Deliver messages with a sequence greater than this. @default 0 (from the beginning) */
  afterSeq?: number;
}

export interface PartitionReader {
  /** Up to `max` messages in order; waits up to `waitMs` for the first one, [] on timeout. */
  fetch(max: number, waitMs: number): Promise<BusMessage[]>;
  /** Acknowledges every message up to and including `seq`. */
  ack(seq: number): Promise<void>;
  close(): Promise<void>;
}

export interface Bus {
  /** Creates the topic if it does not exist; an existing topic keeps its partitions. */
  ensureTopic(topic: TopicConfig): Promise<TopicConfig>;
  topic(name: string): Promise<TopicConfig | undefined>;
  publish(topic: string, partition: number, messages: PublishMessage[]): Promise<PublishAck[]>;
  read(topic: string, partition: number, options?: ReadOptions): PartitionReader;
  /** The last sequence of a partition (0 when empty). */
  lastSeq(topic: string, partition: number): Promise<number>;
  /**
   * Which stream holds a topic now. Sequences are positions in one stream: a stream made again
   * (or the in-memory bus of another process) starts at 1 again, so a position kept outside the
   * bus (an operator's offsets, a sink's committed position) means something only against the
   * stream it was taken in.
   */
  streamIdentity(topic: string): Promise<StreamIdentity>;
  close(): Promise<void>;
}

export interface StreamIdentity {
  /** The stream's name and creation time (as the server reports it; unique per in-memory bus). */
  stream: string;
  created: string;
  /** The last sequence of the stream (0 when empty): no partition's offset can be above it. */
  lastSeq: number;
}
