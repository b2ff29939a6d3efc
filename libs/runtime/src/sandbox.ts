/**
 * Sandboxed functions for a runtime (embedded or an operator service): the dataflow's
 * WebAssembly components, built by `buildDataflow` (cached by content hash) and served as chains
 * through one wasm host.
 *
 * Processes of one stack build once: the build runs under a lock file in the state dir (and in
 * the shared component cache, when there is one), so the first process compiles and the others
 * wait, then find the component cached (bundling only, about a second). The build folder is
 * written in place by `buildDataflow`, so two processes building into it at once would clash.
 */
import { open, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { checkDataflow, type PlanOperator } from '@ssdk/plan';
import type { Dataflow } from '@ssdk/spec';
import { openWasmHost, unitIsolation, type WasmChain } from '@ssdk/wasm-host';
import { buildDataflow, componentCacheDir, type BuildResult } from '@ssdk/wasm-host/build';
import type { IsolationChoice, SandboxFactory } from './topology.ts';
import { unitSql, type StoreSql } from './unit-sql.ts';

export interface SandboxOptions {
  dataflow: Dataflow;
  /** `.ssdk/` of the services file (or `--state-dir`): the build goes to `<stateDir>/build`. */
  stateDir: string;
  /** A folder of components by content hash, shared between state dirs (machines, containers). @default `componentCacheDir()`: $SSDK_COMPONENT_CACHE, else the user's cache folder */
  componentCache?: string;
  /** Every TypeScript function in the component, `isolation: native` ones too (`--sandbox`). @default false */
  sandboxAll?: boolean;
  /** One line per component (building, built, cached) and while waiting for another process's build. */
  onBuild?: (line: string) => void;
  /** Answers the chains' `ctx.sql` (read-only, over committed state). Without it `ctx.sql` fails the record. */
  sql?: StoreSql;
}

export interface Sandbox {
  factory: SandboxFactory;
  /** Guest calls of every chain served so far (retries of split batches included). */
  guestCalls(): number;
  /** The component hashes the build made or found. */
  components: readonly string[];
  /** Closes every chain and the host's guest workers. Idempotent. */
  close(): Promise<void>;
}

/** Whether a unit runs in the sandbox under `choice` (a unit without functions never does). */
export function unitRunsSandboxed(op: PlanOperator, choice: IsolationChoice): boolean {
  if (op.steps.length === 0 || choice === 'native') return false;
  return choice === 'sandbox' || op.steps.some((s) => s.settings.isolation !== 'native');
}

/** Builds the dataflow's components (once per content hash across the processes sharing the state dir or cache). */
export async function buildComponents(o: Omit<SandboxOptions, 'sql'>): Promise<BuildResult> {
  const cache = await usableCache(o.componentCache ?? componentCacheDir());
  const { graph } = checkDataflow(o.dataflow);
  const onWait = (holder: string) => o.onBuild?.(`waiting for ${holder || 'another process'} to finish building the components`);
  const build = () =>
    buildDataflow({
      dataflow: o.dataflow,
      graph,
      stateDir: o.stateDir,
      ...(o.sandboxAll ? { sandboxAll: true } : {}),
      ...(cache ? { componentCache: cache } : {}),
      onProgress: (p) =>
        o.onBuild?.(
          p.status === 'building'
            ? `building ssdk's WebAssembly engine (${p.hash}): once per ssdk version on this machine, 15–20 s of CPU; a dataflow's edits then need no build`
            : `${p.status} component ${p.hash} for ${p.services.join(', ')} (${Math.round(p.ms)} ms)`,
        ),
    });
  // Always in the same order (state dir, then cache), so two processes never wait for each other.
  return withFileLock(join(o.stateDir, 'build.lock'), () => (cache ? withFileLock(join(cache, '.build.lock'), build, onWait) : build()), onWait);
}

/** The cache folder, made if need be; none when it cannot be (a read-only home in a container). */
async function usableCache(dir: string | undefined): Promise<string | undefined> {
  if (!dir) return undefined;
  try {
    await mkdir(dir, { recursive: true });
    return dir;
  } catch {
    return undefined;
  }
}

/** Builds the components and serves the sandboxed chains of the units the runtime asks for. */
export async function openSandbox(o: SandboxOptions): Promise<Sandbox> {
  const built = await buildComponents(o);
  return openBuiltSandbox(built.buildDir, o.sql ? { sql: o.sql } : {});
}

/** Serves sandboxed chains from a component build folder (built here, or fetched from a deployment). */
export async function openBuiltSandbox(buildDir: string, o: Pick<SandboxOptions, 'sql'> = {}): Promise<Sandbox> {
  const host = openWasmHost();
  const chains: WasmChain[] = [];
  let closed: Promise<void> | undefined;
  try {
    const build = await host.loadBuild(buildDir);
    return {
      components: Object.keys(build.manifest.components),
      async factory(op, steps, log) {
        const ids = steps.map((s) => s.id);
        if (unitIsolation(build.manifest, ids) === 'native') return undefined;
        const component = await build.componentFor(ids);
        const timeoutMs = Math.max(...op.steps.filter((s) => ids.includes(s.id)).map((s) => s.settings.functionTimeoutMs), 1);
        const chain = component?.chain({ steps, timeoutMs, ...(log ? { log } : {}), ...(o.sql ? { sql: unitSql(o.sql, op) } : {}) });
        if (chain) chains.push(chain);
        return chain;
      },
      guestCalls: () => chains.reduce((n, c) => n + c.stats.calls, 0),
      close() {
        closed ??= (async () => {
          for (const c of chains) c.close();
          await host.close();
        })();
        return closed;
      },
    };
  } catch (err) {
    await host.close();
    throw err;
  }
}

/** Tells this process's locks from those of an earlier process with the same host and pid (a restarted container's pid 1). */
const INCARNATION = randomBytes(6).toString('hex');

/** How long a lock whose holder cannot be checked (another host, e.g. a container) lives at most: a cold build takes 15–20 s of CPU. */
const FOREIGN_LOCK_TTL_MS = 10 * 60_000;

/**
 * Runs `fn` holding the lock file `path`, waiting while another process holds it. A lock whose
 * holder is gone (same host: its pid is dead; another host: older than FOREIGN_LOCK_TTL_MS) is
 * taken over. Liveness is not a heartbeat: componentize may block its event loop for seconds.
 */
async function withFileLock<T>(path: string, fn: () => Promise<T>, onWait: (holder: string) => void): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const me = { host: hostname(), pid: process.pid, incarnation: INCARNATION };
  let told = false;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(path);
    if (holder === 'gone') continue;
    if (holder === 'stale') {
      await rm(path, { force: true });
      continue;
    }
    if (!told) onWait(holder);
    told = true;
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

async function readHolder(path: string): Promise<string | 'gone' | 'stale'> {
  let text: string;
  let age: number;
  try {
    [text, age] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => Date.now() - s.mtimeMs)]);
  } catch {
    return 'gone';
  }
  let h: { host?: unknown; pid?: unknown; incarnation?: unknown };
  try {
    h = JSON.parse(text) as typeof h;
  } catch {
    // Being written this instant, or garbage left by a crash mid-write.
    return age > 5_000 ? 'stale' : '';
  }
  if (h.host === hostname() && typeof h.pid === 'number') {
    if (h.pid === process.pid) return h.incarnation === INCARNATION ? 'this process' : 'stale';
    return processAlive(h.pid) ? `process ${h.pid}` : 'stale';
  }
  return age > FOREIGN_LOCK_TTL_MS ? 'stale' : `process ${String(h.pid)} on ${String(h.host)}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
