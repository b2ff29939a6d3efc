import { describe, expect, it } from 'vitest';
import { startDashboard } from './server.ts';
import type { DashboardSource } from './source.ts';

const source: DashboardSource = {
  title: 'ns/flow',
  mode: 'embedded',
  graph: { nodes: [{ id: 'a.b', kind: 'operator', label: 'a.b' }], edges: [] },
  states: ['totals'],
  operators: async () => [{ operator: 'a.b', recordsIn: 3, recordsOut: 2, failed: 1, late: 0, batches: 1, commits: 1, watermark: Infinity }],
  problems: async () => [{ topic: 'a.dead-letter', kind: 'dead-letter', service: 'a', count: 1, latest: [{ reason: 'bad <json>' }] }],
  lookup: async (state, key) => ({ state, key, found: key === 'k', ...(key === 'k' ? { value: 42 } : {}) }),
  logs: async () => [{ time: 1, operator: 'a.b', partition: 0, offset: 9, message: 'hi' }],
};

describe('dashboard server', () => {
  it('server - serves the page and the JSON it polls', async () => {
    const ui = await startDashboard({ source, jaegerUrl: 'http://j:16686/' });
    try {
      const page = await (await fetch(ui.url)).text();
      expect(page).toContain('<title>ssdk · ns/flow</title>');
      const overview = (await (await fetch(new URL('/api/overview', ui.url))).json()) as { svg: string; jaegerUrl: string; states: string[] };
      expect(overview.svg).toContain('data-operator="a.b"');
      expect(overview.jaegerUrl).toBe('http://j:16686');
      const metrics = (await (await fetch(new URL('/api/metrics', ui.url))).json()) as { operators: Array<{ watermark: unknown }>; problems: unknown[] };
      expect(metrics.operators[0]!.watermark).toBe('+Infinity');
      expect(metrics.problems).toHaveLength(1);
      expect(await (await fetch(new URL('/api/state?state=totals&key=k', ui.url))).json()).toEqual({ state: 'totals', key: 'k', found: true, value: 42 });
      const unknown = await fetch(new URL('/api/state?state=nope&key=k', ui.url));
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: string }).error).toBe('unknown state `nope`: this dataflow has totals');
      expect(((await (await fetch(new URL('/api/logs', ui.url))).json()) as { lines: unknown[] }).lines).toHaveLength(1);
      expect((await fetch(new URL('/nothing', ui.url))).status).toBe(404);
    } finally {
      await ui.close();
    }
  });
});
