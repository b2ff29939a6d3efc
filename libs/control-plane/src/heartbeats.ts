/**
 * Heartbeats: each operator process says it is alive, with its metrics, on `heartbeatSubject`;
 * and lifecycle events: each change of its unit's state, as it happens, on `lifecycleSubject`.
 */
import type { UnitMetricsSnapshot, UnitState } from '@ssdk/runtime';

/** One change of an operator process's state (`UnitState`), published when it happens. */
export interface LifecycleEvent {
  dataflow: string;
  operator: string;
  /** The process incarnation, as in its heartbeats. */
  process: string;
  state: UnitState;
  /** The state before. */
  from: UnitState;
  /** Why, for `failing` and `failed` (the error, redacted). */
  reason?: string;
  at: number;
}

export interface Heartbeat {
  dataflow: string;
  operator: string;
  /** Unique per process incarnation. */
  process: string;
  pid: number;
  host: string;
  startedAt: number;
  sentAt: number;
  intervalMs: number;
  /** The last heartbeat of a process that is stopping: it is not alive any more. */
  final?: boolean;
  /** A deployed version this process will not run (`PlanNotTrustedError`), and why. */
  refused?: { version: number; reason: string };
  metrics?: UnitMetricsSnapshot;
}

/** Sends `beat()` now and every `intervalMs` until the returned stop function is called (once more then). */
export function startHeartbeat(publish: (hb: Heartbeat) => void, beat: () => Omit<Heartbeat, 'sentAt' | 'intervalMs'>, intervalMs = 2_000): () => void {
  const send = (final: boolean) => publish({ ...beat(), sentAt: Date.now(), intervalMs, ...(final ? { final } : {}) });
  send(false);
  const timer = setInterval(() => send(false), intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    send(true);
  };
}
