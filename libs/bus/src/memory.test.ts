import { describe, expect, it } from 'vitest';
import { UnknownTopicError } from './bus.ts';
import { createMemoryBus } from './memory.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('bus - memory adapter', () => {
  it('bus - keeps partitions apart and numbers messages from 1', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopic({ name: 't', partitions: 2 });
    expect(await bus.publish('t', 0, [{ data: bytes('a') }, { data: bytes('b') }])).toEqual([
      { seq: 1, duplicate: false },
      { seq: 2, duplicate: false },
    ]);
    await bus.publish('t', 1, [{ data: bytes('c') }]);
    const r0 = bus.read('t', 0);
    expect((await r0.fetch(10, 0)).map((m) => [m.seq, text(m.data)])).toEqual([[1, 'a'], [2, 'b']]);
    expect((await bus.read('t', 1).fetch(10, 0)).map((m) => text(m.data))).toEqual(['c']);
    expect(await bus.lastSeq('t', 0)).toBe(2);
  });

  it('bus - resumes after a committed sequence', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopic({ name: 't', partitions: 1 });
    await bus.publish('t', 0, ['a', 'b', 'c'].map((s) => ({ data: bytes(s) })));
    const r = bus.read('t', 0, { afterSeq: 2 });
    expect((await r.fetch(10, 0)).map((m) => text(m.data))).toEqual(['c']);
  });

  it('bus - drops a message whose msgId was seen within the duplicate window', async () => {
    let now = 0;
    const bus = createMemoryBus({ duplicateWindowMs: 1000, now: () => now });
    await bus.ensureTopic({ name: 't', partitions: 1 });
    await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'op:0:1:0' }]);
    expect(await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'op:0:1:0' }])).toEqual([{ seq: 1, duplicate: true }]);
    now = 1000;
    expect(await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'op:0:1:0' }])).toEqual([{ seq: 2, duplicate: false }]);
  });

  it('bus - a waiting reader wakes on publish, and times out with nothing', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopic({ name: 't', partitions: 1 });
    const r = bus.read('t', 0);
    const t0 = Date.now();
    expect(await r.fetch(10, 50)).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    const pending = r.fetch(10, 5000);
    await bus.publish('t', 0, [{ data: bytes('x') }]);
    expect((await pending).map((m) => text(m.data))).toEqual(['x']);
  });

  it('bus - fetch returns at most `max` messages in order', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopic({ name: 't', partitions: 1 });
    await bus.publish('t', 0, Array.from({ length: 5 }, (_, i) => ({ data: bytes(String(i)) })));
    const r = bus.read('t', 0);
    expect((await r.fetch(2, 0)).map((m) => m.seq)).toEqual([1, 2]);
    expect((await r.fetch(2, 0)).map((m) => m.seq)).toEqual([3, 4]);
    expect((await r.fetch(2, 0)).map((m) => m.seq)).toEqual([5]);
  });

  it('bus - an existing topic keeps its partitions; unknown topics and partitions are errors', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopic({ name: 't', partitions: 3 });
    expect(await bus.ensureTopic({ name: 't', partitions: 8 })).toEqual({ name: 't', partitions: 3 });
    await expect(bus.publish('nope', 0, [])).rejects.toThrow(UnknownTopicError);
    expect(() => bus.read('t', 3)).toThrow('topic `t` has no partition 3 (it has 3)');
  });
});
