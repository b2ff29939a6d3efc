/**
 * The host: loads components (built by `ssdk build`, or any `.wasm` implementing the
 * `ssdk:dataflow` chain world), transpiles each once (cached on disk by content hash), compiles
 * its core modules once (every guest worker shares them), and makes chains — one instance per
 * partition, up to one per worker.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createChainExecutor, type WasmChain, type WasmChainOptions } from './chain.ts';
import { encodeInput, WindowTable } from '../batch/host-codec.ts';
import { ComponentError, type SourceLocation } from './errors.ts';
import { componentPath, readManifest, type BuildManifest } from './manifest.ts';
import { FUNCTIONS_SCRIPT, StackMapper, type SourceMapInfo } from './source-map.ts';
import { transpileCached, transpileCacheDir, type TranspiledComponent } from './transpile.ts';
import { GuestWorkers, type WorkersOptions } from './workers.ts';

export const HOST_INTERFACE = 'ssdk:dataflow/host';

export interface WasmHostOptions extends WorkersOptions {
  /** Where transpiled components are cached. @default `transpileCacheDir()`: `$SSDK_COMPONENT_CACHE/transpiled`, else `<os tmpdir>/ssdk-wasm` */
  cacheDir?: string;
}

export interface LoadOptions {
  /** For mapping a JavaScript guest's stack traces to the user's lines. */
  sourceMap?: SourceMapInfo;
  /** The functions (operator ids) it holds; chains naming others are refused up front. */
  functions?: readonly string[];
  /** One of ssdk's JavaScript components (`ssdk build`): it needs no per-value table. @default false */
  javascript?: boolean;
  /** ssdk's engine component: the dataflow's functions script, evaluated in each new instance. */
  functionsSource?: string;
}

export interface WasmComponent {
  readonly hash: string;
  readonly imports: readonly string[];
  readonly exports: readonly string[];
  /** A new instance running these steps. */
  chain(options: WasmChainOptions): WasmChain;
  /**
   * Makes one instance and drops it: what making one throws (an engine component's functions
   * failing to load), at the user's file and line when the source map finds it; else undefined.
   */
  check(): Promise<{ message: string; location?: SourceLocation } | undefined>;
}

export interface WasmBuild {
  manifest: BuildManifest;
  /** The component serving these steps (one unit), or undefined when they all run natively. */
  componentFor(stepIds: readonly string[]): Promise<WasmComponent | undefined>;
}

export interface WasmHost {
  load(component: Uint8Array | string, options?: LoadOptions): Promise<WasmComponent>;
  /** Reads `ssdk build`'s manifest from `buildDir` (`.ssdk/build`). */
  loadBuild(buildDir: string): Promise<WasmBuild>;
  readonly stats: {
    /** Workers replaced after a timeout or a crash. */
    readonly restarts: number;
    /** Guest workers started (not counting the spare). */
    readonly workers: number;
    /** Calls that made their instance first (a chain's first call, and again after a trap or a replaced worker). */
    readonly instantiations: number;
  };
  close(): Promise<void>;
}

export function openWasmHost(options: WasmHostOptions = {}): WasmHost {
  const cacheDir = options.cacheDir ?? transpileCacheDir();
  const workers = new GuestWorkers(options);
  let nextInstance = 1;

  async function load(component: Uint8Array | string, opts: LoadOptions = {}): Promise<WasmComponent> {
    const bytes = typeof component === 'string' ? new Uint8Array(await readFile(component)) : component;
    const transpiled = await transpileCached(bytes, cacheDir);
    // An engine component is one per world; with its functions it is a component of its own.
    const t =
      opts.functionsSource === undefined
        ? transpiled
        : { ...transpiled, hash: createHash('sha256').update(`${transpiled.hash}\0`).update(opts.functionsSource).digest('hex').slice(0, 24), functionsSource: opts.functionsSource };
    checkReach(t, typeof component === 'string' ? component : `component ${t.hash}`);
    await workers.load(t);
    const mapper = opts.sourceMap ? new StackMapper(opts.sourceMap) : undefined;
    return {
      hash: t.hash,
      imports: t.imports,
      exports: t.exports,
      chain(chainOptions) {
        if (!t.exports.includes('process')) throw new ComponentError(`component ${t.hash} exports no \`process\` function`);
        if (chainOptions.steps.some((s) => s.operator === 'flush') && !t.exports.includes('flush')) {
          throw new ComponentError(`component ${t.hash} exports no \`flush\` function, but the chain has a flush step`);
        }
        const missing = opts.functions ? chainOptions.steps.filter((s) => !opts.functions!.includes(s.id)).map((s) => s.id) : [];
        if (missing.length) throw new ComponentError(`component ${t.hash} has no function for ${missing.map((m) => `\`${m}\``).join(', ')}: run \`ssdk build\` again`);
        return createChainExecutor({ workers, component: t, mapper, newInstance: () => nextInstance++, javascript: opts.javascript ?? false }, chainOptions);
      },
      async check() {
        const instance = nextInstance++;
        const frame = encodeInput([], { steps: [], windows: new WindowTable(), table: false });
        const outcome = await workers.call({ component: t, instance, fn: 'process', frame }, { lookup: () => [], log: () => undefined }, 10_000);
        workers.drop(instance);
        if (outcome.kind === 'ok') return undefined;
        const message = outcome.kind === 'timeout' ? `making an instance took over ${outcome.ms} ms` : outcome.message;
        const location = mapper?.locate(message);
        return location ? { message, location } : { message };
      },
    };
  }

  return {
    load,
    stats: {
      get restarts() {
        return workers.restarts;
      },
      get workers() {
        return workers.size;
      },
      get instantiations() {
        return workers.instantiations;
      },
    },
    async loadBuild(buildDir) {
      const manifest = await readManifest(buildDir);
      const loaded = new Map<string, Promise<WasmComponent>>();
      return {
        manifest,
        async componentFor(stepIds) {
          const wasmSteps = stepIds.filter((id) => manifest.steps[id]?.isolation !== 'native');
          if (wasmSteps.length === 0) return undefined;
          const hashes = new Set(stepIds.map((id) => manifest.steps[id]?.component));
          if (hashes.size !== 1 || hashes.has(undefined)) {
            throw new ComponentError(`steps ${stepIds.join(', ')} are not in one component of the build: run \`ssdk build\` again (a prebuilt component runs alone in its unit)`);
          }
          const hash = [...hashes][0]!;
          const c = manifest.components[hash]!;
          let p = loaded.get(hash);
          if (!p) {
            const sourceMap = c.sourceMap
              ? { map: await readFile(join(buildDir, c.sourceMap), 'utf8'), inline: c.inline ?? {}, root: c.root ?? buildDir, ...(c.functionsSource ? { script: FUNCTIONS_SCRIPT } : {}) }
              : undefined;
            const functionsSource = c.functionsSource ? await readFile(join(buildDir, c.functionsSource), 'utf8') : undefined;
            p = load(componentPath(buildDir, c), {
              ...(sourceMap ? { sourceMap } : {}),
              ...(c.kind === 'javascript' ? { functions: c.functions, javascript: true } : {}),
              ...(functionsSource !== undefined ? { functionsSource } : {}),
            });
            loaded.set(hash, p);
          }
          return p;
        },
      };
    },
    close: () => workers.close(),
  };
}

/** A sandboxed guest reaches the host interface and nothing else: no WASI at all. */
function checkReach(t: TranspiledComponent, name: string): void {
  const extra = t.imports.filter((i) => i !== HOST_INTERFACE);
  if (extra.length) {
    throw new ComponentError(`${name} imports ${extra.map((e) => `\`${e}\``).join(', ')}: a sandboxed function may only import \`${HOST_INTERFACE}\` (no file system, network, clock or environment)`);
  }
}

/** One chain on a host of its own (tests, tools); `close()` also closes the host. */
export async function createWasmChain(component: Uint8Array | string, options: WasmChainOptions & WasmHostOptions & LoadOptions): Promise<WasmChain> {
  const host = openWasmHost(options);
  try {
    const c = await host.load(component, options);
    const chain = c.chain(options);
    return {
      ...chain,
      stats: chain.stats,
      close() {
        chain.close();
        void host.close();
      },
    };
  } catch (err) {
    await host.close();
    throw err;
  }
}

/**
 * A component instantiated on the calling thread, with no time limit and no worker: for
 * benchmarks and tools that measure the boundary itself. Production chains use `openWasmHost`.
 */
export async function instantiateInThread(component: Uint8Array, options: { cacheDir?: string } = {}): Promise<{ process(frame: Uint8Array): Uint8Array; imports: string[] }> {
  const t = await transpileCached(component, options.cacheDir ?? transpileCacheDir());
  checkReach(t, `component ${t.hash}`);
  const { pathToFileURL } = await import('node:url');
  const glue = (await import(pathToFileURL(t.glue).href)) as { instantiate(get: (name: string) => unknown, imports: unknown): { process(frame: Uint8Array): Uint8Array } };
  const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly;
  const modules = new Map<string, unknown>();
  for (const m of t.modules) modules.set(m, await wasm.compile(await readFile(join(t.dir, m))));
  const none = () => undefined;
  // No grants here: the clock, randomness and environment are refused (a trap), as in a worker.
  const refused = (what: string) => () => {
    throw new Error(`${what} was refused: no grants when instantiated in this thread`);
  };
  const host = { log: none, lookup: none, lookupMany: (_s: string, keys: string[]) => keys.map(none), now: refused('the clock'), randomBytes: refused('randomness'), env: refused('the environment'), sql: () => JSON.stringify({ error: 'ctx.sql is not available: no state tables when instantiated in this thread' }), http: () => JSON.stringify({ kind: 'refused', error: 'ctx.http is not available: no grants when instantiated in this thread' }) };
  const exports = glue.instantiate((name) => modules.get(name)!, { [HOST_INTERFACE]: host });
  return { process: (frame) => exports.process(frame), imports: t.imports };
}
