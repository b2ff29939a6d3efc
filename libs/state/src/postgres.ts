/**
 * Distributed adapter: a PostgreSQL server through a `pg` pool. Loaded with a dynamic import so
 * embedded mode never loads `pg`. Connections open lazily: opening the store does not need the
 * server up; the first statement that cannot reach it fails with a retryable
 * StateUnavailableError (wrap commits in `withRetry`).
 */
import type { default as PgModule, Pool, PoolClient, QueryConfig } from 'pg';
import { INT8_OID, isTransient, parseInt8, type SqlDriver, type SqlRunner } from './driver.ts';
import { compilePostgresStoreOptions, type PostgresStoreOptions } from './options.ts';
import { SqlStateStore } from './store.ts';
import type { StateStore } from './types.ts';

/**
 * @example
 * const store = await openPostgresStore({ connectionString: process.env.DATABASE_URL, schema: 'ssdk_examples_word_count' });
 */
export async function openPostgresStore(options: PostgresStoreOptions = {}): Promise<StateStore> {
  const compiled = compilePostgresStoreOptions(options);
  const { default: pg } = await import('pg');
  const pool = openPool(pg, compiled);
  return new SqlStateStore(new PgDriver(pool), {
    schema: compiled.schema,
    queryTimeoutMs: compiled.queryTimeoutMs,
    queryRole: compiled.queryRole,
    queryRowLimit: compiled.queryRowLimit,
  });
}

type Pg = typeof PgModule;

function openPool(pg: Pg, compiled: ReturnType<typeof compilePostgresStoreOptions>): Pool {
  const pool = new pg.Pool({
    connectionString: compiled.connectionString,
    max: compiled.pool.max,
    idleTimeoutMillis: compiled.pool.idleTimeoutMs,
    connectionTimeoutMillis: compiled.pool.connectTimeoutMs,
    application_name: compiled.applicationName,
    keepAlive: true,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection that the server closes (restart, admin shutdown) must not crash the
  // process; the pool drops it and opens a new one on demand.
  pool.on('error', (error) => compiled.onError(error));
  return pool;
}

/** A PostgreSQL database to run any SQL in (transactions included): what connectors write to. */
export type SqlDatabase = SqlDriver;

/**
 * A pool on a database that is not a state store (a sql-sink's target, a postgres-source's
 * table), with the same connection handling; `pg` stays in this lib. Opens lazily, like the
 * store: the first statement that cannot reach the server fails with a transient error.
 */
export function openPostgresDatabase(options: Pick<PostgresStoreOptions, 'connectionString' | 'applicationName' | 'pool'>): SqlDatabase {
  const compiled = compilePostgresStoreOptions(options);
  let driver: Promise<PgDriver> | undefined;
  const open = () => (driver ??= import('pg').then(({ default: pg }) => new PgDriver(openPool(pg, compiled))));
  return {
    kind: 'postgres',
    query: async (sql, params) => (await open()).query(sql, params),
    transaction: async (fn) => (await open()).transaction(fn),
    close: async () => {
      if (driver) await (await driver).close();
    },
  };
}

/** Always the extended protocol: one statement per string, even without parameters. */
function statement(sql: string, params: readonly unknown[]): QueryConfig {
  return { text: sql, values: params as unknown[], queryMode: 'extended' } as QueryConfig;
}

class PgDriver implements SqlDriver {
  readonly kind = 'postgres';
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return (await this.#pool.query(statement(sql, params))).rows as R[];
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.#pool.connect();
    // While checked out, a dropped connection emits 'error' on the client: the running
    // statement fails with it, and this listener keeps it from crashing the process.
    const ignore = () => {};
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(statement(sql, params))).rows as R[],
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (isTransient(error)) broken = error as Error;
      else {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
      }
      throw error;
    } finally {
      client.off('error', ignore);
      // A broken connection is destroyed rather than handed to the next caller.
      client.release(broken ?? false);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/**
 * Whether a PostgreSQL server answers at `connectionString` (one connection, `SELECT 1`).
 * Resolves false on any failure; for scripts and health checks.
 */
export async function probePostgres(connectionString: string, timeoutMs = 2_000): Promise<boolean> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
