/**
 * Operator units of one service: which steps run together and how records flow between them.
 * By default every step the user wrote is its own unit (the design card: one operator service
 * per operator), except the steps that route records into a stateful one (`routeInSender`) and
 * the window operator's two halves (`joinWindowUnits`); with `fuse`, each run of consecutive
 * stateless steps joined by forward edges becomes one unit.
 * Topics are not named here; `planDataflow` gives each unit that feeds another an internal topic.
 */
import type { DataflowGraph, ServiceNode } from '../graph.ts';
import { operatorTraits } from '../operators.ts';
import type { StepSite } from '../pipeline.ts';
import type { PlanEdgeKind } from '../document.ts';

/** Where a unit's records come from: another unit of the service, or a topic read directly. */
export type UnitSource = { unit: Unit } | { topic: string };

export interface UnitInput {
  from: UnitSource;
  edge: PlanEdgeKind;
}

export interface Unit {
  /** The first step's operator id (or `<service>.passthrough` for a unit without steps). */
  id: string;
  service: string;
  /** In pipeline order; empty for a passthrough. */
  sites: StepSite[];
  inputs: UnitInput[];
  /** User topics this unit writes directly (its sinks without transforms); with `branches`, every topic its branches write. */
  sinkTopics: string[];
  /** Units reading this unit's output. */
  consumers: Unit[];
  /**
   * Sink transforms folded into the unit that makes their trunk (`foldSinkBranches`): the trunk's
   * records go through each branch (its steps, the last of `sites`, in order) to that branch's
   * topics, and nowhere else. A branch without steps is a sink without transforms.
   */
  branches?: UnitBranch[];
}

export interface UnitBranch {
  sites: StepSite[];
  sinkTopics: string[];
}

/** Where records stand while the pipeline is wired: the unit that produced them, or a topic. */
type Cursor = UnitSource;

export function buildUnits(
  graph: DataflowGraph,
  node: ServiceNode,
  scheduleTopic: (name: string) => string,
  fuse: boolean,
  partitions: number,
): Unit[] {
  const units: Unit[] = [];
  const rekeys = (site: StepSite): boolean => graph.stepTypes.get(site.step)?.rekeys ?? false;

  const add = (site: StepSite, from: Cursor[]): Cursor[] => {
    const unit: Unit = { id: site.id, service: node.name, sites: [site], inputs: [], sinkTopics: [], consumers: [] };
    for (const c of from) {
      unit.inputs.push({ from: c, edge: edgeInto(site, c, rekeys) });
      if ('unit' in c) c.unit.consumers.push(unit);
    }
    units.push(unit);
    return [{ unit }];
  };
  const chain = (sites: readonly StepSite[], from: Cursor[]): Cursor[] => sites.reduce((c, site) => add(site, c), from);

  const { pipeline } = node;
  const arrivals = pipeline.sources.flatMap((b) =>
    chain(b.steps, [{ topic: b.source.kind === 'topic' ? b.source.topic : scheduleTopic(b.source.name) }]),
  );
  const trunk = chain(pipeline.trunk, arrivals);
  // Records that still stand in a topic when they reach a sink have had no step to move them.
  const copies: Array<{ topic: string; sink: string }> = [];
  for (const b of pipeline.sinks) {
    for (const c of chain(b.steps, trunk)) {
      if ('unit' in c) pushUnique(c.unit.sinkTopics, b.sink.topic);
      else copies.push({ topic: c.topic, sink: b.sink.topic });
    }
  }
  if (copies.length > 0) units.push(passthrough(node.name, units, copies));
  const laidOut = routeInSender(joinWindowUnits(units));
  return fuse ? foldSinkBranches(fuseUnits(laidOut, partitions === 1)) : laidOut;
}

/**
 * Steps that route records rather than make them — a window's `assign-timestamp` (which window)
 * and an `assign-key` (which partition of the keyed step after it) — are the edge into the
 * stateful step, not operators of their own: as Flink's KeySelector runs in the sending task and
 * Kafka Streams' `selectKey` in the upstream sub-topology. Each runs at the end of the stateless
 * unit before it when that unit sends its records to it alone by a forward edge; with no such unit
 * (it reads topics directly, or more than one unit), it heads a unit of its own, and the routing
 * step after it joins that one. Without this, every record crossed a topic (a NATS hop) for each
 * of them: q7's 184 000 bids three times where the user wrote one stateless step before the window.
 */
function routeInSender(units: Unit[]): Unit[] {
  return foldInto(units, (a, b) => b.sites.length === 1 && operatorTraits(b.sites[0]!.step.operator).routes && isStatelessUnit(a), { anyEdge: false });
}

/**
 * A window's keyed `update-state` and its `flush` are one operator — the window operator: the
 * flush must see the state of the window it closes, and the unit that decides which window a
 * record counts for (and whether it is late) is the one that keeps that state. So the flush
 * unit folds into the update-state unit feeding it.
 */
function joinWindowUnits(units: Unit[]): Unit[] {
  return foldInto(units, (a, b) => b.sites.length === 1 && b.sites[0]!.place === 'window.flush' && a.sites.at(-1)?.place === 'window.partition.update-state', { anyEdge: false });
}

/**
 * Folds each unit B into the unit A it reads when `accepts(a, b)`: B reads only A, over a forward
 * edge (or any edge, with `anyEdge`), and A feeds only B and writes no sink of its own. Units are
 * in pipeline order, so runs collapse left to right; B's sinks and readers become A's.
 */
function foldInto(units: Unit[], accepts: (a: Unit, b: Unit) => boolean, { anyEdge }: { anyEdge: boolean }): Unit[] {
  const removed = new Set<Unit>();
  for (const b of units) {
    const only = b.inputs.length === 1 ? b.inputs[0] : undefined;
    if (!only || !('unit' in only.from)) continue;
    if (only.edge !== 'forward' && !anyEdge) continue;
    const a = only.from.unit;
    if (a.consumers.length !== 1 || a.sinkTopics.length > 0 || !accepts(a, b)) continue;
    a.sites.push(...b.sites);
    a.sinkTopics = b.sinkTopics;
    a.consumers = b.consumers;
    for (const c of b.consumers) for (const input of c.inputs) if ('unit' in input.from && input.from.unit === b) input.from = { unit: a };
    removed.add(b);
  }
  return units.filter((u) => !removed.has(u));
}

/**
 * A keyed step needs its records partitioned by their current key: the edge into it shuffles
 * unless the records come from a keyed step that kept the key.
 */
function edgeInto(site: StepSite, from: Cursor, rekeys: (s: StepSite) => boolean): PlanEdgeKind {
  if (!site.keyed) return 'forward';
  if ('topic' in from) return 'shuffle';
  const last = from.unit.sites.at(-1);
  return last && last.keyed && !rekeys(last) ? 'forward' : 'shuffle';
}

function passthrough(service: string, units: readonly Unit[], copies: Array<{ topic: string; sink: string }>): Unit {
  let id = `${service}.passthrough`;
  for (let n = 2; units.some((u) => u.id === id); n++) id = `${service}.passthrough-${n}`;
  const inputs: UnitInput[] = [];
  for (const topic of new Set(copies.map((c) => c.topic))) inputs.push({ from: { topic }, edge: 'forward' });
  return { id, service, sites: [], inputs, sinkTopics: [...new Set(copies.map((c) => c.sink))], consumers: [] };
}

function isStatelessUnit(u: Unit): boolean {
  return u.sites.length > 0 && u.sites.every((s) => operatorTraits(s.step.operator).stateless);
}

/**
 * With `fuse`, every run of stateless units joined by forward edges is one unit. With one partition per topic a shuffle moves nothing, so a stateless run also folds into the
 * stateful unit it feeds (a keyed update-state, a window operator): one unit per service part.
 */
function fuseUnits(units: Unit[], onePartition: boolean): Unit[] {
  return foldInto(units, (a, b) => isStatelessUnit(a) && (onePartition || isStatelessUnit(b)), { anyEdge: onePartition });
}

/**
 * With `fuse`, a stateless unit whose every reader is a sink's stateless transforms (units that
 * read only it and write only user topics) takes them in as branches: one unit where there were
 * one per sink (a service that splits its stream into several sinks, car-sensors' route-readings).
 * Its own sink topics become a branch without steps. No internal topic is left between them, so
 * no hop: a record is read, run and written once. `fuseUnits` has already folded a lone reader.
 */
function foldSinkBranches(units: Unit[]): Unit[] {
  const removed = new Set<Unit>();
  for (const a of units) {
    if (a.consumers.length === 0 || a.consumers.length + (a.sinkTopics.length > 0 ? 1 : 0) < 2 || !isStatelessUnit(a)) continue;
    const foldable = (b: Unit): boolean =>
      isStatelessUnit(b) && b.consumers.length === 0 && b.sinkTopics.length > 0 && b.inputs.length === 1 && b.inputs[0]!.edge === 'forward' && 'unit' in b.inputs[0]!.from && b.inputs[0]!.from.unit === a;
    if (!a.consumers.every(foldable)) continue;
    const branches: UnitBranch[] = [
      ...(a.sinkTopics.length > 0 ? [{ sites: [], sinkTopics: a.sinkTopics }] : []),
      ...a.consumers.map((b) => ({ sites: b.sites, sinkTopics: b.sinkTopics })),
    ];
    for (const b of a.consumers) removed.add(b);
    a.sites = [...a.sites, ...branches.flatMap((b) => b.sites)];
    a.sinkTopics = [...new Set(branches.flatMap((b) => b.sinkTopics))];
    a.consumers = [];
    a.branches = branches;
  }
  return units.filter((u) => !removed.has(u));
}

function pushUnique<T>(xs: T[], x: T): void {
  if (!xs.includes(x)) xs.push(x);
}
