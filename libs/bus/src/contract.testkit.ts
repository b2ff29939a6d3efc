/**
 * The contract every Bus adapter passes: the same suite runs against the in-memory bus and
 * NATS JetStream (`describeBus(name, setup)` in each adapter's test file). Where adapters may
 * differ (JetStream numbers messages per stream, so a partition's sequences grow but skip), the
 * suite asserts what the interface promises: increasing sequences, and exact ones only when
 * the adapter says it numbers each partition 1, 2, 3, ...
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusMessage } from './bus.ts';
import { UnknownTopicError } from './errors.ts';

export interface BusContractSetup {
  /** A fresh, empty bus for one test. */
  make(): Promise<Bus>;
  /** Removes what the test made and closes the bus. @default bus.close() */
  dispose?(bus: Bus): Promise<void>;
  /** Each partition numbers its messages 1, 2, 3, ... (the in-memory bus). */
  contiguousSeqs: boolean;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const texts = (ms: BusMessage[]) => ms.map((m) => text(m.data));

function expectIncreasing(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
  for (const s of seqs) expect(s).toBeGreaterThan(0);
}

export function describeBus(name: string, setup: BusContractSetup): void {
  describe(`bus - ${name} adapter contract`, () => {
    const made: Bus[] = [];
    const open = async () => {
      const bus = await setup.make();
      made.push(bus);
      return bus;
    };

    afterEach(async () => {
      for (const bus of made.splice(0)) {
        if (setup.dispose) await setup.dispose(bus);
        else await bus.close();
      }
    });

    it('bus - keeps partitions apart and numbers messages in increasing order', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 2 });
      const acks0 = await bus.publish('t', 0, [{ data: bytes('a') }, { data: bytes('b') }]);
      const acks1 = await bus.publish('t', 1, [{ data: bytes('c') }]);
      expect(acks0.map((a) => a.duplicate)).toEqual([false, false]);
      expectIncreasing(acks0.map((a) => a.seq));
      if (setup.contiguousSeqs) {
        expect(acks0.map((a) => a.seq)).toEqual([1, 2]);
        expect(acks1.map((a) => a.seq)).toEqual([1]);
      }
      const r0 = bus.read('t', 0);
      const got0 = await r0.fetch(10, 0);
      expect(got0.map((m) => [m.seq, text(m.data)])).toEqual([
        [acks0[0]!.seq, 'a'],
        [acks0[1]!.seq, 'b'],
      ]);
      expect(texts(await bus.read('t', 1).fetch(10, 0))).toEqual(['c']);
      expect(await bus.lastSeq('t', 0)).toBe(acks0[1]!.seq);
      expect(await bus.lastSeq('t', 1)).toBe(acks1[0]!.seq);
    });

    it('bus - an empty partition has last sequence 0 and an empty publish does nothing', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 2 });
      expect(await bus.lastSeq('t', 1)).toBe(0);
      expect(await bus.publish('t', 1, [])).toEqual([]);
      expect(await bus.lastSeq('t', 1)).toBe(0);
    });

    it('bus - resumes after a committed sequence', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 1 });
      const acks = await bus.publish('t', 0, ['a', 'b', 'c'].map((s) => ({ data: bytes(s) })));
      const r = bus.read('t', 0, { afterSeq: acks[1]!.seq });
      expect(texts(await r.fetch(10, 0))).toEqual(['c']);
      const past = bus.read('t', 0, { afterSeq: acks[2]!.seq });
      expect(await past.fetch(10, 50)).toEqual([]);
    });

    it('bus - drops a message whose msgId was seen within the duplicate window', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 2 });
      const [first] = await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'op:0:1:0' }]);
      expect(first!.duplicate).toBe(false);
      expect(await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'op:0:1:0' }])).toEqual([{ seq: first!.seq, duplicate: true }]);
      // Within one call too, and next to new ids.
      const acks = await bus.publish('t', 0, [
        { data: bytes('b'), msgId: 'op:0:2:0' },
        { data: bytes('a'), msgId: 'op:0:1:0' },
        { data: bytes('b'), msgId: 'op:0:2:0' },
      ]);
      expect(acks.map((a) => a.duplicate)).toEqual([false, true, true]);
      expect(acks[1]!.seq).toBe(first!.seq);
      expect(acks[2]!.seq).toBe(acks[0]!.seq);
      expect(texts(await bus.read('t', 0).fetch(10, 0))).toEqual(['a', 'b']);
    });

    it('bus - passes headers through', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 1 });
      await bus.publish('t', 0, [
        { data: bytes('a'), headers: { 'ssdk-trace': '00-abc-01', 'content-type': 'application/x-ssdk-frame' }, msgId: 'x' },
        { data: bytes('b') },
      ]);
      const [a, b] = await bus.read('t', 0).fetch(10, 0);
      expect(a!.headers).toEqual({ 'ssdk-trace': '00-abc-01', 'content-type': 'application/x-ssdk-frame' });
      expect(b!.headers).toBeUndefined();
    });

    it('bus - a waiting reader wakes on publish, and times out with nothing', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 1 });
      const r = bus.read('t', 0);
      const t0 = Date.now();
      expect(await r.fetch(10, 50)).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
      const pending = r.fetch(10, 5000);
      const t1 = Date.now();
      await bus.publish('t', 0, [{ data: bytes('x') }]);
      expect(texts(await pending)).toEqual(['x']);
      expect(Date.now() - t1).toBeLessThan(2000);
    });

    it('bus - fetch returns at most `max` messages in order', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 1 });
      const acks = await bus.publish('t', 0, Array.from({ length: 5 }, (_, i) => ({ data: bytes(String(i)) })));
      const seqs = acks.map((a) => a.seq);
      const r = bus.read('t', 0);
      expect((await r.fetch(2, 0)).map((m) => m.seq)).toEqual(seqs.slice(0, 2));
      expect((await r.fetch(2, 0)).map((m) => m.seq)).toEqual(seqs.slice(2, 4));
      expect((await r.fetch(2, 0)).map((m) => m.seq)).toEqual(seqs.slice(4));
      expect(await r.fetch(2, 0)).toEqual([]);
    });

    it('bus - many messages in one publish keep their order, and acked readers go on', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 3 });
      const n = 600;
      const acks = await bus.publish('t', 2, Array.from({ length: n }, (_, i) => ({ data: bytes(`m${i}`), msgId: `id-${i}` })));
      expectIncreasing(acks.map((a) => a.seq));
      const r = bus.read('t', 2);
      const got: BusMessage[] = [];
      while (got.length < n) {
        const batch = await r.fetch(64, 1000);
        if (batch.length === 0) break;
        got.push(...batch);
        await r.ack(batch.at(-1)!.seq);
      }
      expect(texts(got)).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
      expect(got.map((m) => m.seq)).toEqual(acks.map((a) => a.seq));
      await r.close();
    });

    it('bus - a closed reader returns nothing, and closing the bus wakes a waiting reader', async () => {
      const bus = await open();
      await bus.ensureTopic({ name: 't', partitions: 1 });
      await bus.publish('t', 0, [{ data: bytes('a') }]);
      const r = bus.read('t', 0);
      await r.close();
      expect(await r.fetch(10, 0)).toEqual([]);
      const waiting = bus.read('t', 0, { afterSeq: await bus.lastSeq('t', 0) });
      const pending = waiting.fetch(10, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const t0 = Date.now();
      await bus.close();
      expect(await pending).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(5000);
    });

    it('bus - an existing topic keeps its partitions; unknown topics and partitions are errors', async () => {
      const bus = await open();
      expect(await bus.ensureTopic({ name: 't', partitions: 3 })).toEqual({ name: 't', partitions: 3 });
      expect(await bus.ensureTopic({ name: 't', partitions: 8 })).toEqual({ name: 't', partitions: 3 });
      expect(await bus.topic('t')).toEqual({ name: 't', partitions: 3 });
      expect(await bus.topic('nope')).toBeUndefined();
      await expect(bus.publish('nope', 0, [])).rejects.toThrow(UnknownTopicError);
      await expect(bus.publish('nope', 0, [{ data: bytes('a') }])).rejects.toThrow('topic `nope` does not exist');
      await expect(bus.lastSeq('nope', 0)).rejects.toThrow(UnknownTopicError);
      await expect(bus.publish('t', 3, [{ data: bytes('a') }])).rejects.toThrow('topic `t` has no partition 3 (it has 3)');
      // read() may check at once or on the first fetch; either way the caller sees the error.
      await expect((async () => bus.read('t', 3).fetch(1, 0))()).rejects.toThrow('topic `t` has no partition 3 (it has 3)');
      await expect((async () => bus.read('nope', 0).fetch(1, 0))()).rejects.toThrow(UnknownTopicError);
    });
  });
}
