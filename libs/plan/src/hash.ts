/**
 * The plan hash: sha256 of the canonical JSON of the plan document without its `hash`. The
 * document holds no positions, file paths or comments, so moving or reformatting the services
 * file keeps the hash; any change to what runs (a step, a type, a window, a topic, the
 * partitions, the options) changes it.
 */
import { createHash } from 'node:crypto';
import type { PhysicalPlan } from './document.ts';

/** JSON with object keys sorted at every level and `undefined` members left out. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function planHash(plan: Omit<PhysicalPlan, 'hash'> | PhysicalPlan): string {
  const { hash: _ignored, ...rest } = plan as PhysicalPlan;
  return sha256Hex(canonicalJson(rest));
}
