/**
 * Per-operator counters: records in/out/failed/late, batches, commits, batch latency
 * percentiles and the watermark. Plain numbers here; the telemetry lib exports them.
 */
/**
 * A unit's lifecycle, the one type every layer uses (metrics, heartbeats, lifecycle events,
 * `ssdk status`): `starting` (connecting, migrating, taking partitions) → `running` → `stopping`
 * (asked to stop: the batch in hand is committed) → `stopped`; `ended` once every input ended;
 * `failed` when it gave up. `failing`: the unit cannot make progress (a step throwing outside any
 * record, a server away) and is waiting to try again (failing.ts); `reason` says why. Back to
 * `running` once it commits a batch or finds its inputs quiet.
 */
export type UnitState = 'starting' | 'running' | 'failing' | 'stopping' | 'ended' | 'stopped' | 'failed';

/**
 * A change of the input partitions a replica holds or reads (replica.ts), told as it happens —
 * typed, so tests and tools observe them instead of matching log lines:
 * - `taken`: it got the leases of `partitions` (at start, or taking over a dead or leaving replica's);
 * - `released`: it gave them up (they move to another replica, or it stops gracefully);
 * - `lost`: their leases were not renewed in time and another replica may hold them now;
 * - `fenced`: a commit over them was refused (another replica holds a newer lease epoch);
 * - `rebalanced`: the division settled and it reads `partitions` from now on (`reason`: why the
 *   previous set ended; `started` for the first).
 */
export type PartitionEventKind = 'taken' | 'released' | 'lost' | 'fenced' | 'rebalanced';

export interface PartitionEvent {
  kind: PartitionEventKind;
  /** The replica (its lease owner id). */
  member: string;
  /** Ascending. */
  partitions: number[];
  /** The unit's input partitions in all. */
  of: number;
  reason?: string;
}

export interface UnitMetricsSnapshot {
  operator: string;
  state: UnitState;
  recordsIn: number;
  recordsOut: number;
  failed: number;
  late: number;
  batches: number;
  commits: number;
  /** Attempts that failed and were tried again (failing.ts). */
  restarts?: number;
  /** Why the unit is `failing` (or `failed`). */
  reason?: string;
  /** When a failing unit tries again, epoch ms. */
  retryAt?: number;
  watermark?: number;
  batchLatencyMs: { p50: number; p99: number; max: number };
}

export class UnitMetrics {
  readonly operator: string;
  private s: UnitState = 'starting';
  private inCount = 0;
  private outCount = 0;
  private failedCount = 0;
  private lateCount = 0;
  private batches = 0;
  private commits = 0;
  private restarts = 0;
  private why: string | undefined;
  private retryAt: number | undefined;
  private wm: number | undefined;
  private readonly offsets = new Map<string, number>();
  // A ring of recent batch latencies: percentiles over the last 1024 batches.
  private readonly latencies = new Float64Array(1024);
  private latencyCount = 0;
  private latencyListener: ((ms: number) => void) | undefined;
  private readonly stateListeners = new Set<(s: UnitState, reason?: string) => void>();
  private readonly partitionListeners = new Set<(e: PartitionEvent) => void>();

  constructor(operator: string) {
    this.operator = operator;
  }

  /** A failing unit stays `failing` until it makes progress (`recovered`), whatever restarts it. */
  setState(s: UnitState): void {
    if (s === 'running' && this.s === 'failing') return;
    if (s !== 'failed') this.why = undefined;
    this.change(s);
  }
  /** The unit cannot go on for `reason` and tries again in `retryInMs`. */
  failing(reason: string, retryInMs?: number): void {
    this.restarts++;
    this.why = reason;
    this.retryAt = retryInMs === undefined ? undefined : Date.now() + retryInMs;
    this.change('failing');
  }
  /** It failed for good (the task ended with `reason`). */
  failed(reason: string): void {
    this.why = reason;
    this.change('failed');
  }
  /** It made progress: a failing unit is running again. */
  recovered(): void {
    if (this.s !== 'failing') return;
    this.why = undefined;
    this.change('running');
  }
  get state(): UnitState {
    return this.s;
  }
  /** Called on every change of state, with the reason of a `failing` or `failed` (lifecycle events); returns the unsubscribe. */
  onState(listener: (s: UnitState, reason?: string) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }
  /** Called on every change of the partitions a replica holds or reads (`PartitionEvent`); returns the unsubscribe. */
  onPartitions(listener: (e: PartitionEvent) => void): () => void {
    this.partitionListeners.add(listener);
    return () => this.partitionListeners.delete(listener);
  }
  /** The replica tells a change of its partitions (nothing when `partitions` is empty and the kind is not `rebalanced`). */
  partitions(e: PartitionEvent): void {
    if (e.partitions.length === 0 && e.kind !== 'rebalanced') return;
    const told = { ...e, partitions: [...e.partitions].sort((a, b) => a - b) };
    for (const listener of this.partitionListeners) listener(told);
  }
  private change(s: UnitState): void {
    if (s === this.s) return;
    this.s = s;
    for (const listener of this.stateListeners) listener(s, this.why);
  }
  recordsIn(n: number): void {
    this.inCount += n;
  }
  recordsOut(n: number): void {
    this.outCount += n;
  }
  deadLettered(n: number): void {
    this.failedCount += n;
  }
  late(n: number): void {
    this.lateCount += n;
  }
  /** A checkpoint was committed with these read positions. */
  commit(offsets: ReadonlyMap<string, number>): void {
    this.commits++;
    this.recovered();
    for (const [ch, seq] of offsets) this.offsets.set(ch, seq);
  }
  /** The committed read position of a channel. */
  offset(channel: string): number | undefined {
    return this.offsets.get(channel);
  }
  watermark(w: number | undefined): void {
    if (w !== undefined) this.wm = w;
  }
  batchLatency(ms: number): void {
    this.batches++;
    this.latencies[this.latencyCount++ % this.latencies.length] = ms;
    this.latencyListener?.(ms);
  }
  /** Also hands every batch latency to `listener` (the metrics exporter's histogram). */
  onBatchLatency(listener: ((ms: number) => void) | undefined): void {
    this.latencyListener = listener;
  }

  snapshot(): UnitMetricsSnapshot {
    const n = Math.min(this.latencyCount, this.latencies.length);
    const sorted = Array.from(this.latencies.subarray(0, n)).sort((a, b) => a - b);
    const pct = (p: number) => (n === 0 ? 0 : round(sorted[Math.min(n - 1, Math.floor(p * n))]!));
    return {
      operator: this.operator,
      state: this.s,
      recordsIn: this.inCount,
      recordsOut: this.outCount,
      failed: this.failedCount,
      late: this.lateCount,
      batches: this.batches,
      commits: this.commits,
      restarts: this.restarts,
      ...(this.why !== undefined ? { reason: this.why } : {}),
      ...(this.s === 'failing' && this.retryAt !== undefined ? { retryAt: this.retryAt } : {}),
      ...(this.wm !== undefined ? { watermark: this.wm } : {}),
      batchLatencyMs: { p50: pct(0.5), p99: pct(0.99), max: n === 0 ? 0 : round(sorted[n - 1]!) },
    };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
