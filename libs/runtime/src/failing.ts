/**
 * A unit that cannot make progress for a reason that is not a record's — a step that throws
 * outside any record, the state store or the bus out of reach — says so and tries again: its
 * metrics (so `ssdk status`, the dashboard and the Prometheus gauge) show `failing` with the
 * reason while it waits a bounded exponential backoff with jitter, and `running` again once a
 * batch commits or its inputs go quiet (Kubernetes' CrashLoopBackOff, inside the process, so the
 * attempt keeps its place: the batch is tried again from where it started).
 */
import { BusUnavailableError } from '@ssdk/bus';
import { redactedMessage } from '@ssdk/records';
import { isRetryable } from '@ssdk/state';
import type { UnitMetrics } from './metrics.ts';

export interface RestartOptions {
  /** First wait after a failed attempt, ms. @default 200 */
  initialDelayMs?: number;
  /** The longest wait between attempts (the backoff's cap), ms. @default 5000 */
  maxDelayMs?: number;
  /** Attempts in all, the first included; the last one's error ends the task. @default 1 */
  maxAttempts?: number;
  /** @internal tests: a source of [0, 1). @default Math.random */
  random?: () => number;
}

export interface CompiledRestart {
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  random: () => number;
}

export function compileRestart(o: RestartOptions = {}): CompiledRestart {
  const c = { initialDelayMs: o.initialDelayMs ?? 200, maxDelayMs: o.maxDelayMs ?? 5_000, maxAttempts: o.maxAttempts ?? 1, random: o.random ?? Math.random };
  if (!(c.initialDelayMs > 0 && c.maxDelayMs >= c.initialDelayMs)) throw new RangeError(`restart delays must be 0 < initial (${c.initialDelayMs}) <= max (${c.maxDelayMs}) ms`);
  if (!(c.maxAttempts >= 1)) throw new RangeError(`restart attempts must be at least 1, got ${c.maxAttempts}`);
  return c;
}

/** The wait before attempt `attempt + 1` (1-based `attempt`): half fixed, half random, of min(cap, initial · 2^(attempt−1)). */
export function backoffDelay(c: CompiledRestart, attempt: number): number {
  const ceiling = Math.min(c.maxDelayMs, c.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (c.random() * ceiling) / 2);
}

/**
 * A unit's step threw outside any record (a record's throw is a dead letter, not this): a
 * sandbox that died, a host import that broke. The unit, not a record, cannot go on.
 */
export class UnitStepError extends Error {
  override name = 'UnitStepError';
  readonly unit: string;
  constructor(unit: string, cause: unknown) {
    super(`${unit}: a step failed outside any record: ${redactedMessage(cause)}`, { cause });
    this.unit = unit;
  }
}

/** A server away (PostgreSQL or NATS): worth waiting out. */
export function isTransientUnitError(err: unknown): boolean {
  return isRetryable(err) || err instanceof BusUnavailableError;
}

/** Why a unit is failing, in one line for `ssdk status` (no credentials: `redactedMessage`). */
export function failingReason(err: unknown): string {
  return redactedMessage(err).split('\n')[0]!.slice(0, 500);
}

/**
 * Runs `attempt` until it succeeds or its error is not `retryIf`'s or attempts run out; the unit
 * is `failing` (with the reason) in between. An abort while waiting throws the last error, so the
 * caller sees why the unit stopped, not that it was stopped.
 */
export async function retrying<T>(c: CompiledRestart, signal: AbortSignal, metrics: UnitMetrics, retryIf: (err: unknown) => boolean, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= c.maxAttempts || signal.aborted || !retryIf(err)) throw err;
      const delay = backoffDelay(c, n);
      metrics.failing(failingReason(err), delay);
      if (!(await wait(delay, signal))) throw err;
    }
  }
}

/** Sleeps `ms`; false when `signal` aborted first. */
function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
