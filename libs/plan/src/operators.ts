/**
 * The operator registry: what the planner needs to know about each operator kind, in one
 * exhaustive `switch`. Adding a kind to `@ssdk/spec` fails to compile here until it is placed.
 */
import type { OperatorKind } from '@ssdk/spec';
import { assertNever } from './assert-never.ts';

export interface OperatorTraits {
  /** Keeps no state of its own, so consecutive stateless steps may be fused into one unit. */
  stateless: boolean;
  /** Where the kind may stand, for hints (`operator-misplaced`). */
  belongs: string;
}

export function operatorTraits(kind: OperatorKind): OperatorTraits {
  switch (kind) {
    case 'filter':
    case 'map':
    case 'filter-map':
    case 'flat-map':
      return { stateless: true, belongs: 'a `transforms` list' };
    case 'assign-key':
      return { stateless: true, belongs: '`partition.assign-key` (or `window.partition.assign-key`)' };
    case 'assign-timestamp':
      return { stateless: true, belongs: '`window.assign-timestamp`' };
    case 'update-state':
      return { stateless: false, belongs: '`partition.update-state` (or `window.partition.update-state`)' };
    case 'flush':
      return { stateless: false, belongs: '`window.flush`' };
    default:
      return assertNever(kind);
  }
}
