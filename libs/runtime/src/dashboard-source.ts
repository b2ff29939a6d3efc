/**
 * The dashboard's data from a running dataflow, the same for both runtimes: the graph from the
 * plan, per-operator numbers from a metrics collector (the in-process registry, or scraped
 * endpoints), the latest dead letters and late events read off their topics on the bus, and
 * state keys looked up in the committed state.
 */
import type { Bus } from '@ssdk/bus';
import { MemoryState, type Key } from '@ssdk/engine';
import type { PhysicalPlan, PlanState } from '@ssdk/plan';
import { decodeFrame } from '@ssdk/records';
import type { StateKey, StateStore } from '@ssdk/state';
import type { OperatorStats } from '@ssdk/telemetry';
import type { DashboardGraph, DashboardLogLine, DashboardSource, GraphEdge, GraphNode, ProblemTopic, StateLookup } from '@ssdk/telemetry/dashboard';
import type { CheckpointStore } from './checkpoint.ts';

export interface RuntimeDashboardOptions {
  plan: PhysicalPlan;
  mode: 'embedded' | 'distributed';
  bus: Bus;
  operators(): Promise<OperatorStats[]>;
  /** Committed state by key (PostgreSQL, PGlite). */
  store?: StateStore;
  /** Committed state read whole, when there is no store (in-memory state). */
  checkpoints?: CheckpointStore;
  logs?(limit: number): Promise<DashboardLogLine[]>;
  /** The connectors feeding or draining the dataflow's topics (inline ones), drawn beside the operators. */
  connectors?: readonly GraphConnector[];
}

/** A connector as the graph draws it: its metrics come under its name, like an operator's. */
export interface GraphConnector {
  name: string;
  /** `mqtt-source`, `sql-sink`, …: a `-source` writes its topic, a `-sink` reads it. */
  type: string;
  topic: string;
}

/** Reasons shown per problem topic. */
const LATEST = 5;

export function runtimeDashboardSource(o: RuntimeDashboardOptions): DashboardSource {
  const { plan } = o;
  const latest = new Map<string, { seqs: number[]; rows: ProblemTopic['latest'] }>();
  return {
    title: `${plan.dataflow.namespace}/${plan.dataflow.name}`,
    mode: o.mode,
    graph: planGraph(plan, o.connectors),
    states: plan.states.map((s) => s.name),
    operators: () => o.operators(),
    async problems() {
      const stats = await o.operators();
      const out: ProblemTopic[] = [];
      for (const t of plan.topics) {
        if (t.kind !== 'dead-letter' && t.kind !== 'late-events') continue;
        const service = t.service ?? t.id.slice(0, t.id.lastIndexOf('.'));
        const ops = plan.operators.filter((op) => (t.kind === 'dead-letter' ? op.deadLetter : op.lateEvents) === t.id).map((op) => op.id);
        const count = stats.filter((s) => ops.includes(s.operator)).reduce((n, s) => n + (t.kind === 'dead-letter' ? s.failed : s.late), 0);
        out.push({ topic: t.id, kind: t.kind, service, count, latest: count > 0 ? await latestReasons(o.bus, t.name, t.partitions, latest) : [] });
      }
      return out;
    },
    async lookup(name, keyText) {
      const state = plan.states.find((s) => s.name === name)!;
      const key = typedKey(state, keyText);
      if (o.store) return lookupInStore(o.store, state, keyText, key);
      const cache = new MemoryState();
      await o.checkpoints?.loadState('', [{ name: state.name, table: state.table, access: 'read' }], cache);
      return lookupInCache(cache, state, keyText, key);
    },
    ...(o.logs ? { logs: o.logs } : {}),
  };
}

/**
 * Operators, the user's topics and states as nodes. Internal topics between two units are
 * drawn as one edge (forward or shuffle); dead-letter and late-events topics are left out
 * (the dashboard lists them); a ref-state read is a dashed edge from the state.
 */
export function planGraph(plan: PhysicalPlan, connectors: readonly GraphConnector[] = []): DashboardGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const shown = new Set(plan.topics.filter((t) => t.kind === 'source' || t.kind === 'sink' || t.kind === 'intermediate' || t.kind === 'schedule').map((t) => t.id));
  const topicNode = (id: string) => `topic:${id}`;
  const stateNode = (name: string) => `state:${name}`;
  for (const t of plan.topics) if (shown.has(t.id)) nodes.push({ id: topicNode(t.id), kind: 'topic', label: t.id, detail: `${t.kind} · ${t.partitions} partition${t.partitions === 1 ? '' : 's'}` });
  for (const op of plan.operators) {
    const kinds = op.steps.map((s) => s.operator).join(' → ');
    nodes.push({ id: op.id, kind: 'operator', label: op.id, detail: op.window ? `window ${op.window.kind} · ${kinds}` : kinds });
  }
  for (const s of plan.states) nodes.push({ id: stateNode(s.name), kind: 'state', label: s.name, detail: `${s.windowed ? 'window state' : 'state'} of ${s.owner}` });
  const writers = new Map<string, string[]>();
  for (const op of plan.operators) for (const o of op.outputs) (writers.get(o) ?? writers.set(o, []).get(o)!).push(op.id);
  for (const op of plan.operators) {
    for (const input of op.inputs) {
      if (shown.has(input.topic)) edges.push({ from: topicNode(input.topic), to: op.id, kind: input.edge });
      else for (const w of writers.get(input.topic) ?? []) edges.push({ from: w, to: op.id, kind: input.edge });
    }
    for (const out of op.outputs) if (shown.has(out)) edges.push({ from: op.id, to: topicNode(out), kind: 'forward' });
    for (const s of op.states) if (s.access === 'read-write') edges.push({ from: op.id, to: stateNode(s.name), kind: 'state-write' });
  }
  for (const e of plan.edges) {
    if (e.kind === 'state-ref' && e.state) edges.push({ from: stateNode(e.state), to: e.to.id, kind: 'state-ref' });
  }
  // Connectors are boxes like operators, under their own names: a connector process serves its
  // numbers as `operator="<connector>"`, so the page writes them in as it does an operator's.
  for (const c of connectors) {
    if (!shown.has(c.topic)) continue;
    nodes.push({ id: c.name, kind: 'operator', label: c.name, detail: `connector · ${c.type}` });
    edges.push(c.type.endsWith('-source') ? { from: c.name, to: topicNode(c.topic), kind: 'forward' } : { from: topicNode(c.topic), to: c.name, kind: 'forward' });
  }
  return { nodes, edges };
}

/** The last records of a problem topic's partitions, newest first; re-read only when a partition grew. */
async function latestReasons(bus: Bus, topic: string, partitions: number, cache: Map<string, { seqs: number[]; rows: ProblemTopic['latest'] }>): Promise<ProblemTopic['latest']> {
  const seqs: number[] = [];
  for (let p = 0; p < partitions; p++) seqs.push(await bus.lastSeq(topic, p));
  const known = cache.get(topic);
  if (known && known.seqs.every((s, i) => s === seqs[i])) return known.rows;
  const found: Array<ProblemTopic['latest'][number] & { at: number }> = [];
  for (let p = 0; p < partitions; p++) {
    const last = seqs[p]!;
    if (last === 0) continue;
    const reader = bus.read(topic, p, { afterSeq: Math.max(0, last - LATEST) });
    try {
      for (const m of await reader.fetch(LATEST, 1_000)) {
        const frame = decodeFrame(m.data);
        if (frame.kind !== 'data') continue;
        for (const r of frame.records) {
          const reason = r.headers?.['ssdk-reason'] ?? '(no reason)';
          const operator = r.headers?.['ssdk-operator'];
          found.push({ reason, ...(operator ? { operator } : {}), timestamp: r.timestamp, at: m.seq });
        }
      }
    } finally {
      await reader.close();
    }
  }
  const rows = found
    .sort((a, b) => b.at - a.at)
    .slice(0, LATEST)
    .map(({ at: _at, ...r }) => r);
  cache.set(topic, { seqs, rows });
  return rows;
}

/** A key typed in the browser, as the state's key type reads it (`7` is a number for a numeric key). */
function typedKey(state: PlanState, text: string): StateKey {
  if (/^(u|i|s|f)(8|16|32|64)$|^float|^number$/.test(state.keyType) && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (state.keyType === 'bool' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

async function lookupInStore(store: StateStore, state: PlanState, keyText: string, key: StateKey): Promise<StateLookup> {
  if (!state.windowed) {
    const got = await store.get(state.table, [key]);
    return got.has(key) ? { state: state.name, key: keyText, found: true, value: got.get(key) } : { state: state.name, key: keyText, found: false };
  }
  const windows: NonNullable<StateLookup['windows']> = [];
  for (const w of await store.windows(state.table)) {
    const got = await store.get(state.table, [key], w);
    if (got.has(key)) windows.push({ start: w.start, end: w.end, value: got.get(key) });
  }
  return { state: state.name, key: keyText, found: windows.length > 0, windows };
}

function lookupInCache(cache: MemoryState, state: PlanState, keyText: string, key: Key): StateLookup {
  if (!state.windowed) {
    const value = cache.get(state.name, key);
    return value === undefined ? { state: state.name, key: keyText, found: false } : { state: state.name, key: keyText, found: true, value };
  }
  const windows: NonNullable<StateLookup['windows']> = [];
  for (const w of cache.openWindows(state.name)) {
    const value = cache.get(state.name, key, w);
    if (value !== undefined) windows.push({ start: w.start, end: w.end, value });
  }
  return { state: state.name, key: keyText, found: windows.length > 0, windows };
}
