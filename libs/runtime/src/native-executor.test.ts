import { afterAll, describe, expect, it } from 'vitest';
import { MemoryState, type ChainStep, type EngineRecord, type FunctionContext } from '@ssdk/engine';
import { freePort, startCalloutServer, type CalloutServer } from '@ssdk/testing';
import { nativeExecutor } from './native-executor.ts';

// Native functions keep the sandbox's limits: a runaway function is stopped at function-timeout
// (its record dead-lettered, the rest of the batch kept, its state change taken back), and a
// promise a function leaves behind that rejects fails its record instead of the process.
const rec = (value: string, key: string | null = null): EngineRecord => ({ key, value, timestamp: 0 });
const ctxOf = (c: unknown) => c as FunctionContext;

const servers: CalloutServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('runtime - native function limits', () => {
  it('runtime - a function that never returns is stopped at function-timeout; its record is dead-lettered, the others and their state kept', async () => {
    const steps: ChainStep[] = [
      {
        id: 's.count',
        operator: 'update-state',
        fn: (v: unknown, ctx: unknown) => {
          ctxOf(ctx).state('seen').increment();
          if (v === 'spin') {
            // try/finally cannot keep it running
            try {
              for (;;) {
                /* forever */
              }
            } finally {
              ctxOf(ctx).state('seen').increment(100);
            }
          }
        },
        states: ['seen'],
      },
    ];
    const state = new MemoryState();
    const t0 = performance.now();
    const r = await nativeExecutor(steps, { timeoutMs: 150 }).run([rec('a', 'a'), rec('b', 'b'), rec('spin', 'b'), rec('a', 'a')], state);
    const ms = performance.now() - t0;
    expect(r.failures.map((f) => [f.input, f.operator, f.reason])).toEqual([[2, 's.count', 'timed out after 150 ms (function-timeout)']]);
    expect(r.outputs.map((o) => [o.input, o.value])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [3, 'a'],
    ]);
    // 'spin' counted before it looped: taken back with its batch.
    expect(state.get('seen', 'a')).toBe(2);
    expect(state.get('seen', 'b')).toBe(1);
    // Halved until alone: the whole batch, [a b], [spin a], [spin] stopped (4 × 150 ms), not more.
    expect(ms).toBeGreaterThanOrEqual(3 * 150);
    expect(ms).toBeLessThan(20_000);
  });

  it('runtime - a flush that never returns is a failure of its window, not a hang', async () => {
    const steps: ChainStep[] = [
      {
        id: 's.top',
        operator: 'flush',
        fn: () => {
          for (;;) {
            /* forever */
          }
        },
      },
    ];
    const r = await nativeExecutor(steps, { timeoutMs: 100 }).flush({ start: 0, end: 10 }, new MemoryState());
    expect(r.output).toBeUndefined();
    expect(r.failure?.reason).toBe('timed out after 100 ms (function-timeout)');
    expect(r.failure?.operator).toBe('s.top');
  });

  it('runtime - a promise a function leaves behind that rejects dead-letters its record (a fire-and-forget fetch included); the batch goes on', async () => {
    const steps: ChainStep[] = [
      {
        id: 's.send',
        operator: 'map',
        fn: (v: unknown) => {
          if (v === 'reject') void Promise.reject(new Error('boom'));
          // Nothing listens on this port: the request fails after the function returned.
          if (v === 'fetch') void fetch('http://127.0.0.1:40201/');
          if (v === 'async') void (async () => {
            await null;
            throw new TypeError('later');
          })();
          if (v === 'handled') Promise.reject(new Error('caught')).catch(() => undefined);
          return v;
        },
      },
    ];
    const r = await nativeExecutor(steps, { timeoutMs: 10_000 }).run(['a', 'reject', 'fetch', 'handled', 'async', 'b'].map((v) => rec(v)), new MemoryState());
    expect(r.outputs.map((o) => [o.input, o.value])).toEqual([
      [0, 'a'],
      [3, 'handled'],
      [5, 'b'],
    ]);
    expect(r.failures.map((f) => [f.input, f.operator, f.reason])).toEqual([
      [1, 's.send', 'unhandled rejection: boom'],
      [2, 's.send', 'unhandled rejection: TypeError: fetch failed'],
      [4, 's.send', 'unhandled rejection: TypeError: later'],
    ]);
  });

  it('runtime - a promise made later by the work a record left behind is that record’s: in a then callback, after an await, chained on it', async () => {
    const steps: ChainStep[] = [
      {
        id: 's.later',
        operator: 'map',
        fn: (v: unknown) => {
          // Made inside a reaction of the record's own promise, with no parent of its own.
          if (v === 'then') void Promise.resolve().then(() => void Promise.reject(new Error('in a callback')));
          if (v === 'await') void (async () => {
            await new Promise((next) => setTimeout(next, 5));
            void Promise.reject(new Error('after an await'));
          })();
          // A chain whose link rejects: the link is made once its parent settles, after the run.
          if (v === 'chain') void new Promise((next) => setTimeout(next, 5)).then(() => Promise.reject(new Error('chained')));
          return v;
        },
      },
    ];
    const r = await nativeExecutor(steps, { timeoutMs: 10_000 }).run(['a', 'then', 'await', 'chain', 'b'].map((v) => rec(v)), new MemoryState());
    expect(r.outputs.map((o) => [o.input, o.value])).toEqual([
      [0, 'a'],
      [4, 'b'],
    ]);
    expect(r.failures.map((f) => [f.input, f.reason])).toEqual([
      [1, 'unhandled rejection: in a callback'],
      [2, 'unhandled rejection: after an await'],
      [3, 'unhandled rejection: chained'],
    ]);
  });

  it("runtime - waiting for ctx.http is not the function's time", async () => {
    // On a thread of its own: ctx.http blocks this one.
    const server = await startCalloutServer(await freePort());
    servers.push(server);
    const steps: ChainStep[] = [
      {
        id: 's.ask',
        operator: 'map',
        grants: { http: ['127.0.0.1'] },
        fn: (_v: unknown, ctx: unknown) => ctxOf(ctx).http(`${server.url}/slow?ms=400`, { timeoutMs: 5_000 }).body,
      },
    ];
    const r = await nativeExecutor(steps, { timeoutMs: 200 }).run([rec('a'), rec('b')], new MemoryState());
    expect(r.failures).toEqual([]);
    expect(r.outputs.map((o) => o.value)).toEqual(['slow', 'slow']);
    // The request the stop cut short was waited for again, not made again.
    expect(await server.hits()).toEqual({ '/slow': 2 });
  });
});
