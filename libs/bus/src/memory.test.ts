import { describe, expect, it } from 'vitest';
import { describeBus } from './contract.testkit.ts';
import { UnknownTopicError } from './errors.ts';
import { createMemoryBus } from './memory.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describeBus('memory', { make: async () => createMemoryBus(), contiguousSeqs: true });

describe('bus - memory adapter', () => {
  it('bus - forgets a msgId once the duplicate window has passed', async () => {
    let now = 0;
    const bus = createMemoryBus({ duplicateWindowMs: 1000, now: () => now });
    await bus.ensureTopic({ name: 't', partitions: 1 });
    await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'op:0:1:0' }]);
    expect(await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'op:0:1:0' }])).toEqual([{ seq: 1, duplicate: true }]);
    now = 1000;
    expect(await bus.publish('t', 0, [{ data: bytes('a'), msgId: 'op:0:1:0' }])).toEqual([{ seq: 2, duplicate: false }]);
  });

  it('bus - read() checks the partition at once', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopic({ name: 't', partitions: 3 });
    expect(() => bus.read('t', 3)).toThrow(UnknownTopicError);
    expect(() => bus.read('t', 3)).toThrow('topic `t` has no partition 3 (it has 3)');
  });

  it('bus - streamIdentity: the same topic on another in-memory bus (another process) is another stream', async () => {
    const a = createMemoryBus({ now: () => 0 });
    const b = createMemoryBus({ now: () => 0 });
    for (const bus of [a, b]) await bus.ensureTopic({ name: 't', partitions: 2 });
    await a.publish('t', 1, [{ data: bytes('x') }, { data: bytes('y') }]);
    const first = await a.streamIdentity('t');
    expect(first).toEqual({ stream: 'memory:t', created: expect.any(String), lastSeq: 2 });
    expect((await a.streamIdentity('t')).created).toBe(first.created);
    // Created in the same millisecond, still told apart.
    expect((await b.streamIdentity('t')).created).not.toBe(first.created);
  });

  it('bus - an interest topic keeps a message until every reader opened on its partition has acked it', async () => {
    const bus = createMemoryBus();
    const texts = (ms: Array<{ data: Uint8Array }>) => ms.map((m) => new TextDecoder().decode(m.data));
    await bus.ensureTopic({ name: 'kept', partitions: 1 });
    await bus.ensureTopic({ name: 'read', partitions: 1, retention: 'interest' });
    for (const t of ['kept', 'read']) await bus.publish(t, 0, ['a', 'b', 'c'].map((x) => ({ data: bytes(x) })));
    const fast = bus.read('read', 0);
    const slow = bus.read('read', 0);
    await fast.fetch(10, 0);
    await slow.fetch(10, 0);
    await fast.ack(3);
    // `slow` has acked nothing yet: every message is still there.
    const first = bus.read('read', 0);
    expect(texts(await first.fetch(10, 0))).toEqual(['a', 'b', 'c']);
    await first.ack(3);
    // Acked by all three up to 'b' (a closed reader counts with what it acked): 'c' alone is kept,
    // a reader opened now starts there, and sequences do not move.
    await slow.ack(2);
    await slow.close();
    const late = await bus.read('read', 0).fetch(10, 0);
    expect(late.map((m) => m.seq)).toEqual([3]);
    expect(texts(late)).toEqual(['c']);
    expect(await bus.lastSeq('read', 0)).toBe(3);
    await bus.publish('read', 0, [{ data: bytes('d') }]);
    expect((await fast.fetch(10, 0)).map((m) => m.seq)).toEqual([4]);
    // A topic with the default retention keeps everything, whatever its readers acked.
    const k = bus.read('kept', 0);
    await k.fetch(10, 0);
    await k.ack(3);
    expect(texts(await bus.read('kept', 0).fetch(10, 0))).toEqual(['a', 'b', 'c']);
  });
});
