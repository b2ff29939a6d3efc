/**
 * Per-operator counters: records in/out/failed/late, batches, commits, batch latency
 * percentiles and the watermark. Plain numbers here; the telemetry lib exports them.
 */
export type UnitState = 'starting' | 'running' | 'ended' | 'stopped' | 'failed';

export interface UnitMetricsSnapshot {
  operator: string;
  state: UnitState;
  recordsIn: number;
  recordsOut: number;
  failed: number;
  late: number;
  batches: number;
  commits: number;
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
  private wm: number | undefined;
  private readonly offsets = new Map<string, number>();
  // A ring of recent batch latencies: percentiles over the last 1024 batches.
  private readonly latencies = new Float64Array(1024);
  private latencyCount = 0;
  private latencyListener: ((ms: number) => void) | undefined;

  constructor(operator: string) {
    this.operator = operator;
  }

  setState(s: UnitState): void {
    this.s = s;
  }
  recordsIn(n: number): void {
    this.inCount += n;
  }
  recordsOut(n: number): void {
    this.outCount += n;
  }
  failed(n: number): void {
    this.failedCount += n;
  }
  late(n: number): void {
    this.lateCount += n;
  }
  /** A checkpoint was committed with these read positions. */
  commit(offsets: ReadonlyMap<string, number>): void {
    this.commits++;
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
      ...(this.wm !== undefined ? { watermark: this.wm } : {}),
      batchLatencyMs: { p50: pct(0.5), p99: pct(0.99), max: n === 0 ? 0 : round(sorted[n - 1]!) },
    };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
