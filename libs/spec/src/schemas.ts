/**
 * zod schemas for the leaf values the services file shares across sections (durations,
 * converters, ssdk's runtime settings ...). Messages are written for users: a constraint's
 * message is the hint shown under the diagnostic.
 */
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './durations.ts';
import { fail } from './reader.ts';

export const text = z.string();
export const flag = z.boolean();

/** Text, also when YAML read it as a number or boolean (`version: 1`, `value: 0`). */
export const textLike = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fail(ctx, { code: 'invalid-type', expected: 'text' });
});

/** A duration in milliseconds (`20s`, `1m30s`, `500`). */
export const duration = z.unknown().transform((value, ctx) => {
  const ms = typeof value === 'string' || typeof value === 'number' ? parseDuration(value) : undefined;
  return ms ?? fail(ctx, { code: 'invalid-duration', what: 'duration', hint: DURATION_HINT });
});

/** A duration that must be longer than zero (window sizes, timeouts). */
export const positiveDuration = duration.pipe(
  z.number().min(1, { error: 'a duration here must be longer than zero' }),
);

export const converter = z.enum(['json', 'raw']);

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
export const semver = textLike.pipe(
  z.string().regex(SEMVER, { error: 'use a semantic version such as `0.1.0`' }),
);

export const GRANTS = ['http', 'clock', 'env', 'random'] as const;

/** ssdk's own settings: in `config`, and as per-step overrides under the same names. */
export const settingsShape = {
  partitions: z
    .int()
    .min(1, { error: 'partitions must be a whole number from 1 to 1024' })
    .max(1024, { error: 'partitions must be a whole number from 1 to 1024' })
    .optional(),
  isolation: z.enum(['wasm', 'native']).optional(),
  'function-timeout': positiveDuration.optional(),
  grants: z.array(z.enum(GRANTS)).optional(),
};
