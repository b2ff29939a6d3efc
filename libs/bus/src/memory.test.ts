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
});
