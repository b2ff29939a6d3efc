/** Options of `planDataflow`, typed then compiled: defaults filled, ranges checked. */
import { DEFAULT_SUBJECT_PREFIX, SUBJECT_PREFIX_PATTERN } from '@ssdk/settings';
import type { RuntimeSettings } from '@ssdk/spec';
import { PlanOptionsError } from './errors.ts';

export interface PlanOptions {
  /**
   * Partitions of every topic the dataflow creates (user, internal, dead-letter, late-events).
   * An integer from 1 to {@link MAX_PARTITIONS}.
   * @default the file's `config.partitions`, else 8
   */
  partitions?: number;
  /**
   * Merge each run of consecutive stateless steps joined by forward edges into one operator
   * unit. Off by default, as the design card says: one operator service per step.
   * @default false
   */
  fuse?: boolean;
  /**
   * First token(s) of every NATS subject: letters, digits, `_` and `-`, dot-separated.
   * @default 'ssdk'
   */
  subjectPrefix?: string;
}

/** `PlanOptions` with every value present and checked. */
export interface CompiledPlanOptions {
  partitions: number;
  fuse: boolean;
  subjectPrefix: string;
}

export const DEFAULT_PARTITIONS = 8;
export const MAX_PARTITIONS = 1024;

export function isValidPartitions(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_PARTITIONS;
}

/**
 * Fills defaults (partitions from the file's `config` when the caller gives none) and checks
 * ranges. Throws `PlanOptionsError` for a value out of range: options come from code or the
 * command line, not from the services file.
 */
export function compilePlanOptions(options: PlanOptions = {}, settings: RuntimeSettings = {}): CompiledPlanOptions {
  const partitions = options.partitions ?? settings.partitions ?? DEFAULT_PARTITIONS;
  if (!isValidPartitions(partitions)) {
    throw new PlanOptionsError('partitions', `partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${String(partitions)}`);
  }
  const subjectPrefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  if (!SUBJECT_PREFIX_PATTERN.test(subjectPrefix)) {
    throw new PlanOptionsError(
      'subjectPrefix',
      `subjectPrefix must be dot-separated tokens of letters, digits, \`_\` and \`-\`, got \`${subjectPrefix}\``,
    );
  }
  return { partitions, fuse: options.fuse ?? false, subjectPrefix };
}
