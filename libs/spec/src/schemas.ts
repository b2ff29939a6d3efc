/**
 * zod schemas for the leaf values the services file shares across sections (durations,
 * converters, ssdk's runtime settings ...). Messages are written for users: a constraint's
 * message is the hint shown under the diagnostic.
 */
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './durations.ts';
import { fail } from './reader.ts';
import { closest } from './suggest.ts';

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
/** Grants written as a bare word; `env` names its variables: `{env: [NAME, ...]}`. */
const WORD_GRANTS = ['clock', 'random', 'http'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_HINT = 'name the variables a function may read: `- env: [API_URL, REGION]`';

const HTTP_HOST = /^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;
const HTTP_HINT = 'name the hosts a function may call: `- http: [api.example.com, "localhost:8080", "*.example.org"]`';

/** One item of `grants`: `clock`, `random`, `http` (any host), `{http: [HOST, ...]}`, or `{env: [NAME, ...]}`. */
export const grant = z.unknown().transform((value, ctx): (typeof WORD_GRANTS)[number] | { env: string[] } | { http: string[] } => {
  if (typeof value === 'string') {
    if ((WORD_GRANTS as readonly string[]).includes(value)) return value as (typeof WORD_GRANTS)[number];
    if (value === 'env') return fail(ctx, { code: 'invalid-value', hint: ENV_HINT });
    const near = closest(value, [...WORD_GRANTS, 'env']);
    const allowed = `grants are \`clock\`, \`random\`, \`http\`, \`{http: [HOST, ...]}\` and \`{env: [NAME, ...]}\``;
    return fail(ctx, { code: 'invalid-value', hint: near ? `did you mean \`${near}\`? ${allowed}` : allowed });
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    const names = entries.length === 1 && entries[0]![0] === 'env' ? entries[0]![1] : undefined;
    if (Array.isArray(names) && names.every((n) => typeof n === 'string' && ENV_NAME.test(n))) return { env: [...new Set(names as string[])] };
    if (entries.length === 1 && entries[0]![0] === 'http') {
      const hosts = entries[0]![1];
      if (Array.isArray(hosts) && hosts.length > 0 && hosts.every((h) => typeof h === 'string' && HTTP_HOST.test(h))) return { http: [...new Set(hosts as string[])] };
      return fail(ctx, { code: 'invalid-value', hint: HTTP_HINT });
    }
  }
  return fail(ctx, { code: 'invalid-value', hint: `${ENV_HINT}; other grants are the words \`clock\`, \`random\`, \`http\`` });
});

/** `isolation`: `wasm` (the sandbox; `sandbox` is the same) or `native` (trusted code, in V8). */
const isolation = z.enum(['wasm', 'sandbox', 'native']).transform((v): 'wasm' | 'native' => (v === 'native' ? 'native' : 'wasm'));

/** ssdk's own settings: in `config`, and as per-step overrides under the same names. */
export const settingsShape = {
  partitions: z
    .int()
    .min(1, { error: 'partitions must be a whole number from 1 to 1024' })
    .max(1024, { error: 'partitions must be a whole number from 1 to 1024' })
    .optional(),
  isolation: isolation.optional(),
  'function-timeout': positiveDuration.optional(),
  grants: z.array(grant).optional(),
};
