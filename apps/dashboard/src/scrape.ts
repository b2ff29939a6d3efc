/**
 * Per-operator numbers of a distributed stack, read from the operators' Prometheus endpoints
 * (`ssdk operator --metrics-port N`) as Prometheus itself would. Replicas of one operator each
 * serve their own counters: the dashboard adds them up (lag and state rows too — each replica
 * owns its partitions) and shows the lowest watermark. A target whose host name resolves to
 * several addresses is every one of them: in a compose stack, `--scale op=3` puts three
 * containers behind the service name `op`, each with its own metrics endpoint (Prometheus'
 * DNS service discovery does the same).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { operatorStatsOf, parsePrometheusText, type OperatorStats } from '@ssdk/telemetry';

export interface ScrapeResult {
  operators: OperatorStats[];
  /** Endpoints that did not answer, with why. */
  failed: Array<{ url: string; error: string }>;
}

const SCRAPE_TIMEOUT_MS = 2_000;

/** A host name's IPv4 addresses (compose's DNS answers A records, one per replica). */
export type ResolveAll = (host: string) => Promise<string[]>;
const resolveAll: ResolveAll = async (host) => (await lookup(host, { all: true, family: 4 })).map((a) => a.address);

/** Each target, or, when its host name stands for several addresses, one target per address. */
async function expandReplicas(urls: readonly string[], resolve: ResolveAll): Promise<string[]> {
  const out = await Promise.all(
    urls.map(async (url) => {
      const u = new URL(url);
      if (isIP(u.hostname)) return [url];
      const addresses = await resolve(u.hostname).catch(() => []);
      if (addresses.length < 2) return [url];
      return addresses.map((a) => Object.assign(new URL(url), { hostname: a }).toString());
    }),
  );
  return out.flat();
}

export async function scrapeOperators(urls: readonly string[], resolve: ResolveAll = resolveAll): Promise<ScrapeResult> {
  const failed: ScrapeResult['failed'] = [];
  const all = await Promise.all(
    (await expandReplicas(urls, resolve)).map(async (url) => {
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
