/**
 * `planDataflow`: from a checked dataflow to the physical plan document — operator units,
 * the topics between them with their subjects, edges, state tables — and its hash.
 */
import type { Converter, Dataflow, Diagnostic, FunctionSource, JoinSpec, StateDecl, Step, Topic, TypeRef, WindowSpec } from '@ssdk/spec';
import { checkDataflow } from '../check.ts';
import { hasErrors } from '../diagnostics.ts';
import {
  PLAN_VERSION,
  type PhysicalPlan,
  type PlanEdge,
  type PlanOperator,
  type PlanOperatorKind,
  type PlanRecordType,
  type PlanState,
  type PlanStep,
  type PlanTopic,
  type PlanTopicKind,
  type PlanTopicPart,
  type PlanType,
  type PlanJoin,
  type PlanWindow,
} from '../document.ts';
import type { DataflowGraph, ServiceNode, StreamType, TopicNode } from '../graph.ts';
import { planHash, sha256Hex } from '../hash.ts';
import { compilePlanOptions, isValidPartitions, type CompiledPlanOptions, type PlanOptions } from '../options.ts';
import type { StepSite } from '../pipeline.ts';
import { resolveType, typeToString } from '../type-system.ts';
import { serviceTopicSubject, tableNamer, userTopicSubject } from './naming.ts';
import { toPlanType } from './types.ts';
import { buildUnits, type Unit, type UnitSource } from './units.ts';

/**
 * Whether a step's code may name state `name` in `ctx.state()`: its text holds the name; or a
 * `state(` call whose argument is not a string literal (a name made at run time); or the text is
 * not all the planner can read (a component or a module it does not have, code that imports
 * other code, which may be handed `ctx`). Text, not a parse: a false "may" costs a replica, a
 * false "may not" a function's `unknown state` failure, so every doubt says "may".
 */
export function mayNameState(source: FunctionSource, name: string): boolean {
  const code = source.code;
  if (code === undefined) return true;
  // An `import type` is erased before the code runs: it brings in no code that could name a state.
  const running = code.replace(TYPE_ONLY_IMPORT, '');
  return code.includes(name) || /\bstate\s*\(\s*[^'"\s]/.test(code) || /\bimport\b|\bfrom\s*['"]|\brequire\s*\(|\buse\s+\w|\bmod\s+\w/.test(running);
}

/** `import type { A, B } from '…'`, `import type * as T from '…'`, `import type T from '…'`, whole. */
const TYPE_ONLY_IMPORT = /\bimport\s+type\s+(?:\{[^}]*\}|\*\s+as\s+[\w$]+|[\w$]+)\s+from\s+(['"])[^'"\n]*\1\s*;?/g;

export interface PlanResult {
  /** Present when the dataflow has no errors. */
  plan?: PhysicalPlan;
  /** Errors and warnings of the checks, in file order. */
  diagnostics: Diagnostic[];
  /** The checked graph, for further checks of the same dataflow (its functions' code). */
  graph: DataflowGraph;
}

/** Replicas per operator in the plan; scaling out happens at deploy time (`--scale`). */
const DEFAULT_PARALLELISM = 1;
const DEFAULTS = { isolation: 'wasm', functionTimeoutMs: 1000 } as const;

/**
 * Checks the dataflow and, when it has no errors, plans it. Throws `PlanOptionsError` only for
 * `options` out of range (the caller's input); problems of the file are diagnostics.
 */
export function planDataflow(df: Dataflow, options: PlanOptions = {}): PlanResult {
  const { graph, diagnostics } = checkDataflow(df);
  const filePartitions = df.config.settings.partitions;
  const compiled = compilePlanOptions(options, isValidPartitions(filePartitions) ? { partitions: filePartitions } : {});
  if (hasErrors(diagnostics)) return { diagnostics, graph };
  return { plan: buildPlan(graph, compiled), diagnostics, graph };
}

function buildPlan(graph: DataflowGraph, options: CompiledPlanOptions): PhysicalPlan {
  const df = graph.dataflow;
  const builder = new PlanBuilder(graph, options);
  for (const node of graph.services) builder.service(node);
  builder.stateRefEdges();
  const body: Omit<PhysicalPlan, 'hash'> = {
    planVersion: PLAN_VERSION,
    dataflow: { namespace: df.meta.namespace, name: df.meta.name, version: df.meta.version, apiVersion: df.apiVersion, dialect: df.dialect },
    options,
    types: Object.values(df.types).map((t) => ({ name: t.name, type: toPlanType(t.type, df.types) })),
    topics: builder.topics,
    operators: builder.operators,
    states: builder.states,
    edges: builder.edges,
  };
  const { planVersion, dataflow, types, topics, operators, states, edges } = body;
  // `hash` after `options` in the document; computed over everything else.
  return { planVersion, dataflow, options, hash: planHash(body), types, topics, operators, states, edges };
}

class PlanBuilder {
  readonly topics: PlanTopic[];
  readonly operators: PlanOperator[] = [];
  readonly states: PlanState[] = [];
  readonly edges: PlanEdge[] = [];
  private readonly graph: DataflowGraph;
  private readonly df: Dataflow;
  private readonly options: CompiledPlanOptions;
  private readonly tables = new Map<string, string>();
  private readonly units = new Map<string, Unit[]>();

  constructor(graph: DataflowGraph, options: CompiledPlanOptions) {
    this.graph = graph;
    this.df = graph.dataflow;
    this.options = options;
    this.topics = graph.topics.map((t) => this.userTopic(t));
    // Tables first, in file order, so every ref-state finds its owner's table.
    const table = tableNamer();
    for (const { name, service } of graph.services) {
      for (const d of service.states) {
        if (d.kind !== 'owned') continue;
        const t = table(name, d.name);
        this.tables.set(stateKey(name, d.name), t);
        const kv = resolveType(d.type, this.df.types);
        this.states.push({
          name: d.name,
          owner: name,
          table: t,
          keyType: this.print(kv.kind === 'keyed-state' ? kv.key : { kind: 'unknown' }),
          valueType: this.print(kv.kind === 'keyed-state' ? kv.value : { kind: 'unknown' }),
          key: this.data(kv.kind === 'keyed-state' ? kv.key : { kind: 'unknown' }),
          value: this.data(kv.kind === 'keyed-state' ? kv.value : { kind: 'unknown' }),
          windowed: service.window !== undefined,
          ...(d.ttlMs !== undefined ? { ttlMs: d.ttlMs } : {}),
        });
      }
    }
  }

  service(node: ServiceNode): void {
    const schedules = this.scheduleTopics(node);
    const units = buildUnits(this.graph, node, (source) => schedules.get(source) ?? source, this.options.fuse, this.options.partitions);
    this.units.set(node.name, units);
    const internal = this.internalTopics(node.name, units);
    const { deadLetter, lateEvents } = this.serviceTopics(node);
    const topicOf = (from: UnitSource): string => ('unit' in from ? (internal.get(from.unit) ?? '') : from.topic);
    for (const u of units) {
      const own = internal.get(u);
      this.operators.push({
        id: u.id,
        service: node.name,
        kind: unitKind(u, node.service.join?.transforms[0]),
        steps: u.sites.map((s) => this.step(s)),
        inputs: u.inputs.map((i) => ({ topic: topicOf(i.from), edge: i.edge })),
        outputs: [...(own ? [own] : []), ...u.sinkTopics],
        ...(u.branches ? { branches: u.branches.map((b) => ({ steps: b.sites.map((s) => s.id), outputs: b.sinkTopics })) } : {}),
        partitions: this.options.partitions,
        parallelism: DEFAULT_PARALLELISM,
        states: u.sites.length === 0 ? [] : this.stateAccess(node.service.states, u),
        ...(node.service.window && u.sites.some((s) => s.windowed) ? { window: planWindow(node.service.window) } : {}),
        ...(node.service.join && u.sites.some((s) => s.step === node.service.join!.transforms[0]) ? { join: planJoin(node.service.join, u.sites.find((s) => s.step === node.service.join!.transforms[0])!.id) } : {}),
        deadLetter,
        lateEvents,
      });
      for (const i of u.inputs) {
        const topic = topicOf(i.from);
        const from = 'unit' in i.from ? { kind: 'operator' as const, id: i.from.unit.id } : { kind: 'topic' as const, id: topic };
        this.edges.push({ from, to: { kind: 'operator', id: u.id }, kind: i.edge, topic });
      }
      for (const t of u.sinkTopics) this.edges.push({ from: { kind: 'operator', id: u.id }, to: { kind: 'topic', id: t }, kind: 'forward', topic: t });
    }
  }

  /**
   * The bus name of a topic the dataflow owns (internal, dead-letter, late-events, schedule):
   * qualified by namespace and dataflow, so two dataflows on one bus never share a stream. Ids
   * (what users and files name) stay short.
   */
  private ownName(id: string): string {
    return `${this.df.meta.namespace}.${this.df.meta.name}.${id}`;
  }

  /** A topic per `schedule` source, fed by the runtime's clock; by source name. */
  private scheduleTopics(node: ServiceNode): Map<string, string> {
    const ids = new Map<string, string>();
    for (const s of node.service.sources) {
      if (s.kind !== 'schedule') continue;
      const id = this.freeTopicId(`${node.name}.schedule.${s.name}`);
      ids.set(s.name, id);
      this.topics.push({
        id,
        name: this.ownName(id),
        kind: 'schedule',
        subject: this.subject('schedule', node.name, s.name),
        // One clock: a tick is made once, by whoever reads partition 0 (runtime schedule.ts).
        partitions: 1,
        value: this.part({ kind: 'unknown' }, 'json'),
        service: node.name,
        schedule: { name: s.name, ...(s.cron !== undefined ? { cron: s.cron } : {}), ...(s.intervalMs !== undefined ? { intervalMs: s.intervalMs } : {}) },
      });
    }
    return ids;
  }

  /** One topic out of every unit another unit reads, typed by what its last step emits. */
  private internalTopics(service: string, units: readonly Unit[]): Map<Unit, string> {
    const ids = new Map<Unit, string>();
    for (const u of units) {
      if (u.consumers.length === 0) continue;
      const id = this.freeTopicId(`${u.id}.out`);
      ids.set(u, id);
      const out = this.streamAfter(u);
      this.topics.push({
        id,
        name: this.ownName(id),
        kind: 'internal',
        subject: this.subject('internal', service, u.id.slice(service.length + 1)),
        partitions: this.options.partitions,
        ...(out.key ? { key: this.part(out.key, 'json') } : {}),
        value: this.part(out.value, 'json'),
        service,
      });
    }
    return ids;
  }

  /** Every service's own `<service>.dead-letter` and `<service>.late-events`. */
  private serviceTopics({ name, service }: ServiceNode): { deadLetter: string; lateEvents: string } {
    const deadLetter = `${name}.dead-letter`;
    const lateEvents = `${name}.late-events`;
    // Late records are kept as they reached the window; a service without one has none.
    const stamp = service.window?.assignTimestamp ?? service.join?.assignKey;
    const late = (stamp && this.graph.stepTypes.get(stamp)?.input.value) ?? { kind: 'unknown' as const };
    const common = { partitions: this.options.partitions, service: name };
    this.topics.push(
      // A dead letter is the runtime's own record (the reason and the original), not a user type.
      { id: deadLetter, name: this.ownName(deadLetter), kind: 'dead-letter', subject: this.subject('dead-letter', name), ...common, value: { type: 'dead-letter', schema: { kind: 'unknown' }, converter: 'json' } },
      { id: lateEvents, name: this.ownName(lateEvents), kind: 'late-events', subject: this.subject('late-events', name), ...common, value: this.part(late, 'json') },
    );
    return { deadLetter, lateEvents };
  }

  /** From the operator that writes a state to every operator of each service that reads it. */
  stateRefEdges(): void {
    for (const ref of this.graph.stateRefs) {
      const owners = this.units.get(ref.owner) ?? [];
      const writer = owners.find((u) => u.sites.some((s) => s.step.operator === 'update-state')) ?? owners[0];
      if (!writer) continue;
      for (const reader of this.units.get(ref.reader) ?? []) {
        if (reader.sites.length === 0) continue;
        this.edges.push({ from: { kind: 'operator', id: writer.id }, to: { kind: 'operator', id: reader.id }, kind: 'state-ref', state: ref.state });
      }
    }
  }

  private userTopic(node: TopicNode): PlanTopic {
    const t: Topic = node.topic;
    return {
      id: t.id,
      name: t.name,
      kind: userTopicKind(node),
      subject: userTopicSubject(this.options.subjectPrefix, t.name),
      partitions: this.options.partitions,
      ...(t.key ? { key: this.part(t.key.type, t.key.converter) } : {}),
      value: this.part(t.value.type, t.value.converter),
    };
  }

  private step(site: StepSite): PlanStep {
    const step: Step = site.step;
    const types = this.graph.stepTypes.get(step);
    const settings = { ...this.df.config.settings, ...definedOnly(step.settings) };
    const src = step.fn.source;
    return {
      id: site.id,
      operator: step.operator,
      function: step.fn.name,
      source:
        src.kind === 'inline'
          ? { kind: 'inline', lang: src.lang, codeHash: sha256Hex(src.code).slice(0, 16) }
          : { kind: 'uses', ref: src.ref, ...(src.code !== undefined ? { codeHash: sha256Hex(src.code).slice(0, 16) } : {}) },
      params: { ...step.params },
      input: this.record(types?.input),
      output: this.record(types?.output),
      setsKey: types?.output.key !== undefined && step.operator !== 'assign-key' && returnsKeyValue(step, this.df.types),
      settings: {
        isolation: settings.isolation ?? DEFAULTS.isolation,
        functionTimeoutMs: settings.functionTimeoutMs ?? DEFAULTS.functionTimeoutMs,
        grants: [...(settings.grants ?? [])],
        ...(settings.grants?.includes('env') && settings.env?.length ? { env: [...settings.env] } : {}),
        ...(settings.grants?.includes('http') && settings.http?.length ? { http: [...settings.http] } : {}),
      },
      dependencies: step.dependencies.map((d) => ({ name: d.name, ...(d.version !== undefined ? { version: d.version } : {}) })),
    };
  }

  /**
   * The unit holding `update-state` writes its service's states, and so does the flush, which
   * drops a closed window. Any other unit reads the states its steps' code may name
   * (`ctx.state(name).get()`, `lookup`): a state it reads is one a distributed operator keeps a
   * replica of, polling the owner's table (ref-states.ts) — a cost with nothing to show for it
   * in a unit whose functions never name the state (q5's filter, key and sink steps re-read the
   * window counts four times a second).
   */
  private stateAccess(decls: readonly StateDecl[], u: Unit): PlanOperator['states'] {
    const writes = u.sites.some((s) => s.step.operator === 'update-state' || s.step.operator === 'flush');
    return decls.flatMap((d): PlanOperator['states'] => {
      if (d.kind === 'owned' && writes) return [{ name: d.name, table: this.tables.get(stateKey(u.service, d.name)) ?? '', access: 'read-write' }];
      if (!u.sites.some((s) => mayNameState(s.step.fn.source, d.name))) return [];
      const table = d.kind === 'owned' ? this.tables.get(stateKey(u.service, d.name)) : this.tables.get(stateKey(d.fromService, d.fromState));
      return [{ name: d.name, table: table ?? '', access: 'read' }];
    });
  }

  private streamAfter(u: Unit): StreamType {
    const last = u.sites.at(-1);
    return (last && this.graph.stepTypes.get(last.step)?.output) ?? { value: { kind: 'unknown' } };
  }

  private record(s: StreamType | undefined): PlanRecordType {
    if (!s) return { value: 'unknown', schema: { value: { kind: 'unknown' } } };
    return s.key
      ? { key: this.print(s.key), value: this.print(s.value), schema: { key: this.data(s.key), value: this.data(s.value) } }
      : { value: this.print(s.value), schema: { value: this.data(s.value) } };
  }

  private part(t: TypeRef, converter: Converter): PlanTopicPart {
    return { type: this.print(t), schema: this.data(t), converter };
  }

  private data(t: TypeRef): PlanType {
    return toPlanType(t, this.df.types);
  }

  /** Generated topic ids never take a user topic's id (or each other's). */
  private freeTopicId(base: string): string {
    let id = base;
    for (let n = 2; this.topics.some((t) => t.id === id); n++) id = `${base}-${n}`;
    return id;
  }

  private subject(kind: 'internal' | 'dead-letter' | 'late-events' | 'schedule', service: string, local?: string): string {
    return serviceTopicSubject(this.options.subjectPrefix, this.df.meta, kind, service, local);
  }

  private print(t: TypeRef): string {
    return typeToString(t, this.df.types);
  }
}

function planJoin(j: JoinSpec, at: string): PlanJoin {
  const watermark = { gracePeriodMs: j.watermark.gracePeriodMs, ...(j.watermark.idlenessMs !== undefined ? { idlenessMs: j.watermark.idlenessMs } : {}) };
  if (j.kind === 'table') return { kind: 'table', left: j.left, right: j.right, ttlMs: j.ttlMs ?? 0, at, watermark };
  return { kind: 'interval', left: j.left, right: j.right, lowerMs: j.lowerMs ?? 0, upperMs: j.upperMs ?? 0, ...(j.until !== undefined ? { until: j.until } : {}), at, watermark };
}

function planWindow(w: WindowSpec): PlanWindow {
  return {
    kind: w.kind,
    durationMs: w.durationMs,
    offsetMs: w.offsetMs,
    ...(w.slideMs !== undefined ? { slideMs: w.slideMs } : {}),
    ...(w.gapMs !== undefined ? { gapMs: w.gapMs } : {}),
    watermark: { gracePeriodMs: w.watermark.gracePeriodMs, ...(w.watermark.idlenessMs !== undefined ? { idlenessMs: w.watermark.idlenessMs } : {}) },
  };
}

/** A function that returns `{key, value}` (a `key-value` type, by name or written out, or an option of one) keys its records itself. */
function returnsKeyValue(step: Step, types: Dataflow['types']): boolean {
  const r = step.fn.signature?.returns;
  if (r === undefined) return false;
  const t = resolveType(r, types);
  return t.kind === 'key-value' || (t.kind === 'option' && resolveType(t.value, types).kind === 'key-value');
}

/** `joinAt`: the first step after the service's join, whose unit runs the join. */
function unitKind(u: Unit, joinAt: Step | undefined): PlanOperatorKind {
  const [only, ...more] = u.sites;
  if (!only) return 'passthrough';
  if (u.sites.some((s) => s.place === 'window.flush') && u.sites.some((s) => s.place === 'window.partition.update-state')) return 'window';
  // The unit holding a join's first step runs the join before it (its state lives there).
  if (joinAt !== undefined && u.sites.some((s) => s.step === joinAt)) return 'join';
  return more.length === 0 ? only.step.operator : 'fused';
}

function userTopicKind({ readers, writers }: TopicNode): PlanTopicKind {
  if (readers.length > 0 && writers.length > 0) return 'intermediate';
  if (readers.length > 0) return 'source';
  if (writers.length > 0) return 'sink';
  return 'unused';
}

function stateKey(service: string, state: string): string {
  return `${service}\u0000${state}`;
}

/** A step's overrides, without the keys it leaves unset (so they do not mask the file's). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
