import { describe, expect, it } from 'vitest';
import { chainLogic, sessionLogic, windowLogic, type ManyHost, type OperatorEffects, MemoryState, type ChainStep, type EngineRecord, type WindowConfig } from '@ssdk/engine';
import { guardForBenchmarks } from './native-executor.ts';
import { nativeExecutor } from './native-executor.ts';

// A guarded call (V8's vm timeout) starts a watchdog thread, so a window or session unit makes
// one per batch — its steps and the flushes of every window the batch closes — and only a call
// that runs past the limit is taken back and made again piece by piece, down to the slow record
// or the slow window's flush. These tests hold both: the count of calls, and the same verdicts.

interface Ctx {
  state(name: string): { increment(): number; entries(): Iterable<[unknown, number]> };
  window(): { start: number; end: number };
}

const spin = () => {
  for (;;) {
    /* forever */
  }
};

/** Counts per key (update-state), lists them per window (flush); `slow` decides what spins. */
function steps(slow: { record?: string; window?: number } = {}): ChainStep[] {
  return [
    {
      id: 's.count',
      operator: 'update-state',
      states: ['count'],
      fn: (v, ctx) => {
        if (v === slow.record) spin();
        (ctx as Ctx).state('count').increment();
      },
    },
    {
      id: 's.emit',
      operator: 'flush',
      states: ['count'],
      fn: (ctx) => {
        const c = ctx as Ctx;
        if (c.window().start === slow.window) spin();
        return [...c.state('count').entries()].map(([key, n]) => `${String(key)}:${n}@${c.window().start}`).sort();
      },
    },
  ];
}

const tumbling: WindowConfig = { assigner: { kind: 'tumbling', durationMs: 10_000, offsetMs: 0 }, watermark: { gracePeriodMs: 0 } };
const rec = (key: string, t: number, value: unknown = t): EngineRecord => ({ key, value, timestamp: t });
const results = (e: OperatorEffects) => e.flushes.map((f) => f.record.value);
const failures = (e: OperatorEffects) => e.failures.map((f) => [f.input, f.operator, f.reason]);

/** Runs `fn`, answering how many guarded calls it made. */
async function counted<R>(fn: () => Promise<R>): Promise<{ value: R; calls: number }> {
  const before = guardForBenchmarks.calls;
  const value = await fn();
  return { value, calls: guardForBenchmarks.calls - before };
}

// Keys a and b in every second of 0..55 s: the batch closes the five windows before 50 s.
const batch = Array.from({ length: 56 }, (_, i) => rec(i % 2 ? 'b' : 'a', i * 1_000));
const closedFive = [0, 10_000, 20_000, 30_000, 40_000].map((start) => [`a:5@${start}`, `b:5@${start}`]);

describe('runtime - native guarded calls per batch', () => {
  it('runtime - a window unit runs a batch and every flush it causes in one guarded call (with its steps before assignment too)', async () => {
    const plain = windowLogic({ config: tumbling, body: nativeExecutor(steps()), windowStates: ['count'], hasFlush: true, state: new MemoryState(), channels: ['events/0'] });
    const r = await counted(() => plain.process(batch, 'events/0', 0));
    expect(results(r.value)).toEqual(closedFive);
    expect(r.value.failures).toEqual([]);
    expect(r.calls).toBe(1);
    // The rest at the end: one call for its flush.
    const end = await counted(() => plain.end());
    expect(results(end.value)).toEqual([['a:3@50000', 'b:3@50000']]);
    expect(end.calls).toBe(1);

    // A fused unit's steps before assignment (its key step) join the same call.
    const pre = nativeExecutor([{ id: 's.key', operator: 'assign-key', setsKey: true, fn: (v) => ((v as number) % 2000 ? 'b' : 'a') }]);
    const fused = windowLogic({ config: tumbling, pre, body: nativeExecutor(steps()), windowStates: ['count'], hasFlush: true, state: new MemoryState(), channels: ['events/0'] });
    const f = await counted(() => fused.process(batch, 'events/0', 0));
    expect(results(f.value)).toEqual(closedFive);
    expect(f.calls).toBe(1);
  });

  it('runtime - a window flush that never returns fails alone: the batch is made again call by call, every other window keeps its result', async () => {
    const state = new MemoryState();
    const unit = windowLogic({ config: tumbling, body: nativeExecutor(steps({ window: 20_000 }), { timeoutMs: 150 }), windowStates: ['count'], hasFlush: true, state, channels: ['events/0'] });
    const t0 = performance.now();
    const r = await unit.process(batch, 'events/0', 0);
    const ms = performance.now() - t0;
    expect(results(r)).toEqual(closedFive.filter((_, i) => i !== 2));
    expect(failures(r)).toEqual([[-1, 's.emit', 'timed out after 150 ms (function-timeout)']]);
    // Every closed window went, the slow one too (its state with it); the open one kept its counts.
    expect(unit.takeDroppedWindows().map((w) => w.start)).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
    expect(state.openWindows('count').map((w) => w.start)).toEqual([50_000]);
    // The whole batch, then the five flushes halved: [0 10] [20 30 40], [20] alone, stopped.
    expect(ms).toBeGreaterThanOrEqual(3 * 150);
    expect(ms).toBeLessThan(20_000);
  });

  it('runtime - a record that never returns in a window unit is dead-lettered with its own index; its window flushes without it', async () => {
    const slowBatch = batch.map((r, i) => (i === 23 ? { ...r, value: 'spin' } : r));
    const unit = windowLogic({ config: tumbling, body: nativeExecutor(steps({ record: 'spin' }), { timeoutMs: 150 }), windowStates: ['count'], hasFlush: true, state: new MemoryState(), channels: ['events/0'] });
    const r = await unit.process(slowBatch, 'events/0', 0);
    expect(failures(r)).toEqual([[23, 's.count', 'timed out after 150 ms (function-timeout)']]);
    // Record 23 is b's in [20 s, 30 s): b counted 4 there, its count before the spin taken back.
    expect(results(r)).toEqual(closedFive.map((w, i) => (i === 2 ? ['a:5@20000', 'b:4@20000'] : w)));
  });

  it('runtime - a unit whose functions leave promises behind makes its calls one by one after the first time: no batch runs twice again', async () => {
    let called = 0;
    const leaving: ChainStep[] = [
      {
        id: 's.count',
        operator: 'update-state',
        states: ['count'],
        fn: (_v, ctx) => {
          called++;
          // Fire and forget: whose it is, only a call of its own can tell.
          void Promise.resolve().then(() => undefined);
          (ctx as Ctx).state('count').increment();
        },
      },
      steps()[1]!,
    ];
    const unit = windowLogic({ config: tumbling, body: nativeExecutor(leaving), windowStates: ['count'], hasFlush: true, state: new MemoryState(), channels: ['events/0'] });
    const first = await unit.process(batch.slice(0, 28), 'events/0', 0);
    expect(results(first)).toEqual(closedFive.slice(0, 2));
    // The section was taken back and the calls made one by one: each record ran twice, its count once.
    expect(called).toBe(56);
    called = 0;
    const second = await unit.process(batch.slice(28), 'events/0', 0);
    expect(results(second)).toEqual(closedFive.slice(2));
    expect(second.failures).toEqual([]);
    expect(called).toBe(28);
  });

  it('runtime - closed sessions share a guarded call, those of the same bounds too (their window state does not mix); a slow session fails alone', async () => {
    const session = (body = nativeExecutor(steps())) =>
      sessionLogic({ config: { gapMs: 10_000, watermark: { gracePeriodMs: 0 } }, body, windowStates: ['count'], hasFlush: true, state: new MemoryState(), channels: ['events/0'] });
    // Keys a, b, c with sessions [0, 12 s), [1 s, 12 s), [0, 12 s): a's and c's have the same bounds.
    const closing = [rec('a', 0), rec('b', 1_000), rec('c', 0), rec('a', 2_000), rec('b', 2_000), rec('c', 2_000), rec('z', 60_000)];
    const unit = session();
    const r = await counted(() => unit.process(closing, 'events/0', 0));
    // In order of end, start, key: a, c, b.
    expect(r.value.flushes.map((f) => [f.session, f.record.value])).toEqual([
      ['sa', ['a:2@0']],
      ['sc', ['c:2@0']],
      ['sb', ['b:2@1000']],
    ]);
    // One call: a's window state is gone before c's (the same bounds) is made.
    expect(r.calls).toBe(1);

    const distinct = session();
    const d = await counted(() => distinct.process([rec('a', 0), rec('b', 1_000), rec('c', 3_000), rec('z', 60_000)], 'events/0', 0));
    expect(d.value.flushes.map((f) => f.record.value)).toEqual([['a:1@0'], ['b:1@1000'], ['c:1@3000']]);
    expect(d.calls).toBe(1);

    // b's second record spins: it alone is dead-lettered, b's session flushes with the rest.
    const slow = session(nativeExecutor(steps({ record: 'spin' }), { timeoutMs: 150 }));
    const s = await slow.process(
      closing.map((x) => (x.key === 'b' && x.timestamp === 2_000 ? { ...x, value: 'spin' } : x)),
      'events/0',
      0,
    );
    expect(failures(s)).toEqual([[-1, 's.count', 'timed out after 150 ms (function-timeout)']]);
    expect(s.flushes.map((f) => [f.session, f.record.value])).toEqual([
      ['sa', ['a:2@0']],
      ['sc', ['c:2@0']],
      ['sb', ['b:1@1000']],
    ]);
  });

  it('runtime - a window unit given several messages at once runs them in one guarded call, each with the effects it gets on its own', async () => {
    const make = (body = nativeExecutor(steps())) => {
      const state = new MemoryState();
      return { state, unit: windowLogic({ config: tumbling, body, windowStates: ['count'], hasFlush: true, state, channels: ['events/0'] }) };
    };
    // Four messages of 14 records (0–13 s, 14–27 s, …): the first closes the window at 0, the
    // second the one at 10 s, the third those at 20 and 30 s, the fourth the one at 40 s.
    const messages = [0, 14, 28, 42].map((from) => ({ records: batch.slice(from, from + 14), channel: 'events/0', now: 0 }));
    const alone = make();
    const one: OperatorEffects[] = [];
    for (const m of messages) one.push(await alone.unit.process(m.records, m.channel, m.now));
    const together = make();
    const many = await counted(() => together.unit.processMany!(messages, host()));
    expect(many.calls).toBe(1);
    expect(many.value!.map(results)).toEqual(one.map(results));
    expect(many.value!.map(results)).toEqual([closedFive.slice(0, 1), closedFive.slice(1, 2), closedFive.slice(2, 4), closedFive.slice(4)]);
    expect(together.unit.meta()).toEqual(alone.unit.meta());
    expect(together.unit.takeDroppedWindows()).toEqual(alone.unit.takeDroppedWindows());
    expect(together.state.openWindows('count')).toEqual(alone.state.openWindows('count'));

    // A record that never returns, in the third message: the call is taken back whole (no window
    // closed, no count kept), and the messages go one by one, as they would have anyway.
    const slow = make(nativeExecutor(steps({ record: 'spin' }), { timeoutMs: 150 }));
    const spun = messages.map((m, i) => (i === 2 ? { ...m, records: m.records.map((r, j) => (j === 3 ? { ...r, value: 'spin' } : r)) } : m));
    expect(await slow.unit.processMany!(spun, host())).toBeUndefined();
    expect(slow.unit.meta()).toEqual(make().unit.meta());
    expect(slow.state.openWindows('count').flatMap((w) => [...slow.state.entries('count', w)])).toEqual([]);
    expect(slow.unit.takeDroppedWindows()).toEqual([]);
  });

  it('runtime - a chain unit takes messages into one guarded call until half its limit is used; the rest wait for the next', async () => {
    const state = new MemoryState();
    // Each message is 300 ms of work (well within the 2 s limit alone); when each ended, from
    // the first one's start: on a loaded machine a message may take longer than its 300 ms, so
    // the messages that fit are counted from what they took, not assumed.
    const ended: number[] = [];
    let first: number | undefined;
    const busy: ChainStep[] = [
      {
        id: 's.busy',
        operator: 'map',
        fn: (v) => {
          const t = performance.now();
          first ??= t;
          while (performance.now() - t < 300) {
            /* 300 ms of work */
          }
          ended.push(performance.now() - first);
          return v;
        },
      },
    ];
    const unit = chainLogic(nativeExecutor(busy, { timeoutMs: 2_000 }), state);
    const messages = Array.from({ length: 8 }, (_, i) => ({ records: [rec('k', i)], channel: 'events/0', now: 0 }));
    const started: number[] = [];
    const r = await counted(() => unit.processMany!(messages, host({ starting: (i) => started.push(i) })));
    // The group stops after the first message that ends past half of 2 000 ms (the fourth,
    // unless the machine slowed the first three): one call, none timed out, the rest left.
    // (The executor's clock starts a little before the first message and stops a little after
    // each, so a message ending within 20 ms short of 1 000 may end the group too.)
    const ran = started.length;
    expect([ended.findIndex((ms) => ms >= 980) + 1, ended.findIndex((ms) => ms >= 1_000) + 1]).toContain(ran);
    expect(ran).toBeGreaterThanOrEqual(2);
    expect(ran).toBeLessThanOrEqual(4);
    expect(r.calls).toBe(1);
    expect(started).toEqual(Array.from({ length: ran }, (_, i) => i));
    expect(r.value!.map((e) => e.outputs.map((o) => o.value))).toEqual(started.map((i) => [i]));
  });

  it('runtime - ctx.log lines of messages run together are told once the call stands, each after the position of its message', async () => {
    const told: string[] = [];
    const logging: ChainStep[] = [{ id: 's.say', operator: 'map', fn: (v, ctx) => ((ctx as { log(...a: unknown[]): void }).log(`saw ${String(v)}`), v) }];
    const unit = chainLogic(nativeExecutor(logging, { log: (operator, _record, args) => told.push(`${operator}: ${String(args[0])}`) }), new MemoryState());
    const messages = [[1, 2], [3], [4]].map((values) => ({ records: values.map((v) => rec('k', v)), channel: 'events/0', now: 0 }));
    const r = await unit.processMany!(messages, host({ logging: (i) => told.push(`message ${i}`) }));
    expect(r).toHaveLength(3);
    expect(told).toEqual(['message 0', 's.say: saw 1', 's.say: saw 2', 'message 1', 's.say: saw 3', 'message 2', 's.say: saw 4']);
  });

  it('runtime - the host is told what each message made, and a message it makes wait goes to the next call', async () => {
    const triple: ChainStep[] = [{ id: 's.triple', operator: 'flat-map', fn: (v) => [v, v, v] }];
    const unit = chainLogic(nativeExecutor(triple), new MemoryState());
    const messages = [[1, 2], [3], [4]].map((values) => ({ records: values.map((v) => rec('k', v)), channel: 'events/0', now: 0 }));
    const told: Array<[number, number]> = [];
    // The host bounds what one call holds: the second message takes it to 9 records made.
    const r = await unit.processMany!(messages, host({ waits: (i, made) => (told.push([i, made]), i === 1) }));
    expect(told).toEqual([
      [0, 6],
      [1, 3],
    ]);
    expect(r!.map((e) => e.outputs.length)).toEqual([6, 3]);
  });
});

/** A host loop that takes no part: no undo marks, no log positions, nothing waits. */
function host(o: Partial<ManyHost> = {}): ManyHost {
  return { starting: () => undefined, logging: () => undefined, waits: () => false, ...o };
}
