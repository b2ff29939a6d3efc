/**
 * Options of the two adapters, typed then compiled: every field optional with its `@default`,
 * `compile*` fills the defaults, checks ranges and returns a complete object.
 */
import { redact } from '@ssdk/records';
import { StateConfigError } from './errors.ts';
import { identifierProblem } from './schema.ts';

export interface PgliteStoreOptions {
  /** Directory of the embedded database (created when missing); undefined = in memory. @default undefined */
  dataDir?: string;
  /** Schema holding the dataflow's tables. @default 'ssdk' */
  schema?: string;
  // No query timeout: PGlite runs statements on this thread and cannot interrupt one.
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
   * Role `query()` runs as (SET LOCAL ROLE). Give it SELECT on the schema only when functions'
   * SQL must not reach server functions a superuser could call. @default undefined (the pool's user)
   */
  queryRole?: string;
  /** Errors of idle pooled connections (a restarted server); they are otherwise ignored. @default undefined */
  onError?: (error: Error) => void;
}

/** `openStateStore`: a `connectionString` selects PostgreSQL, otherwise PGlite (embedded). */
export type StateStoreOptions = PgliteStoreOptions & PostgresStoreOptions;

export interface CompiledPgliteStoreOptions {
  kind: 'pglite';
  dataDir: string | undefined;
  schema: string;
}

export interface CompiledPostgresStoreOptions {
  kind: 'postgres';
  connectionString: string;
  schema: string;
  pool: Required<PostgresPoolOptions>;
  applicationName: string;
  queryTimeoutMs: number;
  queryRole: string | undefined;
  onError: (error: Error) => void;
}

export type CompiledStateStoreOptions = CompiledPgliteStoreOptions | CompiledPostgresStoreOptions;

export const DEFAULT_SCHEMA = 'ssdk';

export function compilePgliteStoreOptions(options: PgliteStoreOptions = {}): CompiledPgliteStoreOptions {
  return {
    kind: 'pglite',
    dataDir: options.dataDir === undefined || options.dataDir === '' ? undefined : options.dataDir,
    schema: checkSchema(options.schema ?? DEFAULT_SCHEMA),
  };
}

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
  const max = options.pool?.max ?? 4;
  if (!Number.isInteger(max) || max < 1 || max > 1000) throw new StateConfigError(`pool.max must be an integer from 1 to 1000, got ${String(max)}`);
  return {
    kind: 'postgres',
    connectionString,
    schema: checkSchema(options.schema ?? DEFAULT_SCHEMA),
    pool: {
      max,
      idleTimeoutMs: checkMs('pool.idleTimeoutMs', options.pool?.idleTimeoutMs ?? 30_000, 0),
      connectTimeoutMs: checkMs('pool.connectTimeoutMs', options.pool?.connectTimeoutMs ?? 5_000, 1),
    },
    applicationName: options.applicationName ?? 'ssdk-state',
    queryTimeoutMs: checkMs('queryTimeoutMs', options.queryTimeoutMs ?? 10_000, 0),
    queryRole: options.queryRole || undefined,
    onError: options.onError ?? (() => {}),
  };
}

export function compileStateStoreOptions(options: StateStoreOptions = {}): CompiledStateStoreOptions {
  return options.connectionString !== undefined ? compilePostgresStoreOptions(options) : compilePgliteStoreOptions(options);
}

/**
 * The schema of a dataflow: `ssdk_<namespace>_<name>`, lowercased, other characters as `_`
 * (e.g. `examples/word-count` → `ssdk_examples_word_count`), shortened with a hash past 63 bytes.
 */
export function dataflowSchema(namespace: string | undefined, name: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  const full = ['ssdk', ...(namespace ? [clean(namespace)] : []), clean(name)].filter(Boolean).join('_');
  if (full.length <= 63) return full;
  let hash = 0;
  for (const ch of full) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0;
  const suffix = `_${hash.toString(16).padStart(8, '0')}`;
  return full.slice(0, 63 - suffix.length) + suffix;
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
