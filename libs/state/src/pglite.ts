/**
 * Embedded adapter: PGlite, a real PostgreSQL compiled to WebAssembly, in this process. Loaded
 * with a dynamic import so that distributed mode never pays for it. A data directory is held by
 * one store at a time (a `<dataDir>.lock` file with the holder's pid), since two PostgreSQL
 * instances on one directory would corrupt it.
 */
import type { PGlite } from '@electric-sql/pglite';
import { execFile } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { commonError, INT8_OID, parseInt8, type SqlDriver, type SqlRunner } from './driver.ts';
import { StateDatabaseError, StateLockedError } from './errors.ts';
import { compilePgliteStoreOptions, type PgliteStoreOptions } from './options.ts';
import { SqlStateStore } from './store.ts';
import type { StateStore } from './types.ts';


/**
 * Opens (creating when needed) an embedded store. The first open of a new directory runs initdb
 * (~4-8 s, ~40-80 MB on disk) in a child process, which keeps this process responsive and its
 * memory at ~350 MB instead of ~850 MB; later opens take ~0.5 s.
 *
 * @example
 * const store = await openPgliteStore({ dataDir: '.ssdk/state', schema: 'ssdk_examples_word_count' });
 */
export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<StateStore> {
  const compiled = compilePgliteStoreOptions(options);
  const dataDir = compiled.dataDir === undefined ? undefined : resolve(compiled.dataDir);
  const unlock = dataDir === undefined ? undefined : await lockDirectory(dataDir);
  try {
    if (dataDir !== undefined) await initdbInChild(dataDir);
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), parsers: { [INT8_OID]: parseInt8 } });
    return new SqlStateStore(new PgliteDriver(db), {
      schema: compiled.schema,
      queryTimeoutMs: 0,
      queryRole: undefined,
      queryRowLimit: 10_000,
      ...(unlock ? { onClose: unlock } : {}),
    });
  } catch (error) {
    await unlock?.();
    throw (
      commonError(error, 'open PGlite') ??
      new StateDatabaseError(
        `cannot open the embedded state database${dataDir ? ` in ${dataDir}` : ''}: ${(error as Error)?.message ?? String(error)}` +
          (dataDir ? ' (if it is damaged, `ssdk clean` removes it)' : ''),
        { cause: error },
      )
    );
  }
}

class PgliteDriver implements SqlDriver {
  readonly kind = 'pglite';
  readonly #db: PGlite;

  constructor(db: PGlite) {
    this.#db = db;
  }

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return (await this.#db.query<R>(sql, params as unknown[])).rows;
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) =>
      fn({
        query: async <R>(sql: string, params: readonly unknown[] = []) => (await tx.query<R>(sql, params as unknown[])).rows,
      }),
    );
  }

  async close(): Promise<void> {
    if (!this.#db.closed) await this.#db.close();
  }
}

const INITDB_SCRIPT = `
const [module, dataDir] = process.argv.slice(1);
require(module).PGlite.create({ dataDir }).then((db) => db.close()).then(
  () => process.exit(0),
  (error) => { console.error((error && error.stack) || error); process.exit(1); },
);
`;

/**
 * Creates a new (empty or missing) data directory in a child process, so initdb's memory (~500 MB
 * of WebAssembly heap) never counts against this one and its event loop keeps running. On any
 * failure the directory is removed again and the in-process open does initdb itself (and reports
 * errors).
 */
async function initdbInChild(dataDir: string): Promise<void> {
  const entries = await readdir(dataDir).catch(() => [] as string[]);
  if (entries.length > 0) return;
  try {
    const module = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    await new Promise<void>((done, fail) => {
      execFile(process.execPath, ['-e', INITDB_SCRIPT, module, dataDir], { timeout: 300_000 }, (error) => (error ? fail(error) : done()));
    });
  } catch {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Takes `<dataDir>.lock`; a lock whose process is gone is taken over. Returns the release. */
async function lockDirectory(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = `${dataDir}.lock`;
  await mkdir(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        await rm(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new StateLockedError(
          `the state directory ${dataDir} is in use by process ${pid}${pid === process.pid ? ' (this one: close the other store first)' : ''}; ` +
            'stop that process, or give this run another state directory (--state-dir)',
        );
      }
      await rm(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new StateLockedError(`cannot lock the state directory ${dataDir} (${lockPath} keeps reappearing)`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
