/**
 * Lever (a)'s first half (issue 15): in an embedded plan, which unit B reads a topic T that one
 * unit A alone writes and B alone reads, so that B's steps run in A's unit — in A's section, after
 * the branch that writes T, over copies of its records — with T still written; and, for every
 * other unit with one input, why not. Decided per pair, from the plan the embedded runtime is
 * given (`TopologyOptions.soleReaders`); the plan itself (`ssdk plan`, its hash) is not changed.
 *
 * Two shapes are `mergeable`: B a keyed chain with no outputs after a branch of A that writes no
 * state (`branch-tail`; car-sensors: speeding-counter after route-readings' `is-speeding` branch),
 * and B a tumbling or sliding window after A's chain (`window-after-chain`, `windowRefusal`; word
 * count: top-words after count-words). What users see stays B's (topology.ts `SoleReaderPart`,
 * unit-task.ts `takeInWithReaders`, `takeInWriter`): its dead letters on its topic naming the
 * record's place in T, a record's work taken back per service, its state (and a window's
 * progress) committed with A's at each cut, its metrics. Every other shape is refused with its reason.
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
  /**
   * The shape B would take in A: a chain after A's branch (`branch-tail`), or a window run after
   * A's chain in A's unit (`window-after-chain`). Absent: refused.
   */
  mergeable?: 'branch-tail' | 'window-after-chain';
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
    if (b.join || b.kind === 'join') {
      refuse('a join');
      continue;
    }
    if (b.window || b.kind === 'window') {
      const why = windowRefusal(plan, a, b, t, readers);
      if (why) refuse(why);
      else out.push({ ...d, mergeable: 'window-after-chain' });
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

/**
 * Why a window B may not run after its writer A's chain in A's unit (`window-after-chain`), or
 * undefined when it may: A a chain without branches whose one output is T, reading one channel;
 * B a tumbling or sliding window with keyed steps or a flush, whose outputs no unit reads. So
 * B's watermark is made by T's records as when it read T: T's one writer origin gives it no
 * in-band bound (progress.ts), an idleness timeout moves it by A's unit's quiet polls as by its
 * own unit's, and B forwards no progress of its own. A's records are a unit of work of A's, B's
 * window taken back with them when A's part of a message is refused (`OperatorLogic.rewind`):
 * the message runs again, as A's own unit runs it when A writes state — so A must.
 */
function windowRefusal(plan: PhysicalPlan, a: PlanOperator, b: PlanOperator, t: string, readers: ReadonlyMap<string, PlanOperator[]>): string | undefined {
  const w = b.window;
  if (!w || w.kind === 'session') return w ? 'a session window (only tumbling and sliding windows are built)' : 'a window unit without its window';
  if (!b.steps.some((s) => s.operator === 'update-state' || s.operator === 'flush')) return 'a window without keyed steps or a flush';
  if (b.outputs.some((o) => (readers.get(o) ?? []).length > 0)) return 'a unit reads its outputs (its progress to them is not built)';
  if (a.window || a.join || a.kind === 'passthrough' || a.steps.length === 0) return 'its writer is not a chain';
  if (a.branches) return 'its writer has branches (a window after a branch is not built)';
  if (a.outputs.length !== 1 || a.outputs[0] !== t) return 'its writer writes other topics';
  if (a.inputs.length !== 1) return 'its writer reads several topics (their in-band progress would bound the window)';
  // Its own unit drops a failed record's other outputs without running the message again when it
  // writes no state (no ctx.http call made twice); here the message runs again, the window with it.
  if (!a.states.some((s) => s.access === 'read-write')) return 'its writer writes no state (a failed record would run its message again)';
  const input = plan.topics.find((x) => x.id === a.inputs[0]!.topic);
  if (!input || input.partitions !== 1 || input.schedule !== undefined) return "its writer's input is not one partition of a topic";
  const aTables = new Set(a.states.map((s) => s.table));
  if (b.states.some((s) => aTables.has(s.table))) return 'it and its writer share a state';
  if (a.states.some((s) => b.states.some((r) => r.name === s.name))) return 'a state name both use';
  return undefined;
}
