/**
 * The status line of a long `ssdk run --until-idle`: one line on stderr, redrawn in place a few
 * times a second — records/s, records in and out, the watermark of the window operators, dead
 * letters and late records — and erased before the run's summary. Only on a terminal (or with
 * `--progress`): piped output, which scripts and tests read, stays exactly as it is.
 */
import type { PhysicalPlan } from '@ssdk/plan';
import type { UnitMetricsSnapshot } from '@ssdk/runtime';
import type { CliIo } from './io.ts';

export interface ProgressSample {
  /** ms (any clock, the same for every sample). */
  at: number;
  metrics: readonly UnitMetricsSnapshot[];
}

/** Which operators read the dataflow's inputs and which write its outputs: their counts are "in" and "out". */
export interface ProgressScope {
  entries: ReadonlySet<string>;
  exits: ReadonlySet<string>;
}

export function progressScope(plan: PhysicalPlan): ProgressScope {
  const kind = new Map(plan.topics.map((t) => [t.id, t.kind]));
  const entries = new Set<string>();
  const exits = new Set<string>();
  for (const op of plan.operators) {
    if (op.inputs.some((i) => kind.get(i.topic) === 'source')) entries.add(op.id);
    if (op.outputs.some((t) => kind.get(t) === 'sink')) exits.add(op.id);
  }
  return { entries, exits };
}

/**
 * The status line for `now`; the rate is over the time since `previous` (the whole run when
 * there is none). Cut to `columns` so that it never wraps (a wrapped line cannot be redrawn).
 */
export function formatProgress(scope: ProgressScope, now: ProgressSample, previous?: ProgressSample, startedAt = 0, columns?: number): string {
  const recordsIn = (s: ProgressSample) => s.metrics.reduce((n, m) => n + (scope.entries.has(m.operator) ? m.recordsIn : 0), 0);
  const recordsOut = now.metrics.reduce((n, m) => n + (scope.exits.has(m.operator) ? m.recordsOut : 0), 0);
  const from = previous ?? { at: startedAt, metrics: [] };
  const seconds = (now.at - from.at) / 1000;
  const rate = seconds > 0 ? (recordsIn(now) - recordsIn(from)) / seconds : 0;
  const failed = now.metrics.reduce((n, m) => n + m.failed, 0);
  const late = now.metrics.reduce((n, m) => n + m.late, 0);
  const parts = [
    `${formatCount(Math.max(0, Math.round(rate)))} records/s`,
    `in ${formatCount(recordsIn(now))}`,
    `out ${formatCount(recordsOut)}`,
  ];
  const marks = now.metrics.flatMap((m) => (m.watermark === undefined ? [] : [m.watermark]));
  if (marks.length > 0) parts.push(`watermark ${formatWatermark(Math.min(...marks))}`);
  parts.push(`${formatCount(failed)} dead letter${failed === 1 ? '' : 's'}`);
  if (late > 0) parts.push(`${formatCount(late)} late`);
  parts.push(`${((now.at - startedAt) / 1000).toFixed(1)} s`);
  const line = parts.join(' · ');
  return columns !== undefined && columns > 1 && line.length >= columns ? `${line.slice(0, columns - 2)}…` : line;
}

function formatCount(n: number): string {
  return n.toLocaleString('en');
}

function formatWatermark(w: number): string {
  if (w === Number.POSITIVE_INFINITY) return 'end of input';
  if (!Number.isFinite(w)) return 'not yet';
  return Math.abs(w) < 8.64e15 ? new Date(w).toISOString().replace('.000Z', 'Z') : String(w);
}

/** On unless asked otherwise: `--progress` / `--no-progress`, else only when stderr is a terminal. */
export function progressWanted(values: Record<string, unknown>, io: CliIo): boolean {
  if (values['no-progress'] === true) return false;
  if (values['progress'] === true) return true;
  return io.terminal !== undefined;
}

export interface ProgressLine {
  /** Erases the line (before anything else is written to stderr). */
  stop(): void;
}

/** Draws the status line every `intervalMs` until stopped; nothing at all when not `enabled`. */
export function startProgress(
  io: CliIo,
  scope: ProgressScope,
  read: () => readonly UnitMetricsSnapshot[],
  o: { enabled: boolean; intervalMs?: number; now?: () => number },
): ProgressLine {
  if (!o.enabled) return { stop: () => undefined };
  const now = o.now ?? (() => performance.now());
  const startedAt = now();
  let previous: ProgressSample | undefined;
  let drawn = false;
  const draw = () => {
    const sample = { at: now(), metrics: read() };
    io.err(`\r${formatProgress(scope, sample, previous, startedAt, io.terminal?.columns())}\u001b[K`);
    previous = sample;
    drawn = true;
  };
  const timer = setInterval(draw, o.intervalMs ?? 250);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (drawn) io.err('\r\u001b[K');
      drawn = false;
    },
  };
}
