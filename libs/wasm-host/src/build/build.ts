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
import { FunctionCompileError, stepSource } from '@ssdk/functions';
import { generateWit, HOST_WIT } from '@ssdk/wit';
import { formatLocation } from '../host/errors.ts';
import { MANIFEST_FILE, MANIFEST_VERSION, type BuildManifest, type ManifestComponent, type ManifestStep } from '../host/manifest.ts';
import { StackMapper } from '../host/source-map.ts';
import { bundleGuest, type GuestFunction } from './bundle.ts';
import { COMPONENTIZE_JS_VERSION, componentizeJs } from './componentize.ts';

/** Bumped when the guest glue's contract or the build's output changes shape. */
const BUILD_SCHEME = 'ssdk-build/1';

export interface BuildOptions {
  dataflow: Dataflow;
  graph: DataflowGraph;
  /** `.ssdk/` (or `--state-dir` / `SSDK_HOME`): outputs go to `<stateDir>/build`, the WIT to `<stateDir>/wit`. */
  stateDir: string;
  /** A folder shared between builds: components by hash. @default none */
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
  // One component for all the dataflow's TypeScript: the engine is ~12 MB of every component
  // and the user's code a few KB, so one build (3-27 s) serves every unit of every service.
  if (js.some(({ site }) => manifest.steps[site.id]!.isolation === 'wasm')) {
    const t0 = performance.now();
    const world = windowed ? 'windowed-chain' : 'chain';
    const bundle = await bundleGuest({ functions: js.map((j) => j.fn), root, exportFlush: windowed, name: 'guest' });
    const hash = createHash('sha256').update(`${BUILD_SCHEME}\0${COMPONENTIZE_JS_VERSION}\0${world}\0${HOST_WIT}\0`).update(bundle.js).digest('hex').slice(0, 16);
    const file = `${hash}.wasm`;
    const mapFile = `${hash}.js.map`;
    let status: BuildProgress['status'] = 'cached';
    if (!existsSync(join(buildDir, file))) {
      const shared = opts.componentCache ? join(opts.componentCache, file) : undefined;
      if (shared && existsSync(shared)) await copyFile(shared, join(buildDir, file));
      else {
        status = 'built';
        const ids = js.map((j) => j.site.id);
        opts.onProgress?.({ services: [...new Set(js.map((j) => j.service))], hash, kind: 'javascript', status: 'building', bytes: 0, ms: 0, functions: ids });
        let bytes: Uint8Array;
        try {
          bytes = await componentizeJs({ js: bundle.js, witDir: join(witDir, 'deps', 'ssdk-dataflow'), world, workDir: join(buildDir, `.work-${hash}`), name: 'guest' });
        } catch (err) {
          throw inUserCode(err, bundle, root);
        }
        await writeFile(join(buildDir, file), bytes);
        if (shared) {
          await mkdir(opts.componentCache!, { recursive: true });
          const tmp = `${shared}.tmp-${process.pid}`;
          await writeFile(tmp, bytes);
          await rename(tmp, shared);
        }
      }
    }
    await writeFile(join(buildDir, mapFile), bundle.map);
    const functions = js.map((j) => j.site.id);
    const services = [...new Set(js.map((j) => j.service))];
    manifest.components[hash] = { file, kind: 'javascript', services, world: `ssdk:dataflow/${world}`, functions, sourceMap: mapFile, inline: bundle.inline, root };
    for (const id of functions) manifest.steps[id]!.component = hash;
    const bytes = (await stat(join(buildDir, file))).size;
    report({ services, hash, kind: 'javascript', status, bytes, ms: performance.now() - t0, functions });
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
  }
  for (const f of await readdir(buildDir)) if (!keep.has(f) && /^[0-9a-f]{16,}\.(wasm|js\.map)$/.test(f)) await rm(join(buildDir, f), { force: true });
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * A build that fails while the component's code is evaluated (a syntax the sandbox's engine
 * lacks, a top-level throw) names `guest.js:LINE:COL`, the bundle: the bundle's source map turns
 * that into the user's file and line, as the `FunctionCompileError` every build error is.
 */
export function inUserCode(err: unknown, bundle: { map: string; inline: Record<string, SourceLocation> }, root: string): unknown {
  const message = err instanceof Error ? err.message : String(err);
  const at = new StackMapper({ map: bundle.map, inline: bundle.inline, root }).locate(message);
  if (!at) return err;
  const lines = message.split('\n').map((l) => l.replace(/^\s*guest\.js:\d+:\d+\s*/, '').trim());
  const what = lines.find((l) => /Error\b/.test(l)) ?? lines.find((l) => l !== '') ?? message;
  return new FunctionCompileError(`${formatLocation(at)}: ${what} (while building the sandboxed component)`, at);
}
