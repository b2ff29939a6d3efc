/**
 * Loading a services file the way every command needs it: parse (any shape), then the
 * planner's checks. Every problem of a stage is reported at once; the planner's checks run
 * once the file's structure is sound, because on a model the parser had to cut short (a
 * misspelt `sources`, a window with broken bounds) they would report the same mistake again
 * as something else ("has no sources", a sink type mismatch) — noise that hides the cause.
 */
import { checkFunctionCode } from '@ssdk/functions';
import { hasErrors, loadServicesFile, type Dataflow, type Diagnostic } from '@ssdk/spec';
import { checkDataflow, planDataflow, type PlanOptions, type PhysicalPlan } from '@ssdk/plan';

export interface CheckedDataflow {
  file: string;
  dataflow: Dataflow;
  diagnostics: Diagnostic[];
}

/**
 * Parse, the planner's checks, then the functions' code type-checked (nothing of it runs) —
 * once the planner finds nothing: a broken state or type would show again in the code as its
 * consequences. `code: false` leaves the code out (`ssdk generate` writes what it is missing).
 */
export async function loadAndCheck(file: string, how: { code?: boolean } = {}): Promise<CheckedDataflow> {
  const parsed = await loadServicesFile(file);
  if (hasStructuralErrors(parsed.diagnostics)) return { file, ...parsed };
  const checked = checkDataflow(parsed.dataflow);
  const code = how.code === false || hasErrors([...parsed.diagnostics, ...checked.diagnostics]) ? [] : await checkFunctionCode(parsed.dataflow, checked.graph);
  return { file, dataflow: parsed.dataflow, diagnostics: [...parsed.diagnostics, ...checked.diagnostics, ...code] };
}

export interface PlannedDataflow extends CheckedDataflow {
  plan?: PhysicalPlan;
}

/**
 * Plans a file. Functions still written in Rust (files made for Fluvio's tools) do not stop
 * planning: the plan needs signatures, not bodies, so those diagnostics become warnings here —
 * unless the plan is about to run (`rustIsError`).
 */
export async function loadAndPlan(file: string, options: PlanOptions, how: { rustIsError?: boolean } = {}): Promise<PlannedDataflow> {
  const parsed = await loadServicesFile(file);
  if (hasStructuralErrors(parsed.diagnostics)) return { file, ...parsed };
  const specDiags = how.rustIsError
    ? parsed.diagnostics
    : parsed.diagnostics.map((d) => (isPortDiagnostic(d) && d.severity === 'error' ? { ...d, severity: 'warning' as const } : d));
  const planned = planDataflow(parsed.dataflow, options);
  // A plan about to run has its code checked first; showing a plan needs signatures only.
  const code = how.rustIsError && !hasErrors([...specDiags, ...planned.diagnostics]) ? await checkFunctionCode(parsed.dataflow, checkDataflow(parsed.dataflow).graph) : [];
  const diagnostics = [...specDiags, ...planned.diagnostics, ...code];
  return { file, dataflow: parsed.dataflow, diagnostics, ...(planned.plan && !hasErrors(diagnostics) ? { plan: planned.plan } : {}) };
}

/** Errors in the file's structure (anything but a function body still to port from Rust). */
function hasStructuralErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error' && !isPortDiagnostic(d));
}

function isPortDiagnostic(d: Diagnostic): boolean {
  return d.code === 'rust-function';
}
