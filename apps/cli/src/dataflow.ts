/**
 * Loading a services file the way every command needs it: parse (any shape), then the
 * planner's checks, with every diagnostic of both stages together so a user sees all
 * problems of a file at once.
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
  if (isUnreadable(parsed.diagnostics)) return { file, ...parsed };
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
  if (isUnreadable(parsed.diagnostics)) return { file, ...parsed };
  const specDiags = how.rustIsError
    ? parsed.diagnostics
    : parsed.diagnostics.map((d) => (d.code === 'rust-function' && d.severity === 'error' ? { ...d, severity: 'warning' as const } : d));
  const planned = planDataflow(parsed.dataflow, options);
  const diagnostics = [...specDiags, ...planned.diagnostics];
  const hasErrors = diagnostics.some((d) => d.severity === 'error');
  return { file, dataflow: parsed.dataflow, diagnostics, ...(planned.plan && !hasErrors ? { plan: planned.plan } : {}) };
}

/** A file that could not be read or is not YAML at all: no point in checking the (empty) model. */
function isUnreadable(diags: Diagnostic[]): boolean {
  return diags.some((d) => d.code === 'file-not-found' || d.code === 'yaml-syntax' || d.code === 'not-a-services-file');
}
