/**
 * Backoff for a lost server: which client errors are worth waiting out, and the delays between
 * attempts. The adapter's loops decide when to give up (a deadline, a signal, `close()`).
 */
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { ConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';

/** JetStream API codes that mean "not now" (no leader, cluster or stream offline, not ready). */
const TRANSIENT_API_CODES = new Set([
  10005, // no suitable peers
  10008, // JetStream system temporarily unavailable
  10118, // stream offline
  10023, // insufficient resources (a restarting server may report it)
]);

/**
 * True for errors of a server that is down, restarting or electing a leader: timeouts, a
 * dropped connection, no responders (JetStream not up yet), heartbeats missed, 503s.
 */
export function isTransientNatsError(error: unknown): boolean {
  if (error instanceof TimeoutError || error instanceof ConnectionError) return true;
  if (error instanceof RequestError) return error.isNoResponders() || isTransientNatsError(error.cause);
  if (isNoResponders(error)) return true;
  if (error instanceof JetStreamApiError) return error.status === 503 || TRANSIENT_API_CODES.has(error.code);
  if (error instanceof JetStreamError) return /heartbeats missed|no responders|leadership|timeout|temporarily unavailable/i.test(error.message);
  if (error instanceof Error && /timeout|disconnect|reconnect|no responders|temporarily unavailable/i.test(error.message)) return true;
  return false;
}

/** Full-jitter exponential backoff: attempt 0 waits 50-100% of `initial`, each next one doubles. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: callers check state). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits for `work` (whose failure is the caller's to catch) or `ms`, whichever comes first. The
 * timer is cleared at once: a process that is done exits without waiting it out.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  const stop = new AbortController();
  try {
    await Promise.race([work, sleep(ms, stop.signal)]);
  } finally {
    stop.abort();
  }
}

/**
 * A publish nobody answered: JetStream is not up yet (a restarting server) or no stream takes
 * the subject. `js.publish` reports it as `JetStreamNotEnabled` (not exported by name).
 */
export function isNoResponders(error: unknown): boolean {
  if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) return true;
  return error instanceof Error && error.name === 'JetStreamNotEnabled';
}
