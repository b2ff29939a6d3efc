/**
 * Per-operator numbers of a distributed stack, read from the operators' Prometheus endpoints
 * (`ssdk operator --metrics-port N`) as Prometheus itself would. Replicas of one operator each
 * serve their own counters: the dashboard adds them up (lag and state rows too — each replica
 * owns its partitions) and shows the lowest watermark.
 */
import { operatorStatsOf, parsePrometheusText, type OperatorStats } from '@ssdk/telemetry';

export interface ScrapeResult {
  operators: OperatorStats[];
  /** Endpoints that did not answer, with why. */
  failed: Array<{ url: string; error: string }>;
}

const SCRAPE_TIMEOUT_MS = 2_000;

export async function scrapeOperators(urls: readonly string[]): Promise<ScrapeResult> {
  const failed: ScrapeResult['failed'] = [];
  const all = await Promise.all(
    urls.map(async (url) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return operatorStatsOf(parsePrometheusText(await res.text()));
      } catch (err) {
        failed.push({ url, error: err instanceof Error ? err.message : String(err) });
        return [];
      }
    }),
  );
  return { operators: mergeReplicas(all.flat()), failed };
}

export function mergeReplicas(stats: readonly OperatorStats[]): OperatorStats[] {
  const byOperator = new Map<string, OperatorStats>();
  for (const s of stats) {
    const m = byOperator.get(s.operator);
    if (!m) {
      byOperator.set(s.operator, { ...s });
      continue;
    }
    m.recordsIn += s.recordsIn;
    m.recordsOut += s.recordsOut;
    m.failed += s.failed;
    m.late += s.late;
    m.batches += s.batches;
    m.commits += s.commits;
    if (s.lag !== undefined) m.lag = (m.lag ?? 0) + s.lag;
    if (s.stateRows !== undefined) m.stateRows = (m.stateRows ?? 0) + s.stateRows;
    if (s.watermark !== undefined) m.watermark = m.watermark === undefined ? s.watermark : Math.min(m.watermark, s.watermark);
  }
  return [...byOperator.values()];
}
