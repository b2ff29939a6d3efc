/** `checkDataflow`: the logical graph of a dataflow and every problem in it, at once. */
import type { Dataflow, Diagnostic } from '@ssdk/spec';
import { checkConfig } from './checks/config.ts';
import { checkTopicCycles } from './checks/cycles.ts';
import { checkReferences } from './checks/references.ts';
import { checkStates } from './checks/states.ts';
import { checkStructure } from './checks/structure.ts';
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

/** The seed schematic calls its services operations: say it the way the file says it. */
function inSeedWords(d: Diagnostic): Diagnostic {
  const reword = (text: string) => text.replace(/\bservices? `/g, (m) => (m.startsWith('services') ? 'operations `' : 'operation `'));
  return { ...d, message: reword(d.message), ...(d.hint !== undefined ? { hint: reword(d.hint) } : {}) };
}
