/**
 * The operator registry: what the planner needs to know about each operator kind, in one
 * exhaustive `switch`. Adding a kind to `@ssdk/spec` fails to compile here until it is placed.
 */
import type { OperatorKind } from '@ssdk/spec';
import { assertNever } from './assert-never.ts';

export interface OperatorTraits {
  /** Keeps no state of its own, so consecutive stateless steps may be fused into one unit. */
  stateless: boolean;
  /**
   * Decides where a record goes (its key: the partition of the keyed step after it; its time:
   * the window), not what it is: it runs in the unit that sends records on (physical/units.ts).
   */
  routes: boolean;
  /** Where the kind may stand, for hints (`operator-misplaced`). */
  belongs: string;
}

export function operatorTraits(kind: OperatorKind): OperatorTraits {
  switch (kind) {
    case 'filter':
    case 'map':
    case 'filter-map':
    case 'flat-map':
      return { stateless: true, routes: false, belongs: 'a `transforms` list' };
    case 'assign-key':
      return { stateless: true, routes: true, belongs: '`partition.assign-key` (or `window.partition.assign-key`)' };
    case 'assign-timestamp':
      return { stateless: true, routes: true, belongs: '`window.assign-timestamp`' };
    case 'update-state':
      return { stateless: false, routes: false, belongs: '`partition.update-state` (or `window.partition.update-state`)' };
    case 'flush':
      return { stateless: false, routes: false, belongs: '`window.flush`' };
    default:
      return assertNever(kind);
  }
}

/**
 * The step whose value a chain's records leave with, to blame a value its topic refuses on: the
 * last step that does not only route (a key or time step passes the value on as it got it); a
 * chain of routing steps alone, its last.
 */
export function lastValueStep<S extends { operator: OperatorKind }>(steps: readonly S[]): S | undefined {
  for (let i = steps.length - 1; i >= 0; i--) if (!operatorTraits(steps[i]!.operator).routes) return steps[i];
  return steps.at(-1);
}
