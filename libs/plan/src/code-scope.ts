/**
 * Which functions a file's errors leave uncertain, so the others are type-checked alongside them
 * (every error in one pass, none of them the file's own error said again by the compiler).
 *
 * A function's check reads two things from the file: its types (`functions/types.ts`) and its
 * service's states (`ctx.state(name)`, `ctx.ts`). A type with an error stands there as `unknown`
 * and a state the parser dropped is missing, and either makes the compiler report what is only
 * the file's own mistake again (`'b.count' is of type 'unknown'`, an unknown state name). A step
 * the parser dropped (an unknown operator) changes no other function's check: a function's types
 * are its own annotations, and whether they fit the chain is the planner's check, which runs on
 * a file without structural errors. So a function waits when its step has an error of its own
 * (its reference, its settings: a missing module may be the same typo again), when its code
 * names a type with an error, when it reads state in a service with an error of its own, when
 * the file's imports have one, or — with an error elsewhere that may have taken a type away —
 * when the compiler finds it naming a type that is not there.
 */
import type { Diagnostic, SourcePos, Step, TypeRef } from '@ssdk/spec';
import type { DataflowGraph } from './graph.ts';
import { pipelineSteps } from './pipeline.ts';
import { childTypes, lookupType, type TypeTable } from './type-system.ts';

/** What the file's errors leave uncertain (`codeScope`), and where the check says which functions wait. */
export interface CodeScope {
  /** Steps with an error of their own, or of the seed `functions:` declaration they use. */
  uncertainSteps: ReadonlySet<Step>;
  /** Named types (as the file declares them) whose definition has an error, or names a type that is not there. */
  unsoundTypes: ReadonlySet<string>;
  /** Services with an error of their own, or a state of a type with an error: their functions that read state wait. */
  uncertainStates: ReadonlySet<string>;
  /** The state names those services have: a function naming one (`ctx.state('…')`) in any service waits too. */
  uncertainStateNames: ReadonlySet<string>;
  /** An error in the imports, or in another file: what the packages bring is not known, so every function waits. */
  everything: boolean;
  /**
   * An error outside the services and the named types (a misspelt `types:`, an entry the parser
   * dropped): a type a function names may be missing, so a function the compiler finds naming a
   * type that is not there waits (`Cannot find name 'CarEvent'` would be the same mistake again).
   */
  typesMayBeMissing: boolean;
  /** Told the operator id of each function the check leaves for when the errors are fixed. */
  waits(id: string): void;
}

/** A part of the file: a service, a step, a named type, a topic, a seed function, the imports, or another part (meta). */
type Part =
  | { kind: 'service' | 'type' | 'function' | 'topic'; name: string }
  | { kind: 'step'; step: Step; service: string }
  | { kind: 'import' }
  | { kind: 'other' };
type Region = Part & { line: number };

/** The parts of the file its errors lie in (`regionsOf`): each error belongs to the part it lies in. */
interface ErroneousParts {
  /** Services with an error of their own, or in one of their steps. */
  services: Set<string>;
  types: Set<string>;
  steps: Set<Step>;
  functions: Set<string>;
  topics: Set<string>;
  /** An error in the imports, or in another file. */
  imports: boolean;
  /** An error outside the services and the named types: a type may have been taken away. */
  typesMayBeMissing: boolean;
  /**
   * Every error lies inside a service: none outside the services, and none on a top-level key (a
   * misspelt `topics:` after `services:` falls in the last service by its line).
   */
  onlyInServices: boolean;
}

function erroneousParts(graph: DataflowGraph, diagnostics: readonly Diagnostic[]): ErroneousParts {
  const df = graph.dataflow;
  const regions = regionsOf(graph);
  const parts: ErroneousParts = { services: new Set(), types: new Set(), steps: new Set(), functions: new Set(), topics: new Set(), imports: false, typesMayBeMissing: false, onlyInServices: true };
  for (const d of diagnostics) {
    if (d.severity !== 'error') continue;
    const region = d.pos.file === df.file ? regionAt(regions, d.pos.line) : { line: 0, kind: 'import' as const };
    if ((region?.kind !== 'service' && region?.kind !== 'step') || d.pos.col === 1) parts.onlyInServices = false;
    if (region?.kind === 'service') parts.services.add(region.name);
    else if (region?.kind === 'type') {
      // An entry of `types:` with an error may be a type cut in two (a deleted key line).
      parts.types.add(region.name);
      parts.typesMayBeMissing = true;
    } else if (region?.kind === 'import') parts.imports = true;
    else if (region?.kind === 'function') parts.functions.add(region.name);
    else if (region?.kind === 'step') {
      // What follows a step in the file (its service's sinks, states written last) falls in it too.
      parts.steps.add(region.step);
      parts.services.add(region.service);
    } else {
      if (region?.kind === 'topic') parts.topics.add(region.name);
      parts.typesMayBeMissing = true;
    }
  }
  // A seed topic takes its type from the operation naming it first: one with an error leaves it uncertain.
  for (const t of Object.values(df.topics)) {
    if (t.origin !== 'implicit' || t.pos.file !== df.file) continue;
    const region = regionAt(regions, t.pos.line);
    if ((region?.kind === 'service' && parts.services.has(region.name)) || (region?.kind === 'step' && parts.steps.has(region.step))) parts.topics.add(t.id);
  }
  // A step that uses a seed `functions:` declaration with an error has that error too.
  for (const node of graph.services) {
    for (const site of pipelineSteps(node.pipeline)) {
      const src = site.step.fn.source;
      if (src.kind === 'uses' && parts.functions.has(src.ref)) parts.steps.add(site.step);
    }
  }
  return parts;
}

/** The scope of a check of the functions of `graph` alongside `diagnostics` (the file's errors so far). */
export function codeScope(graph: DataflowGraph, diagnostics: readonly Diagnostic[], waits: (id: string) => void): CodeScope {
  const df = graph.dataflow;
  const erroneous = erroneousParts(graph, diagnostics);
  const sound = soundness(df.types, erroneous.types);
  const unsoundTypes = new Set(Object.keys(df.types).filter((name) => !sound({ kind: 'named', name })));
  const uncertainStates = new Set<string>();
  for (const service of Object.values(df.services)) {
    const statesSound = service.states.every((st) => {
      if (st.kind === 'owned') return sound(st.type);
      const owned = df.services[st.fromService]?.states.find((o) => o.kind === 'owned' && o.name === st.fromState);
      return owned?.kind === 'owned' && sound(owned.type);
    });
    if (erroneous.services.has(service.name) || !statesSound) uncertainStates.add(service.name);
  }
  // Functions see a state's type by its name (`States` in ctx.ts), whichever service declares it:
  // a name an uncertain service has is uncertain in every service that has it.
  const uncertainNames = new Set([...uncertainStates].flatMap((name) => df.services[name]?.states.map((st) => st.name) ?? []));
  for (const service of Object.values(df.services)) if (service.states.some((st) => uncertainNames.has(st.name))) uncertainStates.add(service.name);
  return {
    uncertainSteps: erroneous.steps,
    unsoundTypes,
    uncertainStates,
    uncertainStateNames: uncertainNames,
    everything: erroneous.imports,
    typesMayBeMissing: erroneous.typesMayBeMissing,
    waits,
  };
}

/**
 * What a file's structural errors leave for the planner's checks (`checkIntact`): the services
 * with no error of their own, in any of their steps or in a seed function they use — their
 * sources, steps, states and sinks are as written. What they name may not be: a named type with
 * an error (or naming one), and a topic with one, stand as `unknown` there (compatible with
 * anything), so no mistake is reported again as a mismatch; a type or topic the parser dropped
 * is not found, which the checks already take as unknown.
 */
export interface IntactScope {
  services: ReadonlySet<string>;
  unsoundTypes: ReadonlySet<string>;
  uncertainTopics: ReadonlySet<string>;
  /**
   * Every error lies in a service: the file's topics, types, seed functions and imports are as
   * written, so a name an intact service gives that is not declared is a mistake of its own.
   */
  namesCertain: boolean;
}

export function intactScope(graph: DataflowGraph, diagnostics: readonly Diagnostic[]): IntactScope {
  const df = graph.dataflow;
  const erroneous = erroneousParts(graph, diagnostics);
  const sound = soundness(df.types, erroneous.types);
  return {
    services: new Set(graph.services.filter((s) => !erroneous.services.has(s.name) && !pipelineSteps(s.pipeline).some((site) => erroneous.steps.has(site.step))).map((s) => s.name)),
    unsoundTypes: new Set(Object.keys(df.types).filter((name) => !sound({ kind: 'named', name }))),
    uncertainTopics: erroneous.topics,
    namesCertain: erroneous.onlyInServices,
  };
}

/**
 * Where each part of the file starts, in line order: an error belongs to the part it lies in.
 * Keys the model keeps no position of (`config`, a dropped entry) fall in the part before them,
 * which can only make more functions wait, never report a follow-on error.
 */
function regionsOf(graph: DataflowGraph): Region[] {
  const df = graph.dataflow;
  const regions: Region[] = [];
  const at = (pos: SourcePos | undefined, part: Part) => {
    if (pos && pos.file === df.file) regions.push({ ...part, line: pos.line });
  };
  at(df.meta.pos, { kind: 'other' });
  for (const s of Object.values(df.services)) at(s.pos, { kind: 'service', name: s.name });
  for (const node of graph.services) for (const site of pipelineSteps(node.pipeline)) at(site.step.pos, { kind: 'step', step: site.step, service: node.name });
  for (const t of Object.values(df.types)) at(t.pos, { kind: 'type', name: t.name });
  // A seed topic named only by an operation is part of that operation.
  for (const t of [...Object.values(df.topics), ...Object.values(df.dev.topics)]) if (t.origin !== 'implicit') at(t.pos, { kind: 'topic', name: t.id });
  for (const f of Object.values(df.functions)) at(f.pos, { kind: 'function', name: f.name });
  for (const i of [...df.imports, ...df.dev.imports]) at(i.pos, { kind: 'import' });
  return regions.sort((a, b) => a.line - b.line);
}

function regionAt(regions: readonly Region[], line: number): Region | undefined {
  let found: Region | undefined;
  for (const r of regions) {
    if (r.line > line) break;
    found = r;
  }
  return found;
}

/** Whether a type, and every type it names, is free of errors (an error of its own, `invalid`, a name not declared). */
function soundness(types: TypeTable, erroneous: ReadonlySet<string>): (t: TypeRef) => boolean {
  const known = new Map<string, boolean>();
  const sound = (t: TypeRef): boolean => {
    if (t.kind === 'invalid') return false;
    if (t.kind === 'named') {
      const named = lookupType(t.name, types);
      if (!named) return false;
      const kept = known.get(named.name);
      if (kept !== undefined) return kept;
      // A recursive type is sound as far as its own parts are.
      known.set(named.name, true);
      const result = !erroneous.has(named.name) && sound(named.type);
      known.set(named.name, result);
      return result;
    }
    return childTypes(t).every(sound);
  };
  return sound;
}
