/** The plan as a Mermaid flowchart: user topics as cylinders, operators grouped by service. */
import type { PhysicalPlan, PlanEdgeEndpoint } from '../document.ts';
import { graphView, operatorCaption } from './view.ts';

export function renderPlanMermaid(plan: PhysicalPlan): string {
  const view = graphView(plan);
  // Mermaid ids must be plain words; plan ids have dots and dashes.
  const ids = new Map<string, string>();
  const id = (x: PlanEdgeEndpoint): string => {
    const key = `${x.kind}:${x.id}`;
    let v = ids.get(key);
    if (v === undefined) {
      v = `${x.kind === 'topic' ? 't' : 'o'}${ids.size}`;
      ids.set(key, v);
    }
    return v;
  };
  const lines = ['flowchart LR'];
  for (const t of view.topics) lines.push(`  ${id({ kind: 'topic', id: t.id })}[(${label(`${t.id}<br/>${t.value.type}`)})]`);
  view.services.forEach((s, i) => {
    lines.push(`  subgraph s${i}[${label(s.name)}]`);
    for (const op of s.operators) lines.push(`    ${id({ kind: 'operator', id: op.id })}[${label(`${op.id}<br/>${operatorCaption(op)}`)}]`);
    lines.push('  end');
  });
  for (const e of view.edges) {
    const arrow = e.kind === 'shuffle' ? '==>|shuffle|' : e.kind === 'state-ref' ? `-.->|${label(`state ${e.state ?? ''}`)}|` : '-->';
    lines.push(`  ${id(e.from)} ${arrow} ${id(e.to)}`);
  }
  return lines.join('\n') + '\n';
}

/** A quoted Mermaid label; `"` and `<`/`>` of types (`list<string>`) become entities. */
function label(s: string): string {
  const escaped = s
    .replace(/"/g, '#quot;')
    .replace(/<(?!br\/>)/g, '#lt;')
    .replace(/(?<!<br\/)>/g, '#gt;');
  return `"${escaped}"`;
}
