/**
 * The one path from a services file to a plan: read and parse (`@ssdk/spec`), the planner's
 * checks, then the plan document. Every caller — the CLI, the planner service, the runtime and
 * its tests — goes through here, so a file plans, and fails, the same way everywhere.
 *
 * Stages report every problem of theirs at once. On a model the parser had to cut short (a
 * misspelt `sources`, a window with broken bounds) the checks would report the same mistake
 * again as something else ("has no sources", a sink type mismatch) — noise that hides the cause;
 * so there they check only the services the errors leave intact, each service's own chain
 * (`checkIntact`). The functions' code is checked alongside the file's errors, each function
 * whose check those errors leave certain (`code-scope.ts`).
 *
 * The only I/O of this lib, and it is the spec lib's: `loadServicesFile` reads the file and its
 * function stubs. The functions' code is type-checked by `@ssdk/functions`, which depends on this
 * lib: callers that run what they plan pass it as `checkCode`.
 */
import { hasErrors, loadServicesFile, SpecError, type Dataflow, type Diagnostic } from '@ssdk/spec';
import { checkDataflow, checkIntact } from './check.ts';
import { codeScope, intactScope, type CodeScope } from './code-scope.ts';
import type { PhysicalPlan } from './document.ts';
import { buildGraph, type DataflowGraph } from './graph.ts';
import type { PlanOptions } from './options.ts';
import { planDataflow } from './physical/plan.ts';

/**
 * A further check of a dataflow, e.g. `checkFunctionCode` of `@ssdk/functions`. Without `scope`
 * the dataflow has no errors; with one it has, and the check leaves the functions they make
 * uncertain (telling `scope.waits` each one's operator id).
 */
export type CodeCheck = (dataflow: Dataflow, graph: DataflowGraph, scope?: CodeScope) => Promise<Diagnostic[]>;

export interface CheckedServicesFile extends CodeLeft {
  file: string;
  dataflow: Dataflow;
  /** Errors and warnings of every stage that ran. */
  diagnostics: Diagnostic[];
}

/** What a check of a file with errors left of its functions: said so the user knows more may follow once those are fixed. */
export interface CodeLeft {
  /**
   * The operator ids of the functions `checkCode` left unchecked: the file's errors make their
   * types uncertain (`code-scope.ts`).
   */
  codeWaiting?: readonly string[];
  /**
   * The parser had to leave parts of the file out (a step with an unknown operator, a window with
   * broken bounds): their functions are not in the model, so not checked either.
   */
  codeCut?: true;
}

export interface PlannedServicesFile extends CheckedServicesFile {
  /** Present when no stage found an error. */
  plan?: PhysicalPlan;
}

/** A services file that planned without errors: the plan, and what it was planned from. */
export interface ServicesFilePlan extends PlannedServicesFile {
  plan: PhysicalPlan;
}

export interface PlanFileOptions extends PlanOptions {
  /**
   * `run` (the default): every error stops the plan. `show`: a plan to look at, not to run —
   * functions still written in Rust (files made for Fluvio's tools) are warnings, since the plan
   * needs their signatures, not their bodies.
   */
  purpose?: 'run' | 'show';
  /** Runs on the functions the file's errors leave certain, all of them on a file without; its errors take the plan away. */
  checkCode?: CodeCheck;
}

/**
 * Reads, checks and plans the services file at `file`. Never throws for a problem of the file
 * (those are diagnostics, with FILE:LINE:COL); throws `PlanOptionsError` for options out of range.
 *
 * @example
 * const planned = await planServicesFile('examples/word-count/services.yaml', { partitions: 4 });
 * for (const d of planned.diagnostics) console.error(formatDiagnostic(d));
 * if (planned.plan) console.log(planned.plan.hash);
 */
export async function planServicesFile(file: string, options: PlanFileOptions = {}): Promise<PlannedServicesFile> {
  const { purpose = 'run', checkCode, ...planOptions } = options;
  const parsed = await loadServicesFile(file);
  if (hasStructuralErrors(parsed.diagnostics)) return { file, ...(await withCode(parsed.dataflow, ...alongsideStructuralErrors(parsed.dataflow, parsed.diagnostics), checkCode)), ...cut(parsed.diagnostics, checkCode) };
  const specDiagnostics = purpose === 'show' ? parsed.diagnostics.map(portingIsWarning) : parsed.diagnostics;
  const planned = planDataflow(parsed.dataflow, planOptions);
  const checked = await withCode(parsed.dataflow, planned.graph, [...specDiagnostics, ...planned.diagnostics], checkCode);
  return { file, ...checked, ...(planned.plan && !hasErrors(checked.diagnostics) ? { plan: planned.plan } : {}) };
}

/**
 * `planServicesFile` for callers that run the plan and prefer an exception: the plan, or a
 * `SpecError` (a user error) carrying every diagnostic.
 */
export async function planOrThrow(file: string, options: PlanFileOptions = {}): Promise<ServicesFilePlan> {
  const planned = await planServicesFile(file, options);
  if (!planned.plan) throw new SpecError(planned.diagnostics);
  return { ...planned, plan: planned.plan };
}

/**
 * Reads the file and runs the planner's checks without planning (`ssdk validate`), and
 * `checkCode` alongside. Diagnostics as `planServicesFile` gives them.
 */
export async function checkServicesFile(file: string, options: { checkCode?: CodeCheck } = {}): Promise<CheckedServicesFile> {
  const parsed = await loadServicesFile(file);
  if (hasStructuralErrors(parsed.diagnostics)) return { file, ...(await withCode(parsed.dataflow, ...alongsideStructuralErrors(parsed.dataflow, parsed.diagnostics), options.checkCode)), ...cut(parsed.diagnostics, options.checkCode) };
  const checked = checkDataflow(parsed.dataflow);
  return { file, ...(await withCode(parsed.dataflow, checked.graph, [...parsed.diagnostics, ...checked.diagnostics], options.checkCode)) };
}

/**
 * `diagnostics` and those of `checkCode`: of every function on a file without errors, else of
 * those the errors leave certain, the others named in `codeWaiting`. On a file the parser cut
 * short `graph` is its structure only: the functions' check reads its services and states.
 */
async function withCode(
  dataflow: Dataflow,
  graph: DataflowGraph,
  diagnostics: Diagnostic[],
  checkCode: CodeCheck | undefined,
): Promise<Pick<CheckedServicesFile, 'dataflow' | 'diagnostics' | 'codeWaiting'>> {
  if (!checkCode) return { dataflow, diagnostics };
  if (!hasErrors(diagnostics)) return { dataflow, diagnostics: [...diagnostics, ...(await checkCode(dataflow, graph))] };
  const waiting = new Set<string>();
  const code = await checkCode(dataflow, graph, codeScope(graph, diagnostics, (id) => waiting.add(id)));
  return { dataflow, diagnostics: [...diagnostics, ...code], ...(waiting.size > 0 ? { codeWaiting: [...waiting] } : {}) };
}

/**
 * A file the parser had to cut short: its structure (the functions' check reads its services and
 * states), and the parser's diagnostics with those of the planner's checks on the services the
 * errors leave intact (`checkIntact`).
 */
function alongsideStructuralErrors(dataflow: Dataflow, diagnostics: Diagnostic[]): [DataflowGraph, Diagnostic[]] {
  const graph = buildGraph(dataflow);
  return [graph, [...diagnostics, ...checkIntact(graph, intactScope(graph, diagnostics))]];
}

/** `codeCut` of a file with structural errors, when its code is checked and the file has any (one missing or empty has none). */
function cut(diagnostics: readonly Diagnostic[], checkCode: CodeCheck | undefined): { codeCut?: true } {
  const nothing = diagnostics.some((d) => d.code === 'file-not-found' || d.code === 'empty-file');
  return checkCode && !nothing ? { codeCut: true } : {};
}

/** Errors in the file's structure (anything but a function body still to port from Rust). */
function hasStructuralErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error' && !isPortDiagnostic(d));
}

function portingIsWarning(d: Diagnostic): Diagnostic {
  return isPortDiagnostic(d) && d.severity === 'error' ? { ...d, severity: 'warning' } : d;
}

function isPortDiagnostic(d: Diagnostic): boolean {
  return d.code === 'rust-function';
}
