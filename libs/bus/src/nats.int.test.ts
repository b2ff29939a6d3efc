// Integration tests against a real NATS JetStream server (`NATS_URL`, or the local one at
// 127.0.0.1:4222): each test gets its own subject prefix from testNats(), and destroy()
// removes the streams it made.
import { testNats } from '@ssdk/testing';
import { describe, expect, it } from 'vitest';
import { encodeRecords, decodeFrame } from '@ssdk/records';
import type { Bus, BusMessage, PublishAck } from './bus.ts';
import { describeBus } from './contract.testkit.ts';
import { BusUnavailableError, PayloadTooLargeError, TopicConflictError, UnknownTopicError } from './errors.ts';
import { createNatsBus, PUBLISH_COALESCE_BYTES, type NatsBus } from './nats.ts';
import type { NatsBusOptions } from './nats-options.ts';
import { WRITE_AS_IS_BYTES } from './nats-writes.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function natsBus(options: NatsBusOptions = {}): Promise<NatsBus> {
  const nats = await testNats();
  return createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix, storage: 'memory', ...options });
}

async function withBus<T>(fn: (bus: NatsBus) => Promise<T>, options: NatsBusOptions = {}): Promise<T> {
  const bus = await natsBus(options);
  try {
    return await fn(bus);
  } finally {
    await bus.destroy();
  }
}

async function readAll(bus: Bus, topic: string, partition: number, afterSeq: number, count: number): Promise<BusMessage[]> {
  const r = bus.read(topic, partition, { afterSeq });
  const out: BusMessage[] = [];
  try {
    while (out.length < count) {
      const batch = await r.fetch(100, 2000);
      if (batch.length === 0) break;
      out.push(...batch);
      await r.ack(batch.at(-1)!.seq);
    }
  } finally {
    await r.close();
  }
  return out;
}

describeBus('nats', {
  make: () => natsBus(),
  dispose: (bus) => (bus as NatsBus).destroy(),
  contiguousSeqs: false,
});

describe('bus - nats adapter', () => {
  it('bus - one stream per topic with the partition count in its description', async () => {
    const nats = await testNats();
    const a = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix, storage: 'memory' });
    const b = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix, storage: 'memory' });
    try {
      await a.ensureTopic({ name: 'orders', partitions: 4 });
      // Another process reads the topic back from the server, and cannot change its partitions.
      expect(await b.topic('orders')).toEqual({ name: 'orders', partitions: 4 });
      expect(await b.ensureTopic({ name: 'orders', partitions: 12 })).toEqual({ name: 'orders', partitions: 4 });
      expect(a.streamName('orders')).toBe(`${nats.prefix}_orders`);
      expect(a.streamName('count-words.split-sentence.out')).toMatch(new RegExp(`^${nats.prefix}_count-words_split-sentence_out_[0-9a-f]{8}$`));
      const [ack] = await b.publish('orders', 3, [{ data: bytes('o1') }]);
      expect(text((await readAll(a, 'orders', 3, 0, 1))[0]!.data)).toBe('o1');
      expect(await a.lastSeq('orders', 3)).toBe(ack!.seq);
      expect(await a.deleteTopic('orders')).toBe(true);
      expect(await a.deleteTopic('orders')).toBe(false);
      expect(await b.topic('orders')).toBeUndefined();
    } finally {
      await b.close();
      await a.destroy();
    }
  });

  it('bus - a topic with its own subject template (a plan subject)', async () => {
    await withBus(async (bus) => {
      const subject = `${bus.options.subjectPrefix}.examples.word-count.internal.count-words.split-sentence.{partition}`;
      const config = { name: 'count-words.split-sentence.out', partitions: 2, subject };
      expect(await bus.ensureTopic(config)).toEqual(config);
      expect(await bus.topic(config.name)).toEqual(config);
      await bus.publish(config.name, 1, [{ data: bytes('w') }]);
      expect((await readAll(bus, config.name, 1, 0, 1)).map((m) => text(m.data))).toEqual(['w']);
      await expect(bus.ensureTopic({ name: 'bad', partitions: 1, subject: 'a.{partition}.b' })).rejects.toThrow(/must end with `\.\{partition\}`/);
      await expect(bus.ensureTopic({ name: 'bad', partitions: 1, subject: 'a..b.{partition}' })).rejects.toThrow(/cannot be a NATS subject/);
      await expect(bus.ensureTopic({ name: 'has space', partitions: 1 })).rejects.toThrow(/cannot be a NATS subject/);
      // A second topic whose subjects another stream already takes.
      await expect(bus.ensureTopic({ name: 'other', partitions: 2, subject })).rejects.toThrow(TopicConflictError);
    });
  });

  it('bus - frames of ~500 KB round-trip', async () => {
    await withBus(async (bus) => {
      await bus.ensureTopic({ name: 'big', partitions: 1 });
      const value = 'v'.repeat(5_000);
      const frames = Array.from({ length: 6 }, (_, f) =>
        encodeRecords(Array.from({ length: 100 }, (_, i) => ({ key: `k${f}-${i}`, value, timestamp: f * 1000 + i }))),
      );
      expect(frames[0]!.byteLength).toBeGreaterThan(500_000);
      expect(frames[0]!.byteLength).toBeLessThan(bus.maxPayload());
      const acks = await bus.publish('big', 0, frames.map((data, i) => ({ data, msgId: `big-${i}` })));
      expect(acks.every((a) => !a.duplicate)).toBe(true);
      const got = await readAll(bus, 'big', 0, 0, frames.length);
      expect(got).toHaveLength(frames.length);
      for (let f = 0; f < frames.length; f++) {
        expect(Buffer.from(got[f]!.data).equals(Buffer.from(frames[f]!))).toBe(true);
        const frame = decodeFrame(got[f]!.data);
        expect(frame.kind === 'data' && frame.records.length).toBe(100);
      }
    });
  });

  /**
   * What one publish call hands to the client's socket (nats.js and Node internals): each write
   * the socket makes to its handle (`_write` one buffer, `_writev` several, one syscall each), as
   * the buffers it was given.
   */
  async function socketWrites(bus: NatsBus, publish: () => Promise<unknown>): Promise<Uint8Array[][]> {
    type Chunk = { chunk: Uint8Array };
    type Writes = { _write: (chunk: Uint8Array, ...rest: unknown[]) => void; _writev: (chunks: Chunk[], ...rest: unknown[]) => void };
    const socket = (bus as unknown as { nc: { protocol: { transport: { socket: Writes } } } }).nc.protocol.transport.socket;
    const writes: Uint8Array[][] = [];
    const { _write, _writev } = socket;
    socket._write = (chunk, ...rest) => {
      writes.push([chunk]);
      _write.call(socket, chunk, ...rest);
    };
    socket._writev = (chunks, ...rest) => {
      writes.push(chunks.map((c) => c.chunk));
      _writev.call(socket, chunks, ...rest);
    };
    try {
      await publish();
    } finally {
      socket._write = _write;
      socket._writev = _writev;
    }
    return writes;
  }

  it('bus - one call\'s messages go to the socket in writes of up to 1 MiB, not a write each', async () => {
    await withBus(async (bus) => {
      await bus.ensureTopic({ name: 'many', partitions: 1 });
      // 64 frames of ~28 kB, as a unit publishes one batch's frames (a Nats-Msg-Id each).
      const value = 'v'.repeat(300);
      const frames = Array.from({ length: 64 }, (_, f) => encodeRecords(Array.from({ length: 92 }, (_, i) => ({ key: null, value, timestamp: f * 100 + i }))));
      let acks: PublishAck[] = [];
      const writes = await socketWrites(bus, async () => (acks = await bus.publish('many', 0, frames.map((data, i) => ({ data, msgId: `many-${i}` })))));
      expect(acks.every((a) => !a.duplicate)).toBe(true);
      // 1.8 MB: two or three writes of the frames (and the odd small one: acks, pings); at
      // nats.js's default of 32 KiB, a write per frame.
      const sizes = writes.map((w) => w.reduce((n, b) => n + b.byteLength, 0));
      expect(sizes.filter((n) => n > 100_000).length).toBeGreaterThanOrEqual(1);
      expect(sizes.length).toBeLessThanOrEqual(6);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(PUBLISH_COALESCE_BYTES + frames[0]!.byteLength + 200);
      const got = await readAll(bus, 'many', 0, 0, frames.length);
      expect(got.map((m, i) => Buffer.from(m.data).equals(Buffer.from(frames[i]!)))).toEqual(frames.map(() => true));
    });
  });

  it('bus - a large frame goes to the socket as the caller\'s own bytes, not copied into a buffer of the whole write first', async () => {
    await withBus(async (bus) => {
      await bus.ensureTopic({ name: 'hop', partitions: 1 });
      // Frames of ~235 kB, as q7's hop carries them, with a small message between two of them.
      const value = 'b'.repeat(250);
      const frames = Array.from({ length: 12 }, (_, f) =>
        f === 5 ? encodeRecords([{ key: null, value: 'small', timestamp: f }]) : encodeRecords(Array.from({ length: 920 }, (_, i) => ({ key: 'window', value, timestamp: f * 1000 + i }))),
      );
      const writes = await socketWrites(bus, () => bus.publish('hop', 0, frames.map((data, i) => ({ data, msgId: `hop-${i}` }))));
      const handed = writes.flat();
      // Without: each went into one buffer of the whole write (nats.js's pack), a copy.
      expect(frames.filter((f) => f.byteLength >= WRITE_AS_IS_BYTES).map((f) => handed.some((b) => b.buffer === f.buffer))).toEqual(frames.filter((f) => f.byteLength >= WRITE_AS_IS_BYTES).map(() => true));
      // Still few writes: 2.6 MB in a handful of writev calls, not a write per buffer.
      expect(writes.length).toBeLessThanOrEqual(8);
      const got = await readAll(bus, 'hop', 0, 0, frames.length);
      expect(got.map((m, i) => Buffer.from(m.data).equals(Buffer.from(frames[i]!)))).toEqual(frames.map(() => true));
    });
  });

  it('bus - a message over max_payload is refused with the topic named, and nothing is sent', async () => {
    await withBus(async (bus) => {
      await bus.ensureTopic({ name: 'big', partitions: 2 });
      const limit = bus.maxPayload();
      const tooBig = new Uint8Array(limit + 1);
      const publish = bus.publish('big', 1, [{ data: bytes('ok') }, { data: tooBig, msgId: 'x' }]);
      await expect(publish).rejects.toThrow(PayloadTooLargeError);
      await expect(bus.publish('big', 1, [{ data: tooBig }])).rejects.toThrow(
        new RegExp(`message 0 of 1 for topic \`big\` partition 1 is ${limit + 1} bytes, over the limit of ${limit}`),
      );
      const error = await bus.publish('big', 1, [{ data: tooBig }]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'bus-payload-too-large', topic: 'big', partition: 1, retryable: false, size: limit + 1, limit });
      expect(await bus.lastSeq('big', 1)).toBe(0);
      // Headers count toward the limit too.
      const almost = new Uint8Array(limit - 10);
      await expect(bus.publish('big', 1, [{ data: almost, headers: { 'a-long-header': 'x'.repeat(64) } }])).rejects.toThrow(PayloadTooLargeError);
      // The bus option can only lower the limit.
      const lower = await natsBus({ subjectPrefix: bus.options.subjectPrefix, maxPayload: 4096 });
      try {
        expect(lower.maxPayload()).toBe(4096);
        await expect(lower.publish('big', 0, [{ data: new Uint8Array(5000) }])).rejects.toThrow(/over the limit of 4096 \(the server's max_payload or the bus option maxPayload\)/);
      } finally {
        await lower.close();
      }
    });
  });

  it('bus - a reader resumed with afterSeq sees exactly the rest, across partitions sharing a stream', async () => {
    await withBus(async (bus) => {
      await bus.ensureTopic({ name: 't', partitions: 3 });
      const acks: number[][] = [[], [], []];
      // Interleave partitions so their stream sequences are not contiguous.
      for (let i = 0; i < 90; i++) {
        const p = i % 3;
        const [ack] = await bus.publish('t', p, [{ data: bytes(`${p}:${i}`), msgId: `m${i}` }]);
        acks[p]!.push(ack!.seq);
      }
      const p1 = acks[1]!;
      for (const cut of [0, 1, 13, 29]) {
        const after = cut === 0 ? 0 : p1[cut - 1]!;
        const got = await readAll(bus, 't', 1, after, 30 - cut);
        expect(got.map((m) => m.seq)).toEqual(p1.slice(cut));
        expect(got.every((m) => text(m.data).startsWith('1:'))).toBe(true);
      }
      // A sequence that belongs to another partition is a valid place to resume from too.
      const rest = p1.filter((s) => s > acks[2]![4]!);
      const got = await readAll(bus, 't', 1, acks[2]![4]!, rest.length);
      expect(got.map((m) => m.seq)).toEqual(rest);
      expect(await bus.lastSeq('t', 1)).toBe(p1.at(-1));
    });
  });

  it('bus - the duplicate window is a stream option', async () => {
    await withBus(
      async (bus) => {
        await bus.ensureTopic({ name: 't', partitions: 1 });
        const [a] = await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'same' }]);
        expect((await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'same' }]))[0]).toEqual({ seq: a!.seq, duplicate: true });
        await new Promise((resolve) => setTimeout(resolve, 1_600));
        const [again] = await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'same' }]);
        expect(again!.duplicate).toBe(false);
        expect(again!.seq).toBeGreaterThan(a!.seq);
      },
      { duplicateWindowMs: 1_000 },
    );
  });

  it('bus - a fetch waits while more messages are known on the server (woken by each as it comes) until it has its count, and no longer than asked when none are', async () => {
    await withBus(async (bus) => {
      await bus.ensureTopic({ name: 't', partitions: 1 });
      const all = Array.from({ length: 700 }, (_, i) => String(i));
      await bus.publish('t', 0, all.map((v) => ({ data: bytes(v) })));
      const r = bus.read('t', 0);
      // Pulls of at most 256: the fetch takes in three of them before it has 700.
      expect((await r.fetch(700, 0)).map((m) => text(m.data))).toEqual(all);
      await bus.publish('t', 0, [{ data: bytes('700') }]);
      expect((await r.fetch(5, 2_000)).map((m) => text(m.data))).toEqual(['700']);
      const t0 = Date.now();
      expect(await r.fetch(5, 300)).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      await r.close();
    });
  });

  it('bus - max_ack_pending holds a reader that does not ack, and acks release it', async () => {
    await withBus(
      async (bus) => {
        await bus.ensureTopic({ name: 't', partitions: 1 });
        await bus.publish('t', 0, Array.from({ length: 50 }, (_, i) => ({ data: bytes(String(i)) })));
        const r = bus.read('t', 0);
        const first = await r.fetch(100, 1000);
        expect(first).toHaveLength(10);
        expect(await r.fetch(100, 300)).toEqual([]);
        await r.ack(first.at(-1)!.seq);
        const next = await r.fetch(100, 2000);
        expect(next.map((m) => text(m.data))).toEqual(Array.from({ length: 10 }, (_, i) => String(10 + i)));
        await r.close();
      },
      { maxAckPending: 10 },
    );
  });

  it('bus - fails fast on an unreachable server and when a topic is deleted under a reader', async () => {
    await expect(createNatsBus({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 500 })).rejects.toThrow(BusUnavailableError);
    await expect(createNatsBus({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 500 })).rejects.toThrow(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    await withBus(async (bus) => {
      await bus.ensureTopic({ name: 't', partitions: 1 });
      await bus.publish('t', 0, [{ data: bytes('a') }]);
      const r = bus.read('t', 0);
      expect(await r.fetch(10, 1000)).toHaveLength(1);
      await bus.deleteTopic('t');
      await expect(r.fetch(10, 10_000)).rejects.toThrow(UnknownTopicError);
      await expect(bus.publish('t', 0, [{ data: bytes('b') }])).rejects.toThrow(UnknownTopicError);
    });
  });

  it('bus - closed, a bus leaves no timer behind: a process that is done exits at once', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const bus = await natsBus();
    await bus.ensureTopic({ name: 't', partitions: 1 });
    await bus.publish('t', 0, [{ data: bytes('a') }]);
    expect(await readAll(bus, 't', 0, 0, 1)).toHaveLength(1);
    await bus.destroy();
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
