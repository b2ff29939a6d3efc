/** The plan as a Graphviz digraph: user topics as cylinders, operators as boxes grouped by service. */
import type { PhysicalPlan, PlanEdge, PlanEdgeEndpoint } from '../document.ts';
import { formatMs } from '../duration.ts';
import { graphView, operatorCaption } from './view.ts';

export function renderPlanDot(plan: PhysicalPlan): string {
  const view = graphView(plan);
  const lines = [
    `digraph ${q(`${plan.dataflow.namespace}/${plan.dataflow.name}`)} {`,
    '  rankdir=LR;',
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const t of view.topics) {
    lines.push(`  ${q(nodeId({ kind: 'topic', id: t.id }))} [shape=cylinder, label=${q(`${t.id}\n${t.value.type}`)}];`);
  }
  view.services.forEach((s, i) => {
    lines.push(`  subgraph cluster_${i} {`, `    label=${q(s.name)};`, '    style=rounded;');
    for (const op of s.operators) {
      const label = `${op.id}\n${operatorCaption(op)}${op.window ? `\n${op.window.kind} ${formatMs(op.window.durationMs)}` : ''}`;
      lines.push(`    ${q(nodeId({ kind: 'operator', id: op.id }))} [shape=box, style=rounded, label=${q(label)}];`);
    }
    lines.push('  }');
  });
  for (const e of view.edges) lines.push(`  ${q(nodeId(e.from))} -> ${q(nodeId(e.to))} [${edgeAttributes(e)}];`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

function edgeAttributes(e: PlanEdge): string {
  switch (e.kind) {
    case 'shuffle':
      return `label="shuffle", style=bold`;
    case 'state-ref':
      return `label=${q(`state ${e.state ?? ''}`)}, style=dashed, arrowhead=open`;
    case 'forward':
      return 'label=""';
  }
}

function nodeId(x: PlanEdgeEndpoint): string {
  return `${x.kind}:${x.id}`;
}

/** A DOT string literal. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
