import type * as ContainerModuleNs from '@testcontainers/postgresql';
import { TestServerUnavailableError } from './errors.ts';
import { uniqueName } from './names.ts';
import { pgExec } from './pg-wire.ts';

export interface TestPostgres {
  connectionString: string;
  /** A schema created for this call; `cleanup` drops it. */
  schema: string;
  /** Where the server came from. */
  source: 'env' | 'local' | 'container';
  /** Drops the schema (idempotent). */
  cleanup(): Promise<void>;
}

export interface TestPostgresOptions {
  /** Prefix of the schema name. @default 'ssdk_test' */
  prefix?: string;
  /** @internal tests: the environment to read DATABASE_URL from. @default process.env */
  env?: Record<string, string | undefined>;
  /** @internal tests: the local server tried second. @default LOCAL_POSTGRES_URL */
  localUrl?: string;
  /** Try testcontainers (needs Docker) when nothing else answers. @default true */
  containers?: boolean;
}

/** The server these machines run (trust authentication, database `test`). */
export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const POSTGRES_IMAGE = 'postgres:15-alpine';
export const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

type ContainerModule = typeof ContainerModuleNs;
type Base = { url: string; source: TestPostgres['source'] };
const resolved = new Map<string, Promise<Base>>();
let container: Promise<{ url: string; stop(): Promise<void> }> | undefined;

/**
 * A PostgreSQL server for an integration test, and a fresh schema on it: `DATABASE_URL` when set,
 * else the local server at 127.0.0.1:5432 when it answers, else a testcontainers container
 * (when Docker is there), else an error that says how to start one.
 *
 * @example
 * const pg = await testPostgres();
 * const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
 * afterAll(() => store.close().then(pg.cleanup));
 */
export async function testPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const env = options.env ?? process.env;
  const localUrl = options.localUrl ?? LOCAL_POSTGRES_URL;
  const cacheKey = JSON.stringify([env.DATABASE_URL ?? null, localUrl, options.containers !== false]);
  let base = resolved.get(cacheKey);
  if (!base) {
    base = findPostgres(env.DATABASE_URL, localUrl, options.containers !== false);
    resolved.set(cacheKey, base);
    base.catch(() => resolved.delete(cacheKey)); // a failure is not remembered
  }
  const { url, source } = await base;
  const schema = uniqueName(options.prefix ?? 'ssdk_test');
  await pgExec(url, [`CREATE SCHEMA "${schema}"`]);
  return {
    connectionString: url,
    schema,
    source,
    cleanup: () => pgExec(url, [`DROP SCHEMA IF EXISTS "${schema}" CASCADE`]),
  };
}

/** Stops the container testPostgres started, if any (testcontainers' reaper does it at exit too). */
export async function stopTestPostgres(): Promise<void> {
  const started = container;
  container = undefined;
  resolved.clear();
  if (started) await (await started).stop();
}

async function findPostgres(envUrl: string | undefined, localUrl: string, containers: boolean): Promise<Base> {
  if (envUrl) {
    try {
      await pgExec(envUrl, ['SELECT 1']);
      return { url: envUrl, source: 'env' };
    } catch (cause) {
      throw new TestServerUnavailableError(`DATABASE_URL is set but PostgreSQL does not answer there: ${describeError(cause)}`, { cause });
    }
  }
  const tried: string[] = [];
  try {
    await pgExec(localUrl, ['SELECT 1']);
    return { url: localUrl, source: 'local' };
  } catch (cause) {
    tried.push(`${localUrl}: ${describeError(cause)}`);
  }
  if (containers) {
    try {
      container ??= startContainer();
      return { url: (await container).url, source: 'container' };
    } catch (cause) {
      container = undefined;
      tried.push(`testcontainers (${POSTGRES_IMAGE}): ${describeError(cause)}`);
    }
  }
  throw new TestServerUnavailableError(
    `no PostgreSQL for integration tests. Tried:\n  - ${tried.join('\n  - ')}\n` +
      `Start the local server with:\n  ${START_POSTGRES}\n` +
      'or set DATABASE_URL=postgres://user:password@host:port/db, or install Docker for testcontainers.',
  );
}

async function startContainer(): Promise<{ url: string; stop(): Promise<void> }> {
  let module: ContainerModule;
  try {
    module = await import('@testcontainers/postgresql');
  } catch (cause) {
    throw new Error('@testcontainers/postgresql is not installed', { cause });
  }
  const started = await new module.PostgreSqlContainer(POSTGRES_IMAGE).start();
  return { url: started.getConnectionUri(), stop: async () => void (await started.stop()) };
}

export function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const text = e?.message || String(error);
  return e?.code && !text.includes(e.code) ? `${e.code} ${text}` : text;
}
