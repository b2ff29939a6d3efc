/**
 * Connector processes serve the operators' Prometheus series under `operator="<connector>"`
 * (`ssdk connector run --metrics-port`): records in and out, dead letters, retries, and a
 * sink's lag — read here by scraping, as Prometheus and the dashboard do.
 */
import { describe, expect, it } from 'vitest';
import { encodeRecords } from '@ssdk/records';
import { freePort, uniqueName, until } from '@ssdk/testing';
import { ConnectorProcess, natsSuite } from './connectors.testkit.ts';

const suite = natsSuite('metrics-test');

/** `name{operator="x"} value` samples of one endpoint, by metric name. */
async function scrape(port: number, operator: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(ssdk_\w+)\{([^}]*)\} (\S+)$/gm)) if (m[2]!.includes(`operator="${operator}"`)) out[m[1]!] = Number(m[3]);
  return out;
}

describe('connector metrics', () => {
  it('connector metrics - a webhook counts records in, out and dead-lettered; a sink whose endpoint is down counts retries and lag', async () => {
    const name = uniqueName('metered').replace(/_/g, '-');
    const hookPort = await freePort();
    const sourceMetrics = await freePort();
    const sinkMetrics = await freePort();
    const source = new ConnectorProcess(suite.box.write(`${name}-in.yaml`, `meta: {version: latest, name: ${name}-in, type: http-source, topic: ${name}}
http: {mode: webhook, listen: "127.0.0.1:${hookPort}", split: lines, output_type: json}
`), suite.nats, {}, ['--metrics-port', String(sourceMetrics)]);
    // Nothing listens on the sink's endpoint: every delivery fails and is retried.
    const deadPort = await freePort();
    const sink = new ConnectorProcess(suite.box.write(`${name}-out.yaml`, `meta: {version: latest, name: ${name}-out, type: http-sink, topic: ${name}-backlog}
http: {endpoint: "http://127.0.0.1:${deadPort}/x", backoff_min: 50ms, backoff_max: 200ms}
`), suite.nats, {}, ['--metrics-port', String(sinkMetrics)]);
    await suite.bus.ensureTopic({ name: `${name}-backlog`, partitions: 1 });
    for (let i = 0; i < 5; i++) await suite.bus.publish(`${name}-backlog`, 0, [{ data: encodeRecords([{ key: null, value: JSON.stringify({ i }), timestamp: i }]) }]);
    source.start();
    sink.start();
    try {
      await source.waitFor('webhook listening');
      await source.waitFor(`metrics at http://127.0.0.1:${sourceMetrics}/metrics`);
      const res = await fetch(`http://127.0.0.1:${hookPort}/`, { method: 'POST', body: '{"a":1}\n{"a":2}\nnot json\n{"a":3}\n' });
      expect(await res.json()).toMatchObject({ accepted: 3, deadLettered: 1 });
      expect(await scrape(sourceMetrics, `${name}-in`)).toMatchObject({ ssdk_records_in_total: 4, ssdk_records_out_total: 3, ssdk_records_failed_total: 1, ssdk_retries_total: 0 });

      await sink.waitFor(`metrics at http://127.0.0.1:${sinkMetrics}/metrics`);
      await until('the sink retrying', async () => ((await scrape(sinkMetrics, `${name}-out`))['ssdk_retries_total'] ?? 0) >= 2, 30_000, () => sink.output.slice(-1500));
      expect(await scrape(sinkMetrics, `${name}-out`)).toMatchObject({ ssdk_records_out_total: 0, ssdk_consumer_lag: 5 });
    } finally {
      expect(await source.stop()).toBe(0);
      expect(await sink.stop()).toBe(0);
    }
  }, 120_000);
});
