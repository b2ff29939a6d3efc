/** `checkDataflow`: the logical graph of a dataflow and every problem in it, at once. */
import type { Dataflow, Diagnostic, Service, Topic } from '@ssdk/spec';
import { checkConfig } from './checks/config.ts';
import { checkTopicCycles } from './checks/cycles.ts';
import { checkNames, checkReferences } from './checks/references.ts';
import { checkStates } from './checks/states.ts';
import { checkStructure } from './checks/structure.ts';
import type { IntactScope } from './code-scope.ts';
import { sortDiagnostics } from './diagnostics.ts';
import { buildGraph, type DataflowGraph } from './graph.ts';
import { checkTypes } from './types-check.ts';

export interface CheckResult {
  graph: DataflowGraph;
  /** Errors and warnings, in file order. */
  diagnostics: Diagnostic[];
}

export function checkDataflow(df: Dataflow): CheckResult {
  const structure = buildGraph(df);
  const typed = checkTypes(structure);
  const diagnostics = [
    ...checkConfig(structure),
    ...checkReferences(structure),
    ...checkStates(structure),
    ...checkStructure(structure),
    ...checkTopicCycles(structure),
    ...typed.diagnostics,
  ];
  const worded = df.dialect === 'seed' ? diagnostics.map(inSeedWords) : diagnostics;
  return { graph: { ...structure, stepTypes: typed.stepTypes }, diagnostics: sortDiagnostics(worded) };
}

/**
 * The checks of one service's own chain — its types from step to step, its partition, window and
 * states — on the services a file's structural errors leave intact (`intactScope`), so they are
 * reported alongside those errors rather than once they are fixed. What reaches beyond an intact
 * service is left: a ref-state to a service with an error, a named type or topic with one (they
 * stand as `unknown`), and the checks between services (topics no service uses, cycles), which a
 * part the parser dropped would make report what is not there. The names an intact service gives
 * (topics, types, seed functions) are checked when every error lies in a service: then nothing
 * it names can have been dropped.
 */
export function checkIntact(graph: DataflowGraph, scope: IntactScope): Diagnostic[] {
  if (scope.services.size === 0) return [];
  const df = graph.dataflow;
  const unknown = { kind: 'unknown' } as const;
  const types = Object.fromEntries(Object.entries(df.types).map(([name, t]) => [name, scope.unsoundTypes.has(name) ? { ...t, type: unknown } : t]));
  const topic = (t: Topic): Topic =>
    scope.uncertainTopics.has(t.id) ? { ...t, ...(t.key ? { key: { ...t.key, type: unknown } } : {}), value: { ...t.value, type: unknown } } : t;
  const topics = (all: Record<string, Topic>) => Object.fromEntries(Object.entries(all).map(([id, t]) => [id, topic(t)]));
  // A ref-state to a service with an error is left unchecked: what it owns may be what the parser cut.
  const service = (s: Service): Service => ({ ...s, states: s.states.filter((st) => st.kind === 'owned' || scope.services.has(st.fromService)) });
  const services = Object.fromEntries(Object.entries(df.services).map(([name, s]) => [name, scope.services.has(name) ? service(s) : s]));
  const partial: Dataflow = { ...df, types, topics: topics(df.topics), dev: { ...df.dev, topics: topics(df.dev.topics) }, services };
  const whole = buildGraph(partial);
  const intact: DataflowGraph = { ...whole, services: whole.services.filter((s) => scope.services.has(s.name)) };
  const diagnostics = [...(scope.namesCertain ? checkNames(intact) : []), ...checkStates(intact), ...checkStructure(intact), ...checkTypes(intact).diagnostics];
  return sortDiagnostics(df.dialect === 'seed' ? diagnostics.map(inSeedWords) : diagnostics);
}

/** The seed schematic calls its services operations: say it the way the file says it. */
function inSeedWords(d: Diagnostic): Diagnostic {
  const reword = (text: string) => text.replace(/\bservices? `/g, (m) => (m.startsWith('services') ? 'operations `' : 'operation `'));
  return { ...d, message: reword(d.message), ...(d.hint !== undefined ? { hint: reword(d.hint) } : {}) };
}
