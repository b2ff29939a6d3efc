/** The plan as a readable summary: topics, operators with inputs → outputs, edges, states. */
import type { PhysicalPlan, PlanEdgeEndpoint, PlanTopicPart } from '../document.ts';
import { formatMs } from '../duration.ts';
import { operatorCaption } from './view.ts';

export function renderPlanText(plan: PhysicalPlan): string {
  const d = plan.dataflow;
  const o = plan.options;
  const out: string[] = [
    `plan ${d.namespace}/${d.name}@${d.version} (apiVersion ${d.apiVersion}, ${d.dialect}) · plan v${plan.planVersion} · hash ${plan.hash.slice(0, 12)}`,
    `options: partitions ${o.partitions}, fuse ${o.fuse ? 'on' : 'off'}, subject prefix ${o.subjectPrefix}`,
    '',
    `topics (${plan.topics.length})`,
    ...columns(plan.topics.map((t) => [t.id, t.kind, `${t.key ? `key ${part(t.key)}, ` : ''}value ${part(t.value)}`, t.subject])),
    '',
    `operators (${plan.operators.length})`,
  ];
  for (const op of plan.operators) {
    const inputs = op.inputs.map((i) => (i.edge === 'shuffle' ? `${i.topic} (shuffle)` : i.topic)).join(', ') || '—';
    out.push(`  ${op.id}  [${operatorCaption(op)}]  ${inputs} → ${op.outputs.join(', ') || '—'}`);
    if (op.kind === 'fused' || op.kind === 'window' || op.kind === 'join') out.push(`    steps: ${op.steps.map((s) => s.id).join(', ')}`);
    for (const b of op.branches ?? []) out.push(`    branch: ${b.steps.join(', ') || '—'} → ${b.outputs.join(', ')}`);
    if (op.states.length > 0) out.push(`    states: ${op.states.map((s) => `${s.name} (${s.table}, ${s.access})`).join(', ')}`);
    if (op.window) {
      const w = op.window;
      const every = w.kind === 'sliding' && w.slideMs !== undefined ? ` every ${formatMs(w.slideMs)}` : w.offsetMs > 0 ? ` offset ${formatMs(w.offsetMs)}` : '';
      const length = w.kind === 'session' ? `gap ${formatMs(w.gapMs ?? w.durationMs)}` : formatMs(w.durationMs);
      out.push(`    window: ${w.kind} ${length}${every}, grace ${formatMs(w.watermark.gracePeriodMs)}`);
    }
    if (op.join) {
      const j = op.join;
      const how =
        j.kind === 'table'
          ? `table ${j.left} (ttl ${formatMs(j.ttlMs)}) ⋈ stream ${j.right}`
          : `interval ${j.left} ⋈ ${j.right} in [+${formatMs(j.lowerMs)}, +${formatMs(j.upperMs)}${j.until !== undefined ? ` or ${j.until}` : ''}]`;
      out.push(`    join: ${how}, grace ${formatMs(j.watermark.gracePeriodMs)}`);
    }
  }
  out.push('', `edges (${plan.edges.length})`);
  out.push(
    ...columns(
      plan.edges.map((e) => [
        endpoint(e.from),
        '→',
        endpoint(e.to),
        e.kind === 'state-ref' ? `state-ref ${e.state ?? ''}` : e.kind,
        e.topic !== undefined && e.from.kind === 'operator' && e.to.kind === 'operator' ? `via ${e.topic}` : '',
      ]),
    ),
  );
  out.push('', `states (${plan.states.length})`);
  out.push(...columns(plan.states.map((s) => [s.name, `owner ${s.owner}`, `table ${s.table}`, `${s.keyType} → ${s.valueType}`, s.windowed ? 'windowed' : ''])));
  return out.join('\n') + '\n';
}

function part(p: PlanTopicPart): string {
  return p.converter === 'json' ? p.type : `${p.type} (${p.converter})`;
}

function endpoint(x: PlanEdgeEndpoint): string {
  return x.kind === 'topic' ? `topic ${x.id}` : x.id;
}

/** Rows as aligned, indented columns (trailing blanks trimmed). */
function columns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
}
