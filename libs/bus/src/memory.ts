/**
 * The in-memory bus of the embedded runtime: partitions are arrays, readers wait on a promise
 * that the next publish resolves. It honours the same contract as JetStream (sequences from 1,
 * de-duplication by msgId within a window), so the runtime's commit protocol is tested on it too.
 */
import { randomUUID } from 'node:crypto';
import type { Bus, BusMessage, PartitionReader, PublishAck, PublishMessage, StreamIdentity, TopicConfig } from './bus.ts';
import { UnknownTopicError } from './errors.ts';

export interface MemoryBusOptions {
  /** How long a msgId is remembered for de-duplication, ms. @default 120000 (JetStream's default) */
  duplicateWindowMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

interface Partition {
  /** Message `seq` at index seq - 1; a message an `interest` topic no longer keeps is undefined. */
  messages: Array<BusMessage | undefined>;
  waiters: Array<() => void>;
  /**
   * An `interest` topic's readers and the last sequence each acked (a closed reader's too: one
   * that comes back from its committed offset finds what it had not acked). Undefined: every
   * message is kept.
   */
  acked?: Map<object, number>;
  /** Messages up to this sequence are gone (an `interest` topic). */
  forgotten: number;
}

interface Topic {
  config: TopicConfig;
  /** Unique to this bus's topic: another process's topic of the same name is another stream. */
  created: string;
  partitions: Partition[];
  /** msgId -> [seq, time seen] */
  seen: Map<string, { seq: number; at: number }>;
}

export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  return new MemoryBus(options.duplicateWindowMs ?? 120_000, options.now ?? Date.now);
}

class MemoryBus implements Bus {
  private readonly topics = new Map<string, Topic>();
  private closed = false;
  private readonly duplicateWindowMs: number;
  private readonly now: () => number;

  constructor(duplicateWindowMs: number, now: () => number) {
    this.duplicateWindowMs = duplicateWindowMs;
    this.now = now;
  }

  async ensureTopic(config: TopicConfig): Promise<TopicConfig> {
    const existing = this.topics.get(config.name);
    if (existing) return existing.config;
    const interest = config.retention === 'interest';
    const partitions = Array.from({ length: config.partitions }, (): Partition => ({ messages: [], waiters: [], forgotten: 0, ...(interest ? { acked: new Map() } : {}) }));
    this.topics.set(config.name, { config: { ...config }, created: `${new Date(this.now()).toISOString()} memory ${randomUUID()}`, partitions, seen: new Map() });
    return config;
  }

  async topic(name: string): Promise<TopicConfig | undefined> {
    return this.topics.get(name)?.config;
  }

  async publish(topic: string, partition: number, messages: PublishMessage[]): Promise<PublishAck[]> {
    const t = this.mustTopic(topic);
    const p = this.mustPartition(t, partition);
    const now = this.now();
    const acks: PublishAck[] = [];
    for (const m of messages) {
      if (m.msgId !== undefined) {
        const prior = t.seen.get(m.msgId);
        if (prior && now - prior.at < this.duplicateWindowMs) {
          acks.push({ seq: prior.seq, duplicate: true });
          continue;
        }
      }
      const seq = p.messages.length + 1;
      p.messages.push({ seq, data: m.data, ...(m.headers ? { headers: m.headers } : {}) });
      if (m.msgId !== undefined) t.seen.set(m.msgId, { seq, at: now });
      acks.push({ seq, duplicate: false });
    }
    this.expire(t, now);
    const waiters = p.waiters.splice(0);
    for (const w of waiters) w();
    return acks;
  }

  read(topic: string, partition: number, options: { afterSeq?: number } = {}): PartitionReader {
    const p = this.mustPartition(this.mustTopic(topic), partition);
    // What an `interest` topic no longer keeps was acked by every reader before this one came.
    let next = Math.max(options.afterSeq ?? 0, p.forgotten) + 1;
    let open = true;
    const isClosed = () => this.closed;
    const reader = {};
    p.acked?.set(reader, next - 1);
    return {
      async fetch(max: number, waitMs: number): Promise<BusMessage[]> {
        if (open && !isClosed() && p.messages.length < next && waitMs > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, waitMs);
            function done() {
              clearTimeout(timer);
              const i = p.waiters.indexOf(done);
              if (i >= 0) p.waiters.splice(i, 1);
              resolve();
            }
            p.waiters.push(done);
          });
        }
        if (!open) return [];
        const out = p.messages.slice(next - 1, next - 1 + max) as BusMessage[];
        next += out.length;
        return out;
      },
      async ack(seq: number): Promise<void> {
        // A topic that keeps every message holds it until the process ends; the committed
        // sequence is what counts. An `interest` topic lets go of what every reader has acked.
        if (!p.acked) return;
        p.acked.set(reader, Math.max(p.acked.get(reader) ?? 0, seq));
        let upTo = Number.POSITIVE_INFINITY;
        for (const s of p.acked.values()) if (s < upTo) upTo = s;
        for (let i = p.forgotten; i < upTo; i++) p.messages[i] = undefined;
        if (upTo > p.forgotten) p.forgotten = upTo;
      },
      async close(): Promise<void> {
        open = false;
      },
    };
  }

  async lastSeq(topic: string, partition: number): Promise<number> {
    return this.mustPartition(this.mustTopic(topic), partition).messages.length;
  }

  async streamIdentity(topic: string): Promise<StreamIdentity> {
    const t = this.mustTopic(topic);
    return { stream: `memory:${topic}`, created: t.created, lastSeq: Math.max(0, ...t.partitions.map((p) => p.messages.length)) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.topics.values()) for (const p of t.partitions) for (const w of p.waiters.splice(0)) w();
  }

  private mustTopic(name: string): Topic {
    const t = this.topics.get(name);
    if (!t) throw new UnknownTopicError(`topic \`${name}\` does not exist on this bus`);
    return t;
  }

  private mustPartition(t: Topic, partition: number): Partition {
    const p = t.partitions[partition];
    if (!p) throw new UnknownTopicError(`topic \`${t.config.name}\` has no partition ${partition} (it has ${t.partitions.length})`);
    return p;
  }

  private expire(t: Topic, now: number): void {
    // Map iteration is insertion order, so the oldest ids come first.
    for (const [id, s] of t.seen) {
      if (now - s.at < this.duplicateWindowMs) break;
      t.seen.delete(id);
    }
  }
}
