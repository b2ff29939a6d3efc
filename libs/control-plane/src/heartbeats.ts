/** Heartbeats: each operator process says it is alive, with its metrics, on `heartbeatSubject`. */
import type { UnitMetricsSnapshot } from '@ssdk/runtime';

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
