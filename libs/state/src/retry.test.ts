import { describe, expect, it } from 'vitest';
import { isTransient } from './driver.ts';
import { FencedError, StateConflictError, StateUnavailableError, StateWriteError } from './errors.ts';
import { withRetry } from './retry.ts';

const unavailable = () => new StateUnavailableError('down');

describe('state - retry', () => {
  it('state - retries retryable errors with growing, jittered delays', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 5) throw calls % 2 ? unavailable() : new StateConflictError('deadlock');
        return 'done';
      },
      { initialDelayMs: 1, maxDelayMs: 6, random: () => 1, onRetry: (_e, _a, delay) => delays.push(delay) },
    );
    expect(result).toBe('done');
    expect(delays).toEqual([1, 2, 4, 6]); // 1·2^n capped at maxDelayMs
    const low: number[] = [];
    await withRetry(async (attempt) => {
      if (attempt < 3) throw unavailable();
    }, { initialDelayMs: 4, random: () => 0, onRetry: (_e, _a, d) => low.push(d) });
    expect(low).toEqual([2, 4]); // never below half the ceiling
  });

  it('state - does not retry other errors and stops after maxAttempts', async () => {
    let calls = 0;
    const fenced = new FencedError('fenced', { operator: 'op', partitions: [0], epoch: 1 });
    await expect(withRetry(async () => (calls++, Promise.reject(fenced)))).rejects.toBe(fenced);
    expect(calls).toBe(1);
    await expect(withRetry(async () => Promise.reject(new StateWriteError('bad')), { initialDelayMs: 1 })).rejects.toBeInstanceOf(StateWriteError);
    calls = 0;
    await expect(withRetry(async () => (calls++, Promise.reject(unavailable())), { initialDelayMs: 1, maxAttempts: 3 })).rejects.toBeInstanceOf(
      StateUnavailableError,
    );
    expect(calls).toBe(3);
  });

  it('state - stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const running = withRetry(async () => Promise.reject(unavailable()), { initialDelayMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutting down')), 10);
    await expect(running).rejects.toThrow('shutting down');
  });

  it('state - recognises transient connection errors', () => {
    const cases: [unknown, boolean][] = [
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), true],
      [Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), true],
      [Object.assign(new Error('the database system is starting up'), { code: '57P03' }), true],
      [Object.assign(new Error('connection failure'), { code: '08006' }), true],
      [new Error('Connection terminated unexpectedly'), true],
      [new Error('timeout exceeded when trying to connect'), true],
      [Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'all failed'), {}), true],
      [Object.assign(new Error('duplicate key'), { code: '23505' }), false],
      [Object.assign(new Error('syntax error'), { code: '42601' }), false],
      [new Error('something else'), false],
    ];
    for (const [error, transient] of cases) expect(isTransient(error), (error as Error).message).toBe(transient);
  });
});
