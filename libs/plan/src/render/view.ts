/** What the graph renderers draw, derived once: topic nodes, operators grouped by service, edges. */
import type { PhysicalPlan, PlanEdge, PlanOperator, PlanTopic } from '../document.ts';

export interface GraphView {
  /** Topics drawn as nodes: user and schedule topics at an edge's end (internal topics label their edge). */
  topics: PlanTopic[];
  services: Array<{ name: string; operators: PlanOperator[] }>;
  edges: PlanEdge[];
}

export function graphView(plan: PhysicalPlan): GraphView {
  const ends = new Set(plan.edges.flatMap((e) => [e.from, e.to]).filter((x) => x.kind === 'topic').map((x) => x.id));
  const topics = plan.topics.filter((t) => ends.has(t.id) || t.kind === 'unused');
  const services: GraphView['services'] = [];
  for (const op of plan.operators) {
    const group = services.find((s) => s.name === op.service);
    if (group) group.operators.push(op);
    else services.push({ name: op.service, operators: [op] });
  }
  return { topics, services, edges: plan.edges };
}

/** One line per operator: its id and what it runs. */
export function operatorCaption(op: PlanOperator): string {
  if (op.branches) {
    const inBranch = new Set(op.branches.flatMap((b) => b.steps));
    const kinds = (ids: readonly string[]) => ids.map((id) => op.steps.find((s) => s.id === id)?.operator ?? id).join(' → ') || '—';
    const trunk = op.steps.filter((s) => !inBranch.has(s.id)).map((s) => s.id);
    return `${op.kind}: ${kinds(trunk)} → [${op.branches.map((b) => kinds(b.steps)).join(' | ')}]`;
  }
  if (op.kind === 'fused' || op.kind === 'window' || op.kind === 'join') return `${op.kind}: ${op.steps.map((s) => s.operator).join(' → ')}`;
  return op.kind;
}
