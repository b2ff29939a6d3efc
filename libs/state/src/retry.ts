import { isRetryable } from './errors.ts';

export interface RetryOptions {
  /** First backoff, in ms. @default 100 */
  initialDelayMs?: number;
  /** Backoff cap, in ms. @default 5000 */
  maxDelayMs?: number;
  /** Attempts in all, the first included. @default Infinity (until `signal` aborts) */
  maxAttempts?: number;
  /** Stops waiting and retrying; the abort reason is thrown. */
  signal?: AbortSignal;
  /** Which errors to retry. @default isRetryable (StateUnavailableError, StateConflictError) */
  retryIf?: (error: unknown) => boolean;
  /** Called before each wait (for a log line or a metric). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** @internal tests: a source of [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * Runs `fn` until it succeeds, retrying retryable errors with exponential backoff and jitter
 * (each wait is half fixed, half random: 50-100% of min(maxDelayMs, initialDelayMs * 2^n)), so
 * replicas that lost the same server do not come back in lock-step. Commits are idempotent (the
 * same values and offsets again), so a commit whose outcome is unknown is safe to retry.
 *
 * @example
 * await withRetry(() => store.commit(checkpoint), { maxDelayMs: 5_000, signal });
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5_000;
  const attempts = options.maxAttempts ?? Infinity;
  const retryIf = options.retryIf ?? isRetryable;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || !retryIf(error) || options.signal?.aborted) throw error;
      const ceiling = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
      const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
