/**
 * Loading a services file the way every command needs it: parse (any shape), then the
 * planner's checks. Every problem of a stage is reported at once; the planner's checks run
 * once the file's structure is sound, because on a model the parser had to cut short (a
 * misspelt `sources`, a window with broken bounds) they would report the same mistake again
 * as something else ("has no sources", a sink type mismatch) — noise that hides the cause.
 */
import { loadServicesFile, type Dataflow, type Diagnostic } from '@ssdk/spec';
import { checkDataflow, planDataflow, type PlanOptions, type PhysicalPlan } from '@ssdk/plan';

export interface CheckedDataflow {
  file: string;
  dataflow: Dataflow;
  diagnostics: Diagnostic[];
}

export async function loadAndCheck(file: string): Promise<CheckedDataflow> {
  const parsed = await loadServicesFile(file);
  if (hasStructuralErrors(parsed.diagnostics)) return { file, ...parsed };
  const checked = checkDataflow(parsed.dataflow);
  return { file, dataflow: parsed.dataflow, diagnostics: [...parsed.diagnostics, ...checked.diagnostics] };
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
  const diagnostics = [...specDiags, ...planned.diagnostics];
  const hasErrors = diagnostics.some((d) => d.severity === 'error');
  return { file, dataflow: parsed.dataflow, diagnostics, ...(planned.plan && !hasErrors ? { plan: planned.plan } : {}) };
}

/** Errors in the file's structure (anything but a function body still to port from Rust). */
function hasStructuralErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error' && !isPortDiagnostic(d));
}

function isPortDiagnostic(d: Diagnostic): boolean {
  return d.code === 'rust-function';
}
