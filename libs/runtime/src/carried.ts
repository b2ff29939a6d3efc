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
import { Buffer } from 'node:buffer';
import type { Bus, BusMessage, PartitionReader } from '@ssdk/bus';
import { ownedRecord, referenceArray, type EngineRecord, type Key, type ValueSource } from '@ssdk/engine';
import { encodeRecords, type OutRecord, type RawRecord } from '@ssdk/records';
import { NO_TEXT, StringPool } from './string-pool.ts';
import type { RuntimeTopic } from './topology.ts';

/**
 * Records for one partition of one topic, from one origin: what one frame would hold. Kept as
 * columns, not an object per record: a batch lives until every reader has read it (in-memory
 * topics keep it for the run), past several of V8's young-generation collections, and whatever
 * it holds on the heap is copied by each and then moved to the old generation. So a record's
 * time is a number in a `Float64Array` and its key and a string value are, where the topic's pool
 * holds their text (string-pool.ts), that text's id in an `Int32Array`: typed arrays keep their
 * elements off the heap, nothing there for the collector to copy (a word count's `words` topic:
 * 1.9 million records, of ~24 bytes each in arrays of references and a number object per time).
 * Any other key or value (an object, a number, a text the pool does not hold) goes in a list of
 * its own, and the id column says where.
 */
export class CarriedBatch implements ValueSource {
  readonly kind = 'carried';
  readonly topic: RuntimeTopic;
  /** Records the columns have room for. */
  private room: number;
  /** Each record's key, as the topic's key codec reads it back (`KeyCodec.carry`): see `textAt`. */
  private keyIds: Int32Array;
  /** Each record's value, its `snapshot` (unused where `wires` holds bytes): see `textAt`. */
  private valueIds: Int32Array;
  /** As a frame carries them (`frameTimestamp`). */
  private times: Float64Array;
  /** Keys and values that are no text of `texts`, in the order pushed: `OTHER - id` is their place. */
  private others: unknown[] | undefined;
  private otherCount = 0;
  /** The pool's texts when the batch was made: every id the pool gives it is in this list (`StringPool.texts`). */
  private readonly texts: readonly string[];
  /** The last time read, as one number object for all the records of the run of records that share it (`timeAt`). */
  private readonly lastTime = referenceArray<number>(1);
  private count = 0;
  /**
   * The values pushed that are snapshots the topic's `usual.snapshot` made (`push`'s `usual`): when
   * all are, readers adopt them unchecked. A count, not a flag cleared by the first other value: a
   * field V8 has seen keep its first value is compiled as a constant, and when the flag first
   * changed (a word count's first top-three, mid-run) the code that relied on it — `produce`,
   * every reader's `adopt` — was thrown away and compiled again. The count changes with the
   * first usual value, while the run starts.
   */
  private usualCount = 0;
  /** The value's bytes as a producer gave them (not yet decoded or checked), where some record came so. */
  private wires: Array<Uint8Array | undefined> | undefined;
  private headerList: Array<Record<string, string> | undefined> | undefined;
  private frame: Uint8Array | undefined;
  /** The topic's one copy of each short text it carries again and again (string-pool.ts). */
  private readonly pool: StringPool;

  /**
   * `expected`: about how many records the batch will hold (more or fewer is fine). Columns
   * grown record by record are copied each time they fill: made with room for what is expected,
   * they are grown only when more comes.
   */
  constructor(topic: RuntimeTopic, expected = 0) {
    this.topic = topic;
    const room = Math.max(MIN_ROOM, Math.min(Math.floor(expected) || 0, MAX_EXPECTED));
    this.room = room;
    ({ times: this.times, keyIds: this.keyIds, valueIds: this.valueIds } = columns(room));
    this.pool = poolOf(topic);
    this.texts = this.pool.texts;
  }

  get length(): number {
    return this.count;
  }

  /**
   * Adds a record: `value` is its snapshot, or, with `wire`, unused (the bytes are decoded by each
   * reader). `usual`: the snapshot is one the topic's `usual.snapshot` made (checked as it was made).
   */
  push(key: Key | null, value: unknown, timestamp: number, headers?: Record<string, string>, wire?: Uint8Array, usual = false): void {
    const i = this.count++;
    if (i === this.room) this.grow();
    // A store on every push, never a branch to one: code compiled before the first other value
    // had no feedback for it and was thrown away when it came.
    this.usualCount += usual ? 1 : 0;
    // The batch outlives its writer's and reader's batches: a text it holds is held once per
    // topic, by its id. A record keyed by its own text (a word count's word) looks it up once.
    const keyId = key === null ? NULL_KEY : typeof key === 'string' ? this.pool.idOf(key) : NO_TEXT;
    this.keyIds[i] = keyId === NO_TEXT ? this.other(key) : keyId;
    const valueId = value === key && keyId !== NULL_KEY ? keyId : typeof value === 'string' ? this.pool.idOf(value) : NO_TEXT;
    this.valueIds[i] = valueId === NO_TEXT ? this.other(value) : valueId;
    this.times[i] = timestamp;
    if (headers) (this.headerList ??= [])[i] = headers;
    if (wire) (this.wires ??= [])[i] = wire;
  }

  /** Keeps `v` in `others`: the id that says where. */
  private other(v: unknown): number {
    const at = this.otherCount++;
    // Made with room for the rest of the batch (a batch of objects has every value here).
    (this.others ??= referenceArray<unknown>(this.room - this.count + 1))[at] = v;
    return OTHER - at;
  }

  /** The key or value of id `id` (`keyIds`, `valueIds`). */
  private textAt(id: number): unknown {
    return id >= 0 ? this.texts[id] : id === NULL_KEY ? null : this.others![OTHER - id];
  }

  private keyAt(i: number): Key | null {
    return this.textAt(this.keyIds[i]!) as Key | null;
  }

  private valueAt(i: number): unknown {
    return this.textAt(this.valueIds[i]!);
  }

  /**
   * Record `i`'s time: a run of records with one time (a sentence's words) shares one number object,
   * as they shared it when pushed (a time beyond the small integers read from a `Float64Array` is
   * a number object made per read otherwise, 16 bytes for every record adopted).
   */
  private timeAt(i: number): number {
    const t = this.times[i]!;
    const last = this.lastTime;
    if (last[0] !== t) last[0] = t;
    return last[0]!;
  }

  private grow(): void {
    this.resize(this.room * 2);
  }

  /** Gives back the room made for records that did not come (the batch is read from here on). */
  fit(): void {
    if (this.others && this.others.length > this.otherCount) this.others.length = this.otherCount;
    // Off the heap, but counted by V8 as memory held outside it: kept no larger than a quarter over.
    if (this.room - this.count > this.room >> 2) this.resize(Math.max(this.count, 1));
  }

  /** The columns with room for `room` records, those pushed copied. */
  private resize(room: number): void {
    const { times, keyIds, valueIds } = columns(room);
    const n = this.count;
    times.set(this.times.subarray(0, n));
    keyIds.set(this.keyIds.subarray(0, n));
    valueIds.set(this.valueIds.subarray(0, n));
    this.times = times;
    this.keyIds = keyIds;
    this.valueIds = valueIds;
    this.room = room;
  }

  headers(i: number): Record<string, string> | undefined {
    return this.headerList?.[i];
  }

  wire(i: number): Uint8Array | undefined {
    return this.wires?.[i];
  }

  /** The batch as one data frame, exactly as a unit writing bytes would have written it. */
  bytes(): Uint8Array {
    if (!this.frame) {
      const out: OutRecord[] = new Array(this.length);
      for (let i = 0; i < out.length; i++) out[i] = this.out(i);
      this.frame = encodeRecords(out);
    }
    return this.frame;
  }

  /** One record as bytes (for a dead letter that shows what arrived). */
  raw(i: number): RawRecord {
    const r = this.out(i);
    const bytes = (v: string | Uint8Array) => (typeof v === 'string' ? textBytes.encode(v) : v);
    return { key: r.key === null ? null : bytes(r.key), value: bytes(r.value), timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) };
  }

  /** The record a unit processes: the reader's own copy of the value, checked against the topic's type. Throws `SchemaError`. */
  adopt(i: number): EngineRecord {
    const headers = this.headerList?.[i];
    // The reader's own record: its unit's first steps change its key and time in place, and a
    // run again reads its value from here again (`valueAgain`).
    return ownedRecord(this.keyAt(i), this.valueAgain(i), this.timeAt(i), headers ? { ...headers } : undefined, this, i);
  }

  /** Record `i`'s value, the reader's own copy, checked against the topic's type. Throws `SchemaError`. */
  valueAgain(i: unknown): unknown {
    const at = i as number;
    const wire = this.wires?.[at];
    if (wire) return this.topic.value.decode(wire);
    // Checked when they were made: each reader copies them as they are (two readers of a source
    // topic checked each of its 300 000 readings again, a getPrototypeOf, a walk of the keys and a
    // test per field each time).
    return this.usualCount === this.count ? this.topic.value.usual!.adopt(this.valueAt(at)) : this.topic.value.adopt(this.valueAt(at));
  }

  /** A held record keeps its own snapshot (never changed: readers adopt copies) or bytes, not the whole batch. */
  detach(i: unknown): { again: ValueSource; from: unknown } {
    const at = i as number;
    const wire = this.wires?.[at];
    return wire ? ownBytes(this.topic, wire) : { again: heldSourcesOf(this.topic).snapshots, from: this.valueAt(at) };
  }

  private out(i: number): OutRecord {
    const key = this.keyAt(i);
    const headers = this.headerList?.[i];
    return {
      key: key === null ? null : this.topic.key.encode(key),
      value: this.wires?.[i] ?? this.topic.value.wire(this.valueAt(i)),
      timestamp: this.times[i]!,
      ...(headers ? { headers } : {}),
    };
  }
}

const textBytes = new TextEncoder();

/** Each in-process topic's pool of texts: for the process, as the topic's records are. */
const pools = new WeakMap<RuntimeTopic, StringPool>();
function poolOf(topic: RuntimeTopic): StringPool {
  let pool = pools.get(topic);
  if (!pool) pools.set(topic, (pool = new StringPool()));
  return pool;
}

/**
 * A batch's three columns with room for `room` records, in one buffer: each typed array made
 * with a buffer of its own is an allocation outside the heap, and its bookkeeping, of its own.
 */
function columns(room: number): { times: Float64Array; keyIds: Int32Array; valueIds: Int32Array } {
  const buffer = new ArrayBuffer(room * BYTES_PER_RECORD);
  return { times: new Float64Array(buffer, 0, room), keyIds: new Int32Array(buffer, room * 8, room), valueIds: new Int32Array(buffer, room * 12, room) };
}

/** The most room a batch makes ahead (`CarriedBatch`'s `expected`): more comes by growing. */
const MAX_EXPECTED = 16_384;
/** The least: a batch of a record or two grows no more than a few times. */
const MIN_ROOM = 8;
/** A record's bytes in a batch's columns: its time (8), key id (4) and value id (4). */
const BYTES_PER_RECORD = 16;
/** `keyIds`' id of a null key. */
const NULL_KEY = -2;
/** Ids at and below this are places in `CarriedBatch.others`. */
const OTHER = -3;

const batches = new WeakMap<Uint8Array, CarriedBatch>();
// Bytes that no frame starts with: a placeholder that reached a reader outside `carryingBus`
// is rejected as "not an ssdk frame", never read as an empty batch.
const PLACEHOLDER = Array.from('carried batch', (c) => c.charCodeAt(0));

/** The `data` of a message that carries `batch`: publish it on a bus wrapped by `carryingBus`. */
export function carry(batch: CarriedBatch): Uint8Array {
  batch.fit();
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

/** A held record's own value, read again: its snapshot adopted, or its bytes (`ownBytes`) decoded; per topic. */
const heldSources = new WeakMap<RuntimeTopic, { snapshots: ValueSource; bytes: ValueSource }>();
function heldSourcesOf(topic: RuntimeTopic): { snapshots: ValueSource; bytes: ValueSource } {
  let sources = heldSources.get(topic);
  if (!sources) {
    const snapshots: ValueSource = { valueAgain: (s) => topic.value.adopt(s) };
    const bytes: ValueSource = { valueAgain: (b) => topic.value.decode(Buffer.from(b as string, 'latin1')) };
    // Its values are what JSON.parse makes of their bytes: those are their text for a held row.
    if (topic.value.asJsonText) bytes.json = (b) => utf8Text(b as string);
    heldSources.set(topic, (sources = { snapshots, bytes }));
  }
  return sources;
}


/** UTF-8 bytes held one character a byte (`ownBytes`) as the text they encode: ASCII, the usual case, as it is. */
function utf8Text(bytes: string): string {
  return NOT_ASCII.test(bytes) ? Buffer.from(bytes, 'latin1').toString('utf8') : bytes;
}
const NOT_ASCII = /[\x80-\xff]/;

/**
 * Where a record held past its message reads its value again when it came as bytes (a view into
 * its frame or batch): a copy of its own bytes, so the held record keeps nothing else alive. The
 * copy is a string of one character per byte (latin1: every byte as it is, UTF-8 or not), not a
 * Uint8Array: each of those is an ArrayBuffer of its own, made and later swept apart from the
 * heap — q11's session unit holds ~184 000 records a run. Read again only on a run after the first.
 */
export function ownBytes(topic: RuntimeTopic, bytes: Uint8Array): { again: ValueSource; from: unknown } {
  // A Buffer view of the same bytes (no copy) for its documented latin1 decoding.
  return { again: heldSourcesOf(topic).bytes, from: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1') };
}
