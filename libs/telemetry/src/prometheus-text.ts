/**
 * Reads the Prometheus text exposition format (what `/metrics` serves) back into samples, and
 * the ssdk operator metrics into per-operator stats: the distributed dashboard and the tests
 * read operators through their scrape endpoints, as Prometheus would.
 */
import type { OperatorStats } from './metrics.ts';

export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheusText(text: string): PrometheusSample[] {
  const out: PrometheusSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

const COUNTERS: Record<string, keyof OperatorStats> = {
  ssdk_records_in_total: 'recordsIn',
  ssdk_records_out_total: 'recordsOut',
  ssdk_records_failed_total: 'failed',
  ssdk_records_late_total: 'late',
  ssdk_batches_total: 'batches',
  ssdk_commits_total: 'commits',
  ssdk_retries_total: 'retries',
  ssdk_restarts_total: 'restarts',
  ssdk_watermark_ms: 'watermark',
  ssdk_consumer_lag: 'lag',
  ssdk_state_rows: 'stateRows',
};

/** Per-operator stats from scraped samples (the `operator` label). */
export function operatorStatsOf(samples: readonly PrometheusSample[]): OperatorStats[] {
  const byOperator = new Map<string, OperatorStats>();
  for (const s of samples) {
    const field = COUNTERS[s.name];
    const operator = s.labels['operator'];
    const failing = s.name === 'ssdk_operator_failing';
    if ((!field && !failing) || operator === undefined) continue;
    let stats = byOperator.get(operator);
    if (!stats) byOperator.set(operator, (stats = { operator, recordsIn: 0, recordsOut: 0, failed: 0, late: 0, batches: 0, commits: 0 }));
    if (failing) {
      // The scrape says only whether it is failing; a well operator's state is for its heartbeat to say.
      if (s.value === 1) {
        stats.state = 'failing';
        if (s.labels['reason'] !== undefined) stats.reason = s.labels['reason'];
      }
      // (a reason's series at 0 is a failure that passed)
    } else (stats as unknown as Record<string, number>)[field!] = s.value;
  }
  return [...byOperator.values()];
}
