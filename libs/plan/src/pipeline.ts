/**
 * A service as one ordered pipeline: its source branches (each source's own transforms), the
 * trunk (merged records through transforms, partition or window) and its sink branches (each
 * sink's transforms). Every later stage — placement checks, the type checker, the physical plan —
 * walks this one shape instead of the service's nested sections.
 */
import { kebabCase, type OperatorKind, type Service, type Sink, type Source, type Step } from '@ssdk/spec';
import { assertNever } from './assert-never.ts';

/** Where a step stands in its service. */
export type StepPlace =
  | 'source'
  | 'transforms'
  | 'partition.assign-key'
  | 'partition.transforms'
  | 'partition.update-state'
  | 'window.assign-timestamp'
  | 'window.transforms'
  | 'window.partition.assign-key'
  | 'window.partition.transforms'
  | 'window.partition.update-state'
  | 'window.flush'
  | 'join.assign-key'
  | 'join.transforms'
  | 'sink';

export interface StepSite {
  /** The operator id: `<service>.<function in kebab-case>`, with `-2`, `-3`, … when a service repeats a name. */
  id: string;
  step: Step;
  place: StepPlace;
  /** Runs on records partitioned by their key (inside a partition), so its input must be shuffled by key. */
  keyed: boolean;
  /** Inside the service's window. */
  windowed: boolean;
}

export interface SourceBranch {
  source: Source;
  steps: StepSite[];
}

export interface SinkBranch {
  sink: Sink;
  steps: StepSite[];
}

export interface ServicePipeline {
  service: Service;
  sources: SourceBranch[];
  trunk: StepSite[];
  sinks: SinkBranch[];
}

/** Every step of the pipeline in order: source branches, trunk, sink branches. */
export function pipelineSteps(p: ServicePipeline): StepSite[] {
  return [...p.sources.flatMap((b) => b.steps), ...p.trunk, ...p.sinks.flatMap((b) => b.steps)];
}

export function buildPipeline(service: Service): ServicePipeline {
  const ids = operatorIdAllocator(service.name);
  const site = (step: Step, place: StepPlace): StepSite => ({
    id: ids(step.fn.name || step.operator),
    step,
    place,
    keyed: isKeyedPlace(place),
    windowed: place.startsWith('window.'),
  });
  const sources = service.sources.map((source) => ({ source, steps: source.transforms.map((s) => site(s, 'source')) }));
  const trunk: StepSite[] = service.transforms.map((s) => site(s, 'transforms'));
  const p = service.partition;
  if (p) {
    if (p.assignKey) trunk.push(site(p.assignKey, 'partition.assign-key'));
    trunk.push(...p.transforms.map((s) => site(s, 'partition.transforms')));
    if (p.updateState) trunk.push(site(p.updateState, 'partition.update-state'));
  }
  const w = service.window;
  if (w) {
    if (w.assignTimestamp) trunk.push(site(w.assignTimestamp, 'window.assign-timestamp'));
    trunk.push(...w.transforms.map((s) => site(s, 'window.transforms')));
    const wp = w.partition;
    if (wp) {
      if (wp.assignKey) trunk.push(site(wp.assignKey, 'window.partition.assign-key'));
      trunk.push(...wp.transforms.map((s) => site(s, 'window.partition.transforms')));
      if (wp.updateState) trunk.push(site(wp.updateState, 'window.partition.update-state'));
    }
    if (w.flush) trunk.push(site(w.flush, 'window.flush'));
  }
  const j = service.join;
  if (j) {
    if (j.assignKey) trunk.push(site(j.assignKey, 'join.assign-key'));
    trunk.push(...j.transforms.map((s) => site(s, 'join.transforms')));
  }
  const sinks = service.sinks.map((sink) => ({ sink, steps: sink.transforms.map((s) => site(s, 'sink')) }));
  return { service, sources, trunk, sinks };
}

function isKeyedPlace(place: StepPlace): boolean {
  return (
    place === 'partition.transforms' ||
    place === 'partition.update-state' ||
    place === 'window.partition.transforms' ||
    place === 'window.partition.update-state' ||
    place === 'join.transforms'
  );
}

/** Hands out `<service>.<fn>` ids in pipeline order; a repeated name gets the next free `-N`. */
function operatorIdAllocator(service: string): (fnName: string) => string {
  const taken = new Set<string>();
  return (fnName) => {
    const base = kebabCase(fnName) || 'step';
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    return `${service}.${name}`;
  };
}

/** The operator kinds a place accepts. */
export function allowedOperators(place: StepPlace): readonly OperatorKind[] {
  switch (place) {
    case 'source':
    case 'transforms':
    case 'partition.transforms':
    case 'window.transforms':
    case 'window.partition.transforms':
    case 'join.transforms':
    case 'sink':
      return ['filter', 'map', 'filter-map', 'flat-map'];
    case 'partition.assign-key':
    case 'window.partition.assign-key':
    case 'join.assign-key':
      return ['assign-key'];
    case 'partition.update-state':
    case 'window.partition.update-state':
      return ['update-state'];
    case 'window.assign-timestamp':
      return ['assign-timestamp'];
    case 'window.flush':
      return ['flush'];
    default:
      return assertNever(place);
  }
}

/** How a place reads in a message: "a source's `transforms`", "`window.flush`". */
export function describePlace(place: StepPlace): string {
  switch (place) {
    case 'source':
      return "a source's `transforms`";
    case 'sink':
      return "a sink's `transforms`";
    default:
      return `\`${place}\``;
  }
}
