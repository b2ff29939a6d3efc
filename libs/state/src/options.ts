/**
 * Options of the two adapters, typed then compiled: every field optional with its `@default`,
 * `compile*` fills the defaults, checks ranges and returns a complete object.
 */
import { DEFAULT_SUBJECT_PREFIX } from '@ssdk/settings';
import { createHash } from 'node:crypto';
import { redact } from '@ssdk/records';
import { StateConfigError } from './errors.ts';
import { identifierProblem } from './schema.ts';

export interface PgliteStoreOptions {
  /** Directory of the embedded database (created when missing); undefined = in memory. @default undefined */
  dataDir?: string;
  /** Schema holding the dataflow's tables. @default 'ssdk' */
  schema?: string;
  /**
   * Time limit of `query()` (ctx.sql) in ms; 0 = none. PGlite cannot cancel a statement, so the
   * store runs it on a thread of its own and, past the limit, ends that thread and reopens the
   * database. @default 10000
   */
  queryTimeoutMs?: number;
}

export interface PostgresPoolOptions {
  /** Connections in the pool. @default 4 */
  max?: number;
  /** Close a connection idle this long, in ms. @default 30000 */
  idleTimeoutMs?: number;
  /** Give up a connection attempt after this long, in ms (then StateUnavailableError). @default 5000 */
  connectTimeoutMs?: number;
}

export interface PostgresStoreOptions {
  /** `postgres://user:pass@host:port/db`. @default process.env.DATABASE_URL */
  connectionString?: string;
  /** Schema holding the dataflow's tables. @default 'ssdk' */
  schema?: string;
  pool?: PostgresPoolOptions;
  /** `application_name` of the connections, as `pg_stat_activity` shows it. @default 'ssdk-state' */
  applicationName?: string;
  /** statement_timeout of `query()` (ctx.sql) in ms; 0 = none. @default 10000 */
  queryTimeoutMs?: number;
  /**
   * Role `query()` (ctx.sql, `ssdk state --sql`) runs as (SET LOCAL ROLE): `migrate()` creates it
   * (NOLOGIN) and grants it SELECT on the schema's state tables only — no other schema, no
   * `_offsets`/`_leases`/`_members`, no superuser functions such as `pg_read_file`. `false` runs
   * queries as the pool's user (trusted SQL only). @default sqlRoleOf(schema)
   */
  queryRole?: string | false;
  /** Most rows `query()` returns; a query that would return more fails with the limit. @default 10000 */
  queryRowLimit?: number;
  /** Errors of idle pooled connections (a restarted server); they are otherwise ignored. @default undefined */
  onError?: (error: Error) => void;
}

/** `openStateStore`: a `connectionString` selects PostgreSQL, otherwise PGlite (embedded). */
export type StateStoreOptions = PgliteStoreOptions & PostgresStoreOptions;

export interface CompiledPgliteStoreOptions {
  kind: 'pglite';
  dataDir: string | undefined;
  schema: string;
  queryTimeoutMs: number;
}

export interface CompiledPostgresStoreOptions {
  kind: 'postgres';
  connectionString: string;
  schema: string;
  pool: Required<PostgresPoolOptions>;
  applicationName: string;
  queryTimeoutMs: number;
  queryRole: string | undefined;
  queryRowLimit: number;
  onError: (error: Error) => void;
}

export type CompiledStateStoreOptions = CompiledPgliteStoreOptions | CompiledPostgresStoreOptions;

export const DEFAULT_SCHEMA = 'ssdk';

export function compilePgliteStoreOptions(options: PgliteStoreOptions = {}): CompiledPgliteStoreOptions {
  return {
    kind: 'pglite',
    dataDir: options.dataDir === undefined || options.dataDir === '' ? undefined : options.dataDir,
    schema: checkSchema(options.schema ?? DEFAULT_SCHEMA),
    queryTimeoutMs: checkMs('queryTimeoutMs', options.queryTimeoutMs ?? QUERY_TIMEOUT_MS, 0),
  };
}

/** The default time limit of a `query()` (ctx.sql, `ssdk state --sql`), both adapters. */
const QUERY_TIMEOUT_MS = 10_000;

export function compilePostgresStoreOptions(
  options: PostgresStoreOptions = {},
  env: Record<string, string | undefined> = process.env,
): CompiledPostgresStoreOptions {
  const connectionString = options.connectionString ?? env.DATABASE_URL;
  if (!connectionString) {
    throw new StateConfigError('no PostgreSQL connection string: pass connectionString (--postgres URL) or set DATABASE_URL');
  }
  if (!/^postgres(ql)?:\/\//.test(connectionString)) {
    throw new StateConfigError(`the PostgreSQL connection string must start with postgres://, got ${redact(connectionString)}`);
  }
  const schema = checkSchema(options.schema ?? DEFAULT_SCHEMA);
  const queryRowLimit = options.queryRowLimit ?? 10_000;
  if (!Number.isSafeInteger(queryRowLimit) || queryRowLimit < 1) throw new StateConfigError(`queryRowLimit must be a whole number of 1 or more, got ${String(queryRowLimit)}`);
  if (options.queryRole) checkRole(options.queryRole);
  const max = options.pool?.max ?? 4;
  if (!Number.isInteger(max) || max < 1 || max > 1000) throw new StateConfigError(`pool.max must be an integer from 1 to 1000, got ${String(max)}`);
  return {
    kind: 'postgres',
    connectionString,
    schema,
    pool: {
      max,
      idleTimeoutMs: checkMs('pool.idleTimeoutMs', options.pool?.idleTimeoutMs ?? 30_000, 0),
      connectTimeoutMs: checkMs('pool.connectTimeoutMs', options.pool?.connectTimeoutMs ?? 5_000, 1),
    },
    applicationName: options.applicationName ?? 'ssdk-state',
    queryTimeoutMs: checkMs('queryTimeoutMs', options.queryTimeoutMs ?? QUERY_TIMEOUT_MS, 0),
    queryRole: options.queryRole === false ? undefined : (options.queryRole || sqlRoleOf(schema)),
    queryRowLimit,
    onError: options.onError ?? (() => {}),
  };
}

export function compileStateStoreOptions(options: StateStoreOptions = {}): CompiledStateStoreOptions {
  return options.connectionString !== undefined ? compilePostgresStoreOptions(options) : compilePgliteStoreOptions(options);
}

/**
 * The schema of a dataflow, one per dataflow and never shared (names are injective):
 * `ssdk_<namespace>_<name>` with `-` as `_` when that spelling says which dataflow it is — a
 * namespace of lowercase letters and digits and a kebab-case name, or a name of letters and digits
 * with no namespace (`examples/word-count` → `ssdk_examples_word_count`, as before). Any other
 * name (`pipe_a`, `My Flow`, a namespace with `-`, past 63 bytes) is cleaned and gets `__` and a
 * hash of the exact namespace and name, so `pipe-a` and `pipe_a` never share state, offsets or
 * leases; `__` never occurs in the plain spelling, so a hashed name cannot equal a plain one.
 * Under a subject prefix other than `ssdk` the prefix is part of the name (and of its hash): the
 * same dataflow under another prefix reads other streams, so it gets its own state and offsets.
 */
export { DEFAULT_SUBJECT_PREFIX };

/** See above. */
export function dataflowSchema(namespace: string | undefined, name: string, subjectPrefix = DEFAULT_SUBJECT_PREFIX): string {
  const ns = namespace ?? '';
  const word = /^[a-z0-9]+$/;
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  // Another subject prefix is another set of streams: its offsets and state are its own (the
  // prefix is in the hash, so no two prefixes share a schema).
  if (subjectPrefix !== DEFAULT_SUBJECT_PREFIX) {
    const suffix = `__${createHash('sha256').update(JSON.stringify([subjectPrefix, ns, name])).digest('hex').slice(0, 10)}`;
    const base = ['ssdk', clean(subjectPrefix), clean(ns), clean(name)].filter(Boolean).join('_');
    return base.slice(0, 63 - suffix.length).replace(/_+$/, '') + suffix;
  }
  const plain = ns === '' ? word.test(name) : word.test(ns) && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(name);
  const joined = ['ssdk', ...(ns ? [ns] : []), name].join('_').replace(/-/g, '_');
  if (plain && joined.length <= 63) return joined;
  const suffix = `__${createHash('sha256').update(JSON.stringify([ns, name])).digest('hex').slice(0, 10)}`;
  const base = ['ssdk', clean(ns), clean(name)].filter(Boolean).join('_');
  return base.slice(0, 63 - suffix.length).replace(/_+$/, '') + suffix;
}

/**
 * The role a dataflow's SQL runs as: `<schema>_sql` (a hash past 63 bytes). One per schema, so
 * a function of one dataflow never reads another's state.
 */
export function sqlRoleOf(schema: string): string {
  const role = `${schema}_sql`;
  if (role.length <= 63) return role;
  const suffix = `_${createHash('sha256').update(schema).digest('hex').slice(0, 10)}_sql`;
  return schema.slice(0, 63 - suffix.length) + suffix;
}

function checkRole(role: string): void {
  const problem = identifierProblem(role);
  if (problem) throw new StateConfigError(`the SQL role name ${JSON.stringify(role)} ${problem}`);
}

function checkSchema(schema: string): string {
  const problem = identifierProblem(schema);
  if (problem) throw new StateConfigError(`the state schema name ${JSON.stringify(schema)} ${problem}`);
  if (schema.startsWith('pg_')) throw new StateConfigError(`the state schema name "${schema}" is reserved by PostgreSQL (pg_*)`);
  return schema;
}

function checkMs(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw new StateConfigError(`${name} must be a number of ms >= ${min}, got ${String(value)}`);
  return Math.round(value);
}
