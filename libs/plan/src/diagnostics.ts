/**
 * Every diagnostic the planner reports, in one table: a stable code (tools and tests match on
 * it), its severity and what it means. Adding a check starts here.
 */
import type { Diagnostic, Severity, SourcePos } from '@ssdk/spec';

export const PLAN_DIAGNOSTICS = {
  'unknown-topic': { severity: 'error', summary: 'a source or sink names a topic that is not declared' },
  'unknown-type': { severity: 'error', summary: 'a type name that is not declared under `types`' },
  'unknown-function': { severity: 'error', summary: 'a seed step `uses:` a function not declared under `functions`' },
  'function-operator-mismatch': { severity: 'error', summary: 'a seed function is declared for another operator kind' },
  'recursive-type': { severity: 'error', summary: 'named types that refer to themselves' },
  'reserved-topic-id': { severity: 'error', summary: 'a user topic takes the id of a service topic (`<service>.dead-letter`, `<service>.late-events`)' },
  'unused-topic': { severity: 'warning', summary: 'a declared topic that no service reads or writes' },
  'ref-state-unknown-service': { severity: 'error', summary: 'a ref-state names a service that does not exist' },
  'ref-state-unknown-state': { severity: 'error', summary: 'a ref-state names a state its service does not own' },
  'state-two-writers': { severity: 'error', summary: 'two services own a state of the same name' },
  'duplicate-state': { severity: 'error', summary: 'one service declares a state name twice' },
  'state-not-keyed': { severity: 'error', summary: 'an owned state whose type is not a keyed-state' },
  'ttl-on-window-state': { severity: 'error', summary: 'a `ttl` on the state of a windowed service, which its window drops anyway' },
  'update-state-without-state': { severity: 'error', summary: 'an update-state step in a service that owns no state' },
  'partition-and-window': { severity: 'error', summary: 'a service with both `partition` and `window`' },
  'window-missing-assign-timestamp': { severity: 'error', summary: 'a window without `assign-timestamp`' },
  'window-missing-flush': { severity: 'error', summary: 'a window without `flush`' },
  'window-invalid-duration': { severity: 'error', summary: 'a window duration that is not positive' },
  'window-invalid-slide': { severity: 'error', summary: 'a sliding window slide that is missing, not positive or longer than the duration' },
  'window-invalid-offset': { severity: 'error', summary: 'a tumbling window offset that is negative or not shorter than the duration' },
  'window-invalid-gap': { severity: 'error', summary: 'a session window gap that is missing or not positive' },
  'join-missing-assign-key': { severity: 'error', summary: 'a join without `assign-key`' },
  'join-missing-transforms': { severity: 'error', summary: 'a join without `transforms` to shape the joined records' },
  'join-invalid-interval': { severity: 'error', summary: 'an interval join whose `lower` is above its `upper`' },
  'join-invalid-side': { severity: 'error', summary: 'a join side that is not a variant of the enum arriving at the join, or both sides the same' },
  'join-invalid-until': { severity: 'error', summary: "an interval join's `until` that is not a number field of its left side" },
  'operator-misplaced': { severity: 'error', summary: 'an operator kind in a place it cannot stand' },
  'partition-missing-assign-key': { severity: 'error', summary: 'a top-level partition without `assign-key`' },
  'service-no-source': { severity: 'error', summary: 'a service without sources' },
  'service-no-effect': { severity: 'warning', summary: 'a service with no sink and no owned state' },
  'sink-unreachable': { severity: 'error', summary: 'a sink no record can reach (its window has no flush)' },
  'topic-cycle': { severity: 'error', summary: 'services that feed each other through topics' },
  'type-mismatch': { severity: 'error', summary: "a step's input type differs from what arrives" },
  'return-type-mismatch': { severity: 'error', summary: "a function's return type does not fit its operator" },
  'merge-type-mismatch': { severity: 'error', summary: 'merged sources arrive at different types' },
  'sink-type-mismatch': { severity: 'error', summary: "what a sink writes differs from its topic's type" },
  'invalid-partitions': { severity: 'error', summary: '`config.partitions` is not an integer from 1 to 1024' },
} as const satisfies Record<string, { severity: Severity; summary: string }>;

export type PlanDiagnosticCode = keyof typeof PLAN_DIAGNOSTICS;

export function diagnostic(code: PlanDiagnosticCode, pos: SourcePos, message: string, hint?: string): Diagnostic {
  return { severity: PLAN_DIAGNOSTICS[code].severity, code, message, ...(hint !== undefined ? { hint } : {}), pos };
}

/** In file order (stable for equal positions), the way a user reads them. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort(
    (a, b) =>
      a.pos.file.localeCompare(b.pos.file) || a.pos.line - b.pos.line || a.pos.col - b.pos.col,
  );
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}
