/**
 * Records carried between the units of one process as values, not bytes. On NATS every batch
 * is a frame (docs/architecture.md section 3); in the embedded runtime a unit's outputs would be
 * encoded only for the next unit to decode them again — JSON text both ways, per record per
 * hop. So in-process topics carry each record's value as JSON would give it back (the topic's
 * codec makes that `snapshot`, checked like an encode), and a reader `adopt`s its own copy:
 * the same values, the same checks and dead letters as the bytes would give, without the text.
 *
 * A carried message is published like any other — its `data` is a small placeholder that
 * stands for the batch — so the bus's contract (sequences, de-duplication by message id) and
 * any wrapper around it (tracing) stay as they are. Reading through `carryingBus` turns the
 * placeholder back into the batch, and into a real frame, encoded once on first use, for any
 * reader that wants bytes (`ssdk run`'s outputs, the shell's `consume`).
 */
import type { Bus, BusMessage, PartitionReader } from '@ssdk/bus';
import type { EngineRecord, Key } from '@ssdk/engine';
import { encodeRecords, type OutRecord, type RawRecord } from '@ssdk/records';
import type { RuntimeTopic } from './topology.ts';

export interface CarriedRecord {
  /** The key as the topic's key codec reads it back (`KeyCodec.carry`). */
  key: Key | null;
  /** The value's `snapshot`; unused when `wire` is set. */
  value: unknown;
  /** The value's bytes as a producer gave them (not yet decoded or checked). */
  wire?: Uint8Array;
  /** As a frame carries it (`frameTimestamp`). */
  timestamp: number;
  headers?: Record<string, string>;
}

/** Records for one partition of one topic, from one origin: what one frame would hold. */
export class CarriedBatch {
  readonly kind = 'carried';
  readonly topic: RuntimeTopic;
  readonly records: CarriedRecord[];
  private frame: Uint8Array | undefined;

  constructor(topic: RuntimeTopic, records: CarriedRecord[]) {
    this.topic = topic;
    this.records = records;
  }

  /** The batch as one data frame, exactly as a unit writing bytes would have written it. */
  bytes(): Uint8Array {
    this.frame ??= encodeRecords(this.records.map((r) => this.out(r)));
    return this.frame;
  }

  /** One record as bytes (for a dead letter that shows what arrived). */
  raw(i: number): RawRecord {
    const r = this.out(this.records[i]!);
    const bytes = (v: string | Uint8Array) => (typeof v === 'string' ? textBytes.encode(v) : v);
    return { key: r.key === null ? null : bytes(r.key), value: bytes(r.value), timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) };
  }

  private out(r: CarriedRecord): OutRecord {
    return {
      key: r.key === null ? null : this.topic.key.encode(r.key),
      value: r.wire ?? this.topic.value.wire(r.value),
      timestamp: r.timestamp,
      ...(r.headers ? { headers: r.headers } : {}),
    };
  }
}

const textBytes = new TextEncoder();

/** The record a unit processes: the reader's own copy of the value, checked against the topic's type. Throws `SchemaError`. */
export function adoptRecord(r: CarriedRecord, topic: RuntimeTopic): EngineRecord {
  const value = r.wire ? topic.value.decode(r.wire) : topic.value.adopt(r.value);
  return r.headers ? { key: r.key, value, timestamp: r.timestamp, headers: { ...r.headers } } : { key: r.key, value, timestamp: r.timestamp };
}

const batches = new WeakMap<Uint8Array, CarriedBatch>();
// Bytes that no frame starts with: a placeholder that reached a reader outside `carryingBus`
// is rejected as "not an ssdk frame", never read as an empty batch.
const PLACEHOLDER = Array.from('carried batch', (c) => c.charCodeAt(0));

/** The `data` of a message that carries `batch`: publish it on a bus wrapped by `carryingBus`. */
export function carry(batch: CarriedBatch): Uint8Array {
  const data = Uint8Array.from(PLACEHOLDER);
  batches.set(data, batch);
  return data;
}

/** A message's `data` as bytes: a carried batch's frame (encoded once), else the data itself. */
export function wireData(data: Uint8Array): Uint8Array {
  return batches.get(data)?.bytes() ?? data;
}

/** A message read through `carryingBus` that carries its records; its `data` is encoded when first asked for. */
class CarriedMessage implements BusMessage {
  readonly seq: number;
  readonly headers?: Record<string, string>;
  readonly batch: CarriedBatch;

  constructor(m: BusMessage, batch: CarriedBatch) {
    this.seq = m.seq;
    if (m.headers) this.headers = m.headers;
    this.batch = batch;
  }

  get data(): Uint8Array {
    return this.batch.bytes();
  }
}

/** The records a message carries, or undefined for a message of bytes. */
export function carriedBatchOf(m: BusMessage): CarriedBatch | undefined {
  return m instanceof CarriedMessage ? m.batch : undefined;
}

/** The buses whose readers take carried records (made by `carryingBus`, or wrapping one). */
const carrying = new WeakSet<Bus>();

/**
 * Whether what is published on `bus` is read in this process, so outputs may travel as carried
 * records. The host loop asks the bus this instead of taking a flag from its caller: a flag
 * could say "carry" on a bus whose readers are elsewhere, and they would read placeholders.
 */
export function carriesRecords(bus: Bus): boolean {
  return carrying.has(bus);
}

/** `outer`, a wrapper that hands its messages to `inner`, carries records when `inner` does. */
export function wrapping<B extends Bus>(outer: B, inner: Bus): B {
  if (carrying.has(inner)) carrying.add(outer);
  return outer;
}

/** `inner` (an in-memory bus) with carried messages read back as their batches. */
export function carryingBus(inner: Bus): Bus {
  const wrap = (reader: PartitionReader): PartitionReader => ({
    async fetch(max, waitMs) {
      const messages = await reader.fetch(max, waitMs);
      return messages.map((m) => {
        const batch = batches.get(m.data);
        return batch ? new CarriedMessage(m, batch) : m;
      });
    },
    ack: (seq) => reader.ack(seq),
    close: () => reader.close(),
  });
  const bus: Bus = {
    ensureTopic: (t) => inner.ensureTopic(t),
    topic: (name) => inner.topic(name),
    publish: (topic, partition, messages) => inner.publish(topic, partition, messages),
    read: (topic, partition, options) => wrap(inner.read(topic, partition, options)),
    lastSeq: (topic, partition) => inner.lastSeq(topic, partition),
    streamIdentity: (topic) => inner.streamIdentity(topic),
    close: () => inner.close(),
  };
  carrying.add(bus);
  return bus;
}
