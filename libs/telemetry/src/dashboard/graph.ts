/**
 * The dataflow graph as a picture: a layered layout (left to right, by longest path from the
 * sources, rows ordered by the mean row of their inputs) drawn as SVG. Operators are boxes,
 * topics rounded pills, states cylinders; a ref-state read is a dashed edge. Pure: data in,
 * markup out. Every operator box carries `data-operator` so the page can write live numbers in.
 */

export type GraphNodeKind = 'operator' | 'topic' | 'state';

export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
  label: string;
  /** A second line: the operator's kind, the topic's kind, the state's owner. */
  detail?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: 'forward' | 'shuffle' | 'state-write' | 'state-ref';
}

export interface DashboardGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface PlacedNode extends GraphNode {
  layer: number;
  row: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

const WIDTH: Record<GraphNodeKind, number> = { operator: 230, topic: 200, state: 170 };
const HEIGHT: Record<GraphNodeKind, number> = { operator: 74, topic: 40, state: 50 };
const GAP_X = 70;
const GAP_Y = 26;
const MARGIN = 20;

/** Layers by longest path over forward edges (state reads do not push a node right). */
export function layoutGraph(graph: DashboardGraph): { nodes: PlacedNode[]; width: number; height: number } {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const edges = graph.edges.filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to);
  const flow = edges.filter((e) => e.kind !== 'state-ref');
  const layer = new Map<string, number>(graph.nodes.map((n) => [n.id, 0]));
  // Longest path, bounded by the node count (a cycle cannot loop forever).
  for (let round = 0; round < graph.nodes.length; round++) {
    let moved = false;
    for (const e of flow) {
      const want = layer.get(e.from)! + 1;
      if (want > layer.get(e.to)! && want < graph.nodes.length) {
        layer.set(e.to, want);
        moved = true;
      }
    }
    if (!moved) break;
  }
  // A state read by operators but written by none sits one layer before its first reader.
  for (const n of graph.nodes) {
    if (n.kind !== 'state' || flow.some((e) => e.to === n.id)) continue;
    const readers = edges.filter((e) => e.from === n.id).map((e) => layer.get(e.to)!);
    if (readers.length) layer.set(n.id, Math.max(0, Math.min(...readers) - 1));
  }
  const layers: GraphNode[][] = [];
  for (const n of graph.nodes) (layers[layer.get(n.id)!] ??= []).push(n);
  const row = new Map<string, number>();
  layers.forEach((ns, l) => {
    if (l > 0) {
      const mean = (n: GraphNode) => {
        const ins = edges.filter((e) => e.to === n.id && row.has(e.from)).map((e) => row.get(e.from)!);
        return ins.length ? ins.reduce((a, b) => a + b, 0) / ins.length : Infinity;
      };
      ns.sort((a, b) => mean(a) - mean(b));
    }
    ns.forEach((n, i) => row.set(n.id, i));
  });
  const columnWidth = layers.map((ns) => Math.max(...ns.map((n) => WIDTH[n.kind])));
  const x: number[] = [];
  let at = MARGIN;
  for (let l = 0; l < layers.length; l++) {
    x[l] = at;
    at += (columnWidth[l] ?? 0) + GAP_X;
  }
  const placed: PlacedNode[] = [];
  let height = 0;
  layers.forEach((ns, l) => {
    let y = MARGIN;
    for (const n of ns) {
      const w = WIDTH[n.kind];
      const h = HEIGHT[n.kind];
      placed.push({ ...n, layer: l, row: row.get(n.id)!, x: x[l]! + (columnWidth[l]! - w) / 2, y, width: w, height: h });
      y += h + GAP_Y;
    }
    height = Math.max(height, y);
  });
  return { nodes: placed, width: at - GAP_X + MARGIN, height: height - GAP_Y + MARGIN };
}

export function renderGraphSvg(graph: DashboardGraph): string {
  const { nodes, width, height } = layoutGraph(graph);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" width="${Math.ceil(width)}" height="${Math.ceil(height)}" role="img" aria-label="dataflow graph">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>',
  );
  for (const e of graph.edges) {
    const a = byId.get(e.from);
    const b = byId.get(e.to);
    if (!a || !b) continue;
    const rightward = b.x > a.x;
    const x1 = rightward ? a.x + a.width : a.x + a.width / 2;
    const y1 = rightward ? a.y + a.height / 2 : a.y + a.height;
    const x2 = rightward ? b.x : b.x + b.width / 2;
    const y2 = rightward ? b.y + b.height / 2 : b.y;
    const mid = (x1 + x2) / 2;
    const d = rightward ? `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` : `M${x1},${y1} L${x2},${y2}`;
    parts.push(`<path class="edge ${e.kind}" d="${d}" marker-end="url(#arrow)" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><title>${esc(`${e.from} → ${e.to} (${e.kind})`)}</title></path>`);
  }
  for (const n of nodes) parts.push(renderNode(n));
  parts.push('</svg>');
  return parts.join('\n');
}

function renderNode(n: PlacedNode): string {
  const label = clip(n.label, n.kind === 'operator' ? 30 : 26);
  const detail = n.detail ? clip(n.detail, 32) : '';
  const cx = n.x + n.width / 2;
  if (n.kind === 'operator') {
    return [
      `<g class="node operator" data-operator="${esc(n.id)}" transform="translate(${n.x},${n.y})">`,
      `<title>${esc(n.id)}</title>`,
      `<rect width="${n.width}" height="${n.height}" rx="6"/>`,
      `<text x="10" y="18" class="label">${esc(label)}</text>`,
      `<text x="10" y="34" class="detail">${esc(detail)}</text>`,
      `<text x="10" y="52" class="live" data-field="rate">– rec/s</text>`,
      `<text x="10" y="66" class="live small" data-field="counts">in – · out –</text>`,
      `<circle class="status" cx="${n.width - 12}" cy="12" r="5"/>`,
      '</g>',
    ].join('');
  }
  if (n.kind === 'topic') {
    return [
      `<g class="node topic" data-topic="${esc(n.id)}" transform="translate(${n.x},${n.y})">`,
      `<title>${esc(`topic ${n.id}${n.detail ? ` (${n.detail})` : ''}`)}</title>`,
      `<rect width="${n.width}" height="${n.height}" rx="${n.height / 2}"/>`,
      `<text x="${n.width / 2}" y="17" text-anchor="middle" class="label">${esc(label)}</text>`,
      `<text x="${n.width / 2}" y="31" text-anchor="middle" class="detail">${esc(detail)}</text>`,
      '</g>',
    ].join('');
  }
  const ry = 7;
  return [
    `<g class="node state" data-state="${esc(n.id)}" transform="translate(${n.x},${n.y})">`,
    `<title>${esc(`state ${n.label}${n.detail ? ` (${n.detail})` : ''}`)}</title>`,
    `<path d="M0,${ry} a${n.width / 2},${ry} 0 0,0 ${n.width},0 a${n.width / 2},${ry} 0 0,0 -${n.width},0 v${n.height - 2 * ry} a${n.width / 2},${ry} 0 0,0 ${n.width},0 v-${n.height - 2 * ry}"/>`,
    `<text x="${cx - n.x}" y="${ry + 17}" text-anchor="middle" class="label">${esc(label)}</text>`,
    `<text x="${cx - n.x}" y="${ry + 31}" text-anchor="middle" class="detail">${esc(detail)}</text>`,
    '</g>',
  ].join('');
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
