/**
 * Lever (a)'s first half (issue 15): in an embedded plan, which unit B reads a topic T that one
 * unit A alone writes and B alone reads, so that B's steps run in A's unit — in A's section, after
 * the branch that writes T, over copies of its records — with T still written; and, for every
 * other unit with one input, why not. Decided per pair, from the plan the embedded runtime is
 * given (`TopologyOptions.soleReaders`); the plan itself (`ssdk plan`, its hash) is not changed.
 *
 * Only the case whose semantics are simplest is `mergeable`: B a keyed chain with no outputs
 * after a branch of A that writes no state (car-sensors: speeding-counter after route-readings'
 * `is-speeding` branch). What users see stays B's (topology.ts `SoleReaderPart`, unit-task.ts
 * `takeInWithReaders`): its dead letters on its topic naming the record's place in T, a record's
 * work taken back per service, its state committed with A's at each cut, its metrics. Every
 * other shape is refused with its reason, the window case (word count's top-words) among them.
 */
import type { PhysicalPlan, PlanOperator } from '@ssdk/plan';

export interface SoleReaderDecision {
  /** The unit that would run in its writer's unit (B). */
  reader: string;
  /** B's one input topic (T). */
  topic: string;
  /** The one unit that writes T (A), when there is exactly one. */
  writer?: string;
  /** A's branch whose outputs include T, when A has branches. */
  route?: number;
  /** The shape B would take in A: a chain after A's branch. Absent: refused. */
  mergeable?: 'branch-tail';
  /** Why B stays a unit of its own. */
  refused?: string;
}

/**
 * For every unit with exactly one input topic: whether it may run in the unit that writes that
 * topic, or why not. Units with no input or several are not candidates and are not listed.
 */
export function soleReaderDecisions(plan: PhysicalPlan): SoleReaderDecision[] {
  const writers = new Map<string, PlanOperator[]>();
  const readers = new Map<string, PlanOperator[]>();
  for (const op of plan.operators) {
    for (const t of op.outputs) writers.set(t, [...(writers.get(t) ?? []), op]);
    for (const i of op.inputs) readers.set(i.topic, [...(readers.get(i.topic) ?? []), op]);
  }
  const topics = new Map(plan.topics.map((t) => [t.id, t]));
  const tablesOf = (op: PlanOperator) => new Set(op.states.map((s) => s.table));
  const out: SoleReaderDecision[] = [];
  for (const b of plan.operators) {
    if (b.inputs.length !== 1) continue;
    const t = b.inputs[0]!.topic;
    const ws = writers.get(t) ?? [];
    const d: SoleReaderDecision = { reader: b.id, topic: t, ...(ws.length === 1 ? { writer: ws[0]!.id } : {}) };
    const refuse = (reason: string) => out.push({ ...d, refused: reason });
    if (ws.length !== 1) {
      refuse(ws.length === 0 ? 'its topic is a source (no unit writes it)' : `its topic has ${ws.length} writers`);
      continue;
    }
    const a = ws[0]!;
    if (a.id === b.id) {
      refuse('it writes its own input');
      continue;
    }
    if ((readers.get(t) ?? []).length !== 1) {
      refuse(`its topic has ${(readers.get(t) ?? []).length} readers (a shared reader is the other half of the lever)`);
      continue;
    }
    if ((topics.get(t)?.partitions ?? 0) !== 1 || a.partitions !== 1 || b.partitions !== 1 || a.parallelism !== 1 || b.parallelism !== 1) {
      refuse('more than one partition or replica');
      continue;
    }
    if (topics.get(t)?.schedule !== undefined) {
      refuse('its topic is a schedule');
      continue;
    }
    if (b.window || b.join || b.kind === 'window' || b.kind === 'join') {
      refuse(b.window ? 'a window (the window case is not built)' : 'a join');
      continue;
    }
    if (b.kind === 'passthrough' || b.steps.length === 0) {
      refuse('a passthrough (nothing of its own to run)');
      continue;
    }
    if (b.branches || b.outputs.length > 0) {
      refuse('it has outputs (only a chain that writes state alone is built)');
      continue;
    }
    if (a.window || a.join) {
      refuse("its writer is a window or a join (T's records are its flushes or matches)");
      continue;
    }
    // A record's work is taken back per service: the reader's by undoing the unit's state to
    // before the message and running the reader's steps again; with a writer that writes no
    // state, that undoes the reader's changes alone.
    if (a.states.some((s) => s.access === 'read-write')) {
      refuse('its writer writes state (the reader\'s work could not be taken back alone)');
      continue;
    }
    if (b.steps.some((s) => s.operator === 'assign-timestamp')) {
      refuse('it assigns timestamps');
      continue;
    }
    const route = a.branches?.findIndex((br) => br.outputs.includes(t)) ?? -1;
    if (!a.branches || route < 0) {
      refuse('its writer has no branches (a chain writing T directly is not built)');
      continue;
    }
    if (a.branches[route]!.outputs.length !== 1 || a.branches.some((br, i) => i !== route && br.outputs.includes(t))) {
      refuse("T is not its writer's branch's only output");
      continue;
    }
    // Each reads the other's state as of the other's last batch when apart; in one unit, as of
    // the record before. A state name both use would be one state in one unit's memory.
    const aTables = tablesOf(a);
    const bTables = tablesOf(b);
    if ([...aTables].some((x) => bTables.has(x))) {
      refuse('it and its writer share a state');
      continue;
    }
    if (a.states.some((s) => b.states.some((r) => r.name === s.name))) {
      refuse('a state name both use');
      continue;
    }
    out.push({ ...d, route, mergeable: 'branch-tail' });
  }
  return out;
}
