import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from './metrics.ts';
import { operatorStatsOf, parsePrometheusText } from './prometheus-text.ts';

describe('metrics', () => {
  it('metrics - the endpoint binds 127.0.0.1 unless told, and its url is the address it really bound', async () => {
    const local = await MetricsRegistry.start({ serviceName: 'test', port: 0 });
    const everywhere = await MetricsRegistry.start({ serviceName: 'test', port: 0, host: '0.0.0.0' });
    try {
      expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(everywhere.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
      expect((await fetch(local.url!)).status).toBe(200);
    } finally {
      await local.close();
      await everywhere.close();
    }
  });

  it('metrics - a scrape reads the operators\' own counters, with lag, state rows and the latency histogram', async () => {
    const registry = await MetricsRegistry.start({ serviceName: 'test', port: 0, host: '127.0.0.1' });
    try {
      let recordsIn = 10;
      const unregister = registry.register({
        operator: 'svc.count',
        counters: () => ({ recordsIn, recordsOut: 4, failed: 1, late: 2, batches: 3, commits: 3, watermark: 1_700_000_000_000 }),
        lag: async () => 7,
        stateRows: () => 5,
      });
      registry.register({ operator: 'svc.end', counters: () => ({ recordsIn: 0, recordsOut: 0, failed: 0, late: 0, batches: 0, commits: 0, watermark: Infinity }) });
      registry.batchLatency('svc.count', 1.5);
      let text = await registry.scrape();
      expect(operatorStatsOf(parsePrometheusText(text)).find((s) => s.operator === 'svc.count')).toEqual({
        operator: 'svc.count', recordsIn: 10, recordsOut: 4, failed: 1, late: 2, batches: 3, commits: 3, watermark: 1_700_000_000_000, lag: 7, stateRows: 5,
      });
      expect(text).toContain('ssdk_batch_latency_ms_count{operator="svc.count"');
      // An infinite watermark (end of input) is no gauge value.
      expect(text).not.toMatch(/ssdk_watermark_ms\{operator="svc.end"/);
      recordsIn = 25;
      text = await registry.scrape();
      expect(operatorStatsOf(parsePrometheusText(text)).find((s) => s.operator === 'svc.count')!.recordsIn).toBe(25);
      unregister();
      expect((await registry.collect()).map((s) => s.operator)).toEqual(['svc.end']);
    } finally {
      await registry.close();
    }
  });

  it('metrics - an operator that cannot make progress: the failing gauge is 1 with the reason, 0 once it runs again; the dashboard reads both back', async () => {
    const registry = await MetricsRegistry.start({ serviceName: 'test', port: 0 });
    try {
      let state = 'failing';
      registry.register({
        operator: 'svc.count',
        counters: () => ({ state, ...(state === 'failing' ? { reason: 'PostgreSQL at 127.0.0.1:5432 is out of reach' } : {}), restarts: 4, recordsIn: 0, recordsOut: 0, failed: 0, late: 0, batches: 0, commits: 0 }),
      });
      let text = await registry.scrape();
      expect(text).toMatch(/^ssdk_operator_failing\{operator="svc.count",reason="PostgreSQL at 127.0.0.1:5432 is out of reach"[^}]*\} 1$/m);
      expect(text).toMatch(/^ssdk_restarts_total\{operator="svc.count"[^}]*\} 4$/m);
      expect(operatorStatsOf(parsePrometheusText(text))[0]).toMatchObject({ state: 'failing', reason: 'PostgreSQL at 127.0.0.1:5432 is out of reach', restarts: 4 });
      state = 'running';
      text = await registry.scrape();
      // The reason's series stays (an observable's series do), at 0: no stale 1 for an alert to fire on.
      expect(text).toMatch(/^ssdk_operator_failing\{operator="svc.count",reason="PostgreSQL at 127.0.0.1:5432 is out of reach"[^}]*\} 0$/m);
      expect(text).not.toMatch(/^ssdk_operator_failing\{.*\} 1$/m);
      expect(operatorStatsOf(parsePrometheusText(text))[0]!.state).toBeUndefined();
    } finally {
      await registry.close();
    }
  });

  it('metrics - a port in use is a clear error', async () => {
    const a = await MetricsRegistry.start({ serviceName: 'a', port: 0, host: '127.0.0.1' });
    try {
      const port = Number(new URL(a.url!).port);
      await expect(MetricsRegistry.start({ serviceName: 'b', port, host: '127.0.0.1' })).rejects.toThrow(`the metrics port ${port} is in use`);
    } finally {
      await a.close();
    }
  });

  it('prometheus text - labels with escapes, special values, comments', () => {
    const samples = parsePrometheusText('# HELP x y\nx_total{operator="a\\"b",k="v"} 3\ny +Inf\nz{a="1"} -Inf\n\n');
    expect(samples).toEqual([
      { name: 'x_total', labels: { operator: 'a"b', k: 'v' }, value: 3 },
      { name: 'y', labels: {}, value: Infinity },
      { name: 'z', labels: { a: '1' }, value: -Infinity },
    ]);
  });
});
