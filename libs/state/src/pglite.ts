/**
 * Embedded adapter: PGlite, a real PostgreSQL compiled to WebAssembly, in this process. Loaded
 * with a dynamic import so that distributed mode never pays for it. A data directory is held by
 * one store at a time (a `<dataDir>.lock` file with the holder's pid), since two PostgreSQL
 * instances on one directory would corrupt it.
 */
import { execFile } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { dirname, resolve } from 'node:path';
import { commonError, type SqlDriver, type SqlRunner } from './driver.ts';
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
    const driver = await PgliteThreadDriver.open(dataDir);
    return new SqlStateStore(driver, {
      schema: compiled.schema,
      // In memory, ending the thread would lose the database: no limit there.
      queryTimeoutMs: dataDir === undefined ? 0 : compiled.queryTimeoutMs,
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

interface WorkerError {
  message: string;
  code?: string;
  hint?: string;
  detail?: string;
}

type Reply = { id: number; rows: unknown[] } | { id: number; error: WorkerError };

/**
 * PGlite on a thread of its own (`pglite-worker.mjs`). A PGlite statement cannot be cancelled
 * (WebAssembly has no signals, so `statement_timeout` never fires) and blocks its thread: on the
 * main thread a `pg_sleep(25)` in `ctx.sql` stopped the whole run, timers included. Here a
 * transaction given `timeoutMs` that runs past it ends the thread — a crash of a read-only
 * transaction, which PostgreSQL recovers from on the next open — and the database is opened
 * again (about half a second) before the next statement. One statement or transaction at a time,
 * as on PGlite's one connection.
 */
class PgliteThreadDriver implements SqlDriver {
  readonly kind = 'pglite';
  readonly #dataDir: string | undefined;
  #worker!: Worker;
  #exited: Promise<void> = Promise.resolve();
  readonly #pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  /** The end of the statement or transaction in progress: the next one starts after it. */
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Settles once the database is open again after a stopped statement (a failed reopen fails what comes next). */
  #reopened: Promise<void> = Promise.resolve();

  private constructor(dataDir: string | undefined) {
    this.#dataDir = dataDir;
  }

  static async open(dataDir: string | undefined): Promise<PgliteThreadDriver> {
    const driver = new PgliteThreadDriver(dataDir);
    await driver.#start();
    return driver;
  }

  async #start(): Promise<void> {
    const worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), { workerData: { dataDir: this.#dataDir } });
    this.#worker = worker;
    this.#exited = new Promise((done) => worker.once('exit', () => done()));
    await new Promise<void>((ready, fail) => {
      const onError = (error: Error) => fail(error);
      worker.once('error', onError);
      worker.once('message', (m: { ready: boolean; error?: WorkerError }) => {
        worker.off('error', onError);
        if (m.ready) ready();
        else fail(toError(m.error!));
      });
    });
    worker.on('message', (m: Reply) => {
      const waiting = this.#pending.get(m.id);
      if (!waiting) return;
      this.#pending.delete(m.id);
      if ('error' in m) waiting.reject(toError(m.error));
      else waiting.resolve(m.rows);
    });
    // An error thrown on the thread ends it: the statements waiting fail with it (below).
    let failure = '';
    worker.on('error', (error) => (failure = `: ${error.message}`));
    worker.once('exit', (code) => {
      if (this.#worker !== worker) return;
      this.#failPending(new StateDatabaseError(`the embedded state database's thread stopped (exit code ${code})${failure}`));
    });
  }

  #failPending(error: Error): void {
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  #run<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    if (this.#closed) return Promise.reject(new StateDatabaseError('the embedded state database is closed'));
    const id = this.#nextId++;
    return new Promise<R[]>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
      this.#worker.postMessage({ id, sql, params });
    });
  }

  /** Runs `fn` once the statement or transaction before it ended (and the database is open again after a stop). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => this.#reopened).then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.#exclusive(() => this.#run<R>(sql, params));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    return this.#exclusive(async () => {
      const run = async () => {
        await this.#run('BEGIN');
        try {
          const result = await fn({ query: (sql, params) => this.#run(sql, params) });
          await this.#run('COMMIT');
          return result;
        } catch (error) {
          await this.#run('ROLLBACK').catch(() => {});
          throw error;
        }
      };
      const limit = options.timeoutMs;
      if (!limit) return run();
      const running = run();
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((done) => (timer = setTimeout(() => done('expired'), limit)));
      try {
        const first = await Promise.race([running, expired]);
        if (first !== 'expired') return first;
      } finally {
        clearTimeout(timer);
      }
      // Past its time: end the thread (the statement with it) and answer now; the database
      // opens again meanwhile, and the next statement waits for it.
      running.catch(() => {});
      this.#reopened = this.#restart();
      throw Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
    });
  }

  async #restart(): Promise<void> {
    const old = this.#worker;
    this.#failPending(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }));
    await old.terminate();
    await this.#exited;
    await this.#start();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#tail;
    await this.#reopened.catch(() => {});
    this.#closed = true;
    const id = this.#nextId++;
    const closed = new Promise<void>((done) => {
      this.#pending.set(id, { resolve: () => done(), reject: () => done() });
      this.#worker.postMessage({ op: 'close', id });
    });
    await Promise.race([closed, this.#exited]);
    await this.#worker.terminate();
  }
}

function toError(e: WorkerError): Error {
  return Object.assign(new Error(e.message), {
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.hint !== undefined ? { hint: e.hint } : {}),
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
  });
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
