/**
 * `ssdk build`: one component for the dataflow's TypeScript (every step of every service in one
 * module, keyed by operator id, so a unit of any shape — one step, a fused run, a window's
 * update-state + flush — is one instance and one call per batch), plus the prebuilt `.wasm`
 * components that `uses:` steps name.
 *
 * Content-addressed: a component's hash covers its bundle (user code, dependencies, the glue
 * and the engine's chain executor), the WIT world and the toolchain version. An unchanged
 * dataflow is a cache hit per component (bundling only, well under a second); a shared
 * `componentCache` folder lets many builds (CI, tests) reuse each other's components.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { camelCase, snakeCase, type Dataflow, type Step } from '@ssdk/spec';
import type { DataflowGraph, StepSite } from '@ssdk/plan';
import { FunctionCompileError, stepSource, userCacheDir } from '@ssdk/functions';
import { generateWit, HOST_WIT } from '@ssdk/wit';
import { formatLocation } from '../host/errors.ts';
import { MANIFEST_FILE, MANIFEST_VERSION, type BuildManifest, type ManifestComponent, type ManifestStep } from '../host/manifest.ts';
import { FUNCTIONS_SCRIPT } from '../host/source-map.ts';
import { bundleEngine, bundleFunctions, type GuestBundle, type GuestFunction } from './bundle.ts';
import { openWasmHost } from '../host/host.ts';
import { COMPONENTIZE_JS_VERSION, componentizeJs } from './componentize.ts';

/** Bumped when the guest glue's contract or the build's output changes shape. */
const BUILD_SCHEME = 'ssdk-build/2';

/**
 * Where built components are shared between builds, folders and processes: `SSDK_COMPONENT_CACHE`
 * (`off` for none), else the user's cache folder (`$XDG_CACHE_HOME/ssdk/components`, or
 * `~/.cache/ssdk/components`). Entries are named by content hash and written whole, so any
 * number of processes may share it.
 */
export function componentCacheDir(env: Record<string, string | undefined> = process.env): string | undefined {
  return userCacheDir('SSDK_COMPONENT_CACHE', 'components', env);
}

export interface BuildOptions {
  dataflow: Dataflow;
  graph: DataflowGraph;
  /** `.ssdk/` (or `--state-dir` / `SSDK_HOME`): outputs go to `<stateDir>/build`, the WIT to `<stateDir>/wit`. */
  stateDir: string;
  /** A folder shared between builds: components by hash. @default none (`componentCacheDir()` gives the user's) */
  componentCache?: string;
  /** Put every TypeScript step in the component, `isolation: native` ones too (`--sandbox`). @default false */
  sandboxAll?: boolean;
  /** A `building` event before each component that must be compiled (seconds), then `built` or `cached`. */
  onProgress?: (p: BuildProgress) => void;
}

export interface BuildProgress {
  /** The services whose functions the component holds. */
  services: string[];
  /** Content hash (first 16 hex digits of sha256). */
  hash: string;
  kind: ManifestComponent['kind'];
  /** `cached`: found in the build folder or the shared cache; `building`: compiling starts now. */
  status: 'building' | 'built' | 'cached';
  bytes: number;
  ms: number;
  functions: string[];
}

export interface BuildResult {
  manifest: BuildManifest;
  buildDir: string;
  witDir: string;
  components: BuildProgress[];
}

interface ServicePlan {
  windowed: boolean;
  js: Array<{ service: string; site: StepSite; fn: GuestFunction }>;
  prebuilt: Array<{ site: StepSite; path: string }>;
}

export async function buildDataflow(opts: BuildOptions): Promise<BuildResult> {
  const { dataflow: df, graph } = opts;
  const servicesFile = resolve(df.file);
  const root = dirname(servicesFile);
  const buildDir = join(opts.stateDir, 'build');
  const witDir = join(opts.stateDir, 'wit');
  await mkdir(buildDir, { recursive: true });
  const wit = generateWit(df, graph);
  await writeWit(witDir, wit.files);

  const manifest: BuildManifest = {
    manifestVersion: MANIFEST_VERSION,
    dataflow: `${df.meta.namespace}/${df.meta.name}@${df.meta.version}`,
    servicesFile,
    components: {},
    steps: {},
  };
  const progress: BuildProgress[] = [];
  const settings = (site: StepSite): ManifestStep => ({
    operator: site.step.operator,
    isolation: opts.sandboxAll ? 'wasm' : (site.step.settings.isolation ?? df.config.settings.isolation ?? 'wasm'),
    timeoutMs: site.step.settings.functionTimeoutMs ?? df.config.settings.functionTimeoutMs ?? 1000,
  });
  const js: ServicePlan['js'] = [];
  let windowed = false;
  for (const node of graph.services) {
    const plan = planService(node.name, node.pipeline, df, servicesFile, opts.sandboxAll ?? false);
    windowed ||= plan.windowed;
    for (const { site, path } of plan.prebuilt) {
      const t0 = performance.now();
      const bytes = new Uint8Array(await readFile(path));
      const hash = sha(bytes);
      const file = `${hash}.wasm`;
      const cached = existsSync(join(buildDir, file));
      if (!cached) await writeFile(join(buildDir, file), bytes);
      const functions = [...(manifest.components[hash]?.functions ?? []), site.id];
      manifest.components[hash] = { file, kind: 'prebuilt', services: [node.name], world: 'ssdk:dataflow/chain', functions };
      manifest.steps[site.id] = { ...settings(site), isolation: 'wasm', component: hash };
      report({ services: [node.name], hash, kind: 'prebuilt', status: cached ? 'cached' : 'built', bytes: bytes.length, ms: performance.now() - t0, functions: [site.id] });
    }
    for (const j of plan.js) manifest.steps[j.site.id] = settings(j.site);
    js.push(...plan.js);
  }
  // The dataflow's TypeScript runs in ssdk's engine component (the same for every dataflow: built
  // once per ssdk version and world, then cached), which evaluates the dataflow's functions
  // script in each new instance. So an edit rebundles the script (milliseconds), and a first
  // build on a machine with a warm cache compiles nothing.
  if (js.some(({ site }) => manifest.steps[site.id]!.isolation === 'wasm')) {
    const t0 = performance.now();
    const functionsBundle = await bundleFunctions({ functions: js.map((j) => j.fn), root });
    const services = [...new Set(js.map((j) => j.service))];
    const functions = js.map((j) => j.site.id);
    const engine = await engineComponent({ windowed, buildDir, witDir, ...(opts.componentCache ? { cache: opts.componentCache } : {}) }, (status) =>
      opts.onProgress?.({ services, hash: status.hash, kind: 'javascript', status: 'building', bytes: 0, ms: 0, functions }),
    );
    const hash = sha(new TextEncoder().encode(`${engine.hash}\0${functionsBundle.js}`));
    const functionsFile = `${hash}.functions.js`;
    const mapFile = `${hash}.js.map`;
    // A script new to this build folder is loaded once in the engine first, so what its top
    // level throws (or a syntax the sandbox's engine lacks) is a build error at the user's line.
    if (!(await sameText(join(buildDir, functionsFile), functionsBundle.js))) {
      await checkFunctionsLoad(join(buildDir, engine.file), functionsBundle, root);
      await writeAtomically(join(buildDir, mapFile), functionsBundle.map);
      await writeAtomically(join(buildDir, functionsFile), functionsBundle.js);
    }
    manifest.components[hash] = {
      file: engine.file,
      kind: 'javascript',
      services,
      world: `ssdk:dataflow/${engine.world}`,
      functions,
      functionsSource: functionsFile,
      sourceMap: mapFile,
      inline: functionsBundle.inline,
      root,
    };
    for (const id of functions) manifest.steps[id]!.component = hash;
    const bytes = (await stat(join(buildDir, engine.file))).size;
    report({ services, hash, kind: 'javascript', status: engine.status, bytes, ms: performance.now() - t0, functions });
  }
  await writeFile(join(buildDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  await removeStale(buildDir, manifest);
  return { manifest, buildDir, witDir, components: progress };

  function report(p: BuildProgress): void {
    progress.push(p);
    opts.onProgress?.(p);
  }
}

function planService(service: string, pipeline: DataflowGraph['services'][number]['pipeline'], df: Dataflow, servicesFile: string, sandboxAll: boolean): ServicePlan {
  const sites = [...pipeline.sources.flatMap((b) => b.steps), ...pipeline.trunk, ...pipeline.sinks.flatMap((b) => b.steps)];
  const plan: ServicePlan = { windowed: sites.some((s) => s.step.operator === 'flush'), js: [], prebuilt: [] };
  const root = dirname(servicesFile);
  for (const site of sites) {
    const isolation = sandboxAll ? 'wasm' : (site.step.settings.isolation ?? df.config.settings.isolation ?? 'wasm');
    const wasm = isolation === 'wasm' ? prebuiltFor(site.step, root) : undefined;
    if (wasm) {
      plan.prebuilt.push({ site, path: wasm });
      continue;
    }
    const src = stepSource(site.id, site.step, servicesFile);
    const code = src.code;
    plan.js.push({
      service,
      site,
      fn: {
        id: site.id,
        code:
          'inline' in code
            ? { kind: 'inline', code: code.inline, exportName: code.exportName, origin: { file: src.origin?.file ?? servicesFile, line: src.origin?.line ?? 1, col: src.origin?.col ?? 1 } }
            : { kind: 'module', path: resolve(src.resolveDir, code.module), exportName: code.exportName },
      },
    });
  }
  return plan;
}

/**
 * `uses: <fn>` with a `functions/<fn>.wasm`: under `isolation: wasm` that component serves the
 * step (a TypeScript module of the same name is then the `isolation: native` twin).
 */
function prebuiltFor(step: Step, root: string): string | undefined {
  const src = step.fn.source;
  if (src.kind !== 'uses') return undefined;
  for (const n of new Set([src.ref, camelCase(src.ref), snakeCase(src.ref)])) {
    const p = join(root, 'functions', `${n}.wasm`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

async function writeWit(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    const old = existsSync(path) ? await readFile(path, 'utf8') : undefined;
    if (old !== text) await writeFile(path, text);
  }
}

/** Components of earlier builds that this one no longer uses. */
async function removeStale(buildDir: string, manifest: BuildManifest): Promise<void> {
  const keep = new Set<string>([MANIFEST_FILE]);
  for (const c of Object.values(manifest.components)) {
    keep.add(c.file);
    if (c.sourceMap) keep.add(c.sourceMap);
    if (c.functionsSource) keep.add(c.functionsSource);
  }
  for (const f of await readdir(buildDir)) if (!keep.has(f) && /^[0-9a-f]{16,}\.(wasm|js\.map|functions\.js)$/.test(f)) await rm(join(buildDir, f), { force: true });
}

/**
 * ssdk's engine component for a world, from the build folder, the shared cache, or compiled
 * now (15–20 s of CPU, once per ssdk version and world on a machine that shares its cache).
 */
async function engineComponent(
  o: { windowed: boolean; buildDir: string; witDir: string; cache?: string },
  onBuilding: (p: { hash: string }) => void,
): Promise<{ hash: string; file: string; world: string; status: BuildProgress['status'] }> {
  const world = o.windowed ? 'windowed-engine' : 'engine';
  const bundle = await bundleEngine({ exportFlush: o.windowed });
  const hash = createHash('sha256').update(`${BUILD_SCHEME}\0${COMPONENTIZE_JS_VERSION}\0${world}\0${HOST_WIT}\0`).update(bundle.js).digest('hex').slice(0, 16);
  const file = `${hash}.wasm`;
  if (existsSync(join(o.buildDir, file))) return { hash, file, world, status: 'cached' };
  const shared = o.cache ? join(o.cache, file) : undefined;
  if (shared && existsSync(shared)) {
    await copyFile(shared, join(o.buildDir, file));
    return { hash, file, world, status: 'cached' };
  }
  onBuilding({ hash });
  const bytes = await componentizeJs({ js: bundle.js, witDir: join(o.witDir, 'deps', 'ssdk-dataflow'), world, workDir: join(o.buildDir, `.work-${hash}`), name: 'engine' });
  await writeAtomically(join(o.buildDir, file), bytes);
  if (shared) {
    try {
      await mkdir(o.cache!, { recursive: true });
      await writeAtomically(shared, bytes);
    } catch {
      // An unwritable cache (a read-only home in a container) costs the next build time, nothing else.
    }
  }
  return { hash, file, world, status: 'built' };
}

/** Written beside, then renamed: a concurrent reader sees all or nothing. */
async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

async function sameText(path: string, text: string): Promise<boolean> {
  return existsSync(path) && (await readFile(path, 'utf8')) === text;
}

/** Makes one instance of the engine with the functions script: a failure is a `FunctionCompileError`. */
async function checkFunctionsLoad(enginePath: string, bundle: GuestBundle, root: string): Promise<void> {
  const host = openWasmHost({ workers: 1, spare: false });
  try {
    const component = await host.load(enginePath, { functionsSource: bundle.js, sourceMap: { map: bundle.map, inline: bundle.inline, root, script: FUNCTIONS_SCRIPT } });
    const failed = await component.check();
    if (!failed) return;
    const what = failed.message.split('\n').find((l) => /Error\b/.test(l)) ?? failed.message.split('\n')[0]!;
    const at = failed.location ? `${formatLocation(failed.location)}: ` : '';
    throw new FunctionCompileError(`${at}${what.replace(/^.*failed to load: /, '').trim()} (while loading the sandboxed functions)`, failed.location);
  } finally {
    await host.close();
  }
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}
