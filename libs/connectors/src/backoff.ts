/**
 * Retry with exponential backoff while an endpoint is out of reach: retryable errors wait and
 * try again (nothing is dropped), others are thrown at once. Stops when the signal aborts.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  /** First wait, ms. @default 200 */
  minMs?: number;
  /** Longest wait, ms. @default 10000 */
  maxMs?: number;
  signal?: AbortSignal;
  /** Told about each failed attempt (for logs and the retry counter). */
  onRetry?: (error: unknown, attempt: number, waitMs: number) => void;
}

export async function withBackoff<T>(what: () => Promise<T>, isRetryable: (error: unknown) => boolean, options: BackoffOptions = {}): Promise<T> {
  const min = options.minMs ?? 200;
  const max = Math.max(min, options.maxMs ?? 10_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await what();
    } catch (error) {
      if (!isRetryable(error) || options.signal?.aborted) throw error;
      // Full jitter keeps many connectors from retrying in step after a shared outage.
      const wait = Math.round(Math.min(max, min * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      options.onRetry?.(error, attempt, wait);
      await sleep(wait, undefined, options.signal ? { signal: options.signal } : undefined).catch(() => {});
      if (options.signal?.aborted) throw error;
    }
  }
}
