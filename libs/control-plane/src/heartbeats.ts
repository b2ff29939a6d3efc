/**
 * Heartbeats: each operator process says it is alive, with its metrics, on `heartbeatSubject`;
 * and its events on `lifecycleSubject`, as they happen: each change of its unit's state
 * (`LifecycleEvent`) and of the partitions it holds or reads (`PartitionsEvent`).
 */
import type { PartitionEvent, UnitMetricsSnapshot, UnitState } from '@ssdk/runtime';

/** What every event of an operator process says: whose it is. */
interface OperatorEventSource {
  dataflow: string;
  operator: string;
  /** The process incarnation, as in its heartbeats. */
  process: string;
  pid: number;
  at: number;
}

/** One change of an operator process's state (`UnitState`), published when it happens. */
export interface LifecycleEvent extends OperatorEventSource {
  kind: 'state';
  state: UnitState;
  /** The state before. */
  from: UnitState;
  /** Why, for `failing` and `failed` (the error, redacted). */
  reason?: string;
}

/** One change of the partitions a replica of the operator holds or reads (`PartitionEvent`: taken, released, lost, fenced, rebalanced). */
export interface PartitionsEvent extends OperatorEventSource, PartitionEvent {}

/** What an operator process publishes on `<prefix>.lifecycle`; `kind` tells which. */
export type OperatorEvent = LifecycleEvent | PartitionsEvent;

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
