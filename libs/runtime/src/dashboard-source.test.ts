import { describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { renderGraphSvg } from '@ssdk/telemetry/dashboard';
import { planGraph } from './dashboard-source.ts';

const file = new URL('../../../examples/car-sensors/services.yaml', import.meta.url).pathname;

describe('dashboard graph', () => {
  it('dashboard - connectors are drawn as boxes beside the operators: a source into its topic, a sink out of it, live numbers by name', async () => {
    const { plan } = await planOrThrow(file, { partitions: 1 });
    const graph = planGraph(plan, [
      { name: 'car-readings-in', type: 'mqtt-source', topic: 'car-readings' },
      { name: 'speeding-events-out', type: 'sql-sink', topic: 'speeding-events' },
    ]);
    expect(graph.nodes).toContainEqual({ id: 'car-readings-in', kind: 'operator', label: 'car-readings-in', detail: 'connector · mqtt-source' });
    expect(graph.nodes).toContainEqual({ id: 'speeding-events-out', kind: 'operator', label: 'speeding-events-out', detail: 'connector · sql-sink' });
    expect(graph.edges).toContainEqual({ from: 'car-readings-in', to: 'topic:car-readings', kind: 'forward' });
    expect(graph.edges).toContainEqual({ from: 'topic:speeding-events', to: 'speeding-events-out', kind: 'forward' });
    // The page writes an operator's scraped numbers into the box with its name; a connector's are under its name.
    const svg = renderGraphSvg(graph);
    expect(svg).toContain('data-operator="car-readings-in"');
    expect(svg).toContain('data-operator="speeding-events-out"');
    // Without connectors, the graph is the plan's alone.
    expect(planGraph(plan).nodes.some((n) => n.id === 'car-readings-in')).toBe(false);
  });
});
