import { describe, expect, it } from 'vitest';
import { layoutGraph, renderGraphSvg, type DashboardGraph } from './graph.ts';

const graph: DashboardGraph = {
  nodes: [
    { id: 'topic:in', kind: 'topic', label: 'in' },
    { id: 'a.split', kind: 'operator', label: 'a.split', detail: 'flat-map' },
    { id: 'a.count', kind: 'operator', label: 'a.count', detail: 'update-state' },
    { id: 'state:totals', kind: 'state', label: 'totals' },
    { id: 'b.lookup', kind: 'operator', label: 'b.lookup <x>' },
    { id: 'topic:out', kind: 'topic', label: 'out' },
  ],
  edges: [
    { from: 'topic:in', to: 'a.split', kind: 'forward' },
    { from: 'a.split', to: 'a.count', kind: 'shuffle' },
    { from: 'a.count', to: 'state:totals', kind: 'state-write' },
    { from: 'state:totals', to: 'b.lookup', kind: 'state-ref' },
    { from: 'topic:in', to: 'b.lookup', kind: 'forward' },
    { from: 'b.lookup', to: 'topic:out', kind: 'forward' },
  ],
};

describe('dashboard graph', () => {
  it('graph - layers follow the flow; a state read does not push its reader right', () => {
    const { nodes } = layoutGraph(graph);
    const layer = Object.fromEntries(nodes.map((n) => [n.id, n.layer]));
    expect(layer).toEqual({ 'topic:in': 0, 'a.split': 1, 'a.count': 2, 'state:totals': 3, 'b.lookup': 1, 'topic:out': 2 });
    // No two nodes overlap.
    for (const a of nodes) for (const b of nodes) if (a !== b) expect(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y).toBe(true);
  });

  it('graph - the SVG has a box per operator with live fields, escaped labels, dashed ref edges', () => {
    const svg = renderGraphSvg(graph);
    expect(svg.match(/data-operator="/g)).toHaveLength(3);
    expect(svg).toContain('data-field="rate"');
    expect(svg).toContain('b.lookup &lt;x&gt;');
    expect(svg).toMatch(/class="edge state-ref"/);
  });

  it('graph - a cycle does not hang the layout', () => {
    const { nodes } = layoutGraph({ nodes: [{ id: 'x', kind: 'operator', label: 'x' }, { id: 'y', kind: 'operator', label: 'y' }], edges: [{ from: 'x', to: 'y', kind: 'forward' }, { from: 'y', to: 'x', kind: 'forward' }] });
    expect(nodes).toHaveLength(2);
  });
});
