/**
 * What `ssdk deploy` ships and an operator fetches: the plan document and the built functions,
 * as blobs named by their sha256 in the NATS object store (`@ssdk/bus` `openArtifactStore`),
 * listed by one small manifest (`DeploymentArtifacts`) that the control plane keeps with the
 * deployed version. Its canonical hash (`deploymentHash`) covers the plan's hash and every
 * artifact's, so one signature over it covers everything an operator runs.
 *
 * An operator fetches only what its unit needs into `<dir>/<deployment hash>/` — its steps'
 * compiled functions (`native/<step>.json`), and the component build (`build/`) when the unit
 * runs sandboxed — and runs from there: no sources, no planning, no compiler.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sha256Hex, type ArtifactStore } from '@ssdk/bus';
import { bundleNative, loadNativeBundle, stepSource, type NativeBundle } from '@ssdk/functions';
import { canonicalJson, physicalPlanSchema, planHash, type PhysicalPlan } from '@ssdk/plan';
import {
  buildComponents,
  openBuiltSandbox,
  OperatorConfigError,
  planSteps,
  unitOnlyFunctions,
  unitRunsSandboxed,
  type FunctionLoader,
  type IsolationChoice,
  type UnitFunctionSource,
} from '@ssdk/runtime';
import type { Dataflow } from '@ssdk/spec';
import { MANIFEST_FILE, type BuildManifest } from '@ssdk/wasm-host';

export const ARTIFACTS_VERSION = 1;

/** The manifest of a deployment's artifacts; every value is an object name (sha256 of its bytes). */
export interface DeploymentArtifacts {
  artifactsVersion: typeof ARTIFACTS_VERSION;
  /** The plan's own hash (`plan.hash`). */
  plan: string;
  /** The plan document (JSON). */
  planObject: string;
  /** Step id → its function compiled for V8 (`NativeBundle` JSON), for every step of the plan. */
  native: Record<string, string>;
  /** The WebAssembly component build, when a unit of the plan runs sandboxed: its `manifest.json` and the files it names. */
  build?: { manifest: string; files: Record<string, string> };
}

/** sha256 of the manifest's canonical JSON: names the whole deployment (plan and every artifact). */
export function deploymentHash(a: DeploymentArtifacts): string {
  return sha256Hex(new TextEncoder().encode(canonicalJson(a)));
}

export interface PublishArtifactsOptions {
  plan: PhysicalPlan;
  dataflow: Dataflow;
  /** The services file the plan was made from. */
  file: string;
  store: ArtifactStore;
  /** Where the component is built (`<stateDir>/build`). */
  stateDir: string;
  componentCache?: string;
  /** How operators will run the functions: `native` needs no component, `sandbox` one holding every step. @default 'plan' */
  isolation?: IsolationChoice;
  onBuild?: (line: string) => void;
}

/** Compiles every function of the plan (and the component, if a unit runs sandboxed) and stores them. */
export async function publishArtifacts(o: PublishArtifactsOptions): Promise<DeploymentArtifacts> {
  const put = (text: string | Uint8Array) => o.store.put(typeof text === 'string' ? new TextEncoder().encode(text) : text);
  const steps = planSteps(o.dataflow);
  const native: Record<string, string> = {};
  for (const op of o.plan.operators) {
    for (const ps of op.steps) {
      const step = steps.get(ps.id);
      if (!step) throw new OperatorConfigError(`plan step \`${ps.id}\` is not in ${o.file}`);
      native[ps.id] = await put(JSON.stringify(await bundleNative(stepSource(ps.id, step, o.file))));
    }
  }
  let build: DeploymentArtifacts['build'];
  const isolation = o.isolation ?? 'plan';
  if (o.plan.operators.some((op) => unitRunsSandboxed(op, isolation))) {
    const built = await buildComponents({ dataflow: o.dataflow, stateDir: o.stateDir, ...(isolation === 'sandbox' ? { sandboxAll: true } : {}), ...(o.componentCache ? { componentCache: o.componentCache } : {}), ...(o.onBuild ? { onBuild: o.onBuild } : {}) });
    const files: Record<string, string> = {};
    for (const c of Object.values(built.manifest.components)) {
      for (const f of [c.file, c.sourceMap, c.functionsSource]) if (f) files[f] = await put(new Uint8Array(await readFile(join(built.buildDir, f))));
    }
    build = { manifest: await put(await readFile(join(built.buildDir, MANIFEST_FILE), 'utf8')), files };
  }
  return { artifactsVersion: ARTIFACTS_VERSION, plan: o.plan.hash, planObject: await put(JSON.stringify(o.plan)), native, ...(build ? { build } : {}) };
}

/** The plan document of a deployment, fetched and checked (its schema, its hash). */
export async function fetchPlan(store: ArtifactStore, a: DeploymentArtifacts): Promise<PhysicalPlan> {
  if (a.artifactsVersion !== ARTIFACTS_VERSION) throw new OperatorConfigError(`the deployment's artifacts are version ${String(a.artifactsVersion)}; this ssdk reads ${ARTIFACTS_VERSION}: run the same version`);
  const parsed = physicalPlanSchema.safeParse(JSON.parse(new TextDecoder().decode(await store.get(a.planObject))));
  if (!parsed.success) throw new OperatorConfigError(`the deployed plan is not a plan this ssdk reads (plan version ${String((parsed as { data?: { planVersion?: unknown } }).data?.planVersion ?? '?')}): run the same version as the deployer`);
  const plan = parsed.data as PhysicalPlan;
  const { hash: _hash, ...body } = plan;
  if (plan.hash !== a.plan || planHash(body) !== a.plan) throw new OperatorConfigError(`the deployed plan does not hash to ${a.plan.slice(0, 12)}: refusing to run it`);
  return plan;
}

export interface FetchUnitOptions {
  store: ArtifactStore;
  artifacts: DeploymentArtifacts;
  plan: PhysicalPlan;
  operatorId: string;
  isolation: IsolationChoice;
  /** @default <tmpdir>/ssdk-artifacts */
  dir?: string;
}

/** Fetches what one unit needs (its compiled functions, the component if it runs sandboxed) and returns its functions. */
export async function fetchUnitFunctions(o: FetchUnitOptions): Promise<UnitFunctionSource> {
  const op = o.plan.operators.find((u) => u.id === o.operatorId);
  if (!op) throw new OperatorConfigError(`the deployed plan has no operator \`${o.operatorId}\`: its operators are ${o.plan.operators.map((u) => `\`${u.id}\``).join(', ')}`);
  const dir = join(o.dir ?? join(tmpdir(), 'ssdk-artifacts'), deploymentHash(o.artifacts).slice(0, 24));
  for (const s of op.steps) {
    const hash = o.artifacts.native[s.id];
    if (!hash) throw new OperatorConfigError(`the deployment carries no compiled function for \`${s.id}\`: deploy it again`);
    await fetchFile(o.store, hash, nativeArtifactPath(dir, s.id));
  }
  const sandboxed = unitRunsSandboxed(op, o.isolation);
  if (sandboxed && o.artifacts.build) {
    const b = o.artifacts.build;
    for (const [file, hash] of Object.entries(b.files)) await fetchFile(o.store, hash, join(dir, 'build', file));
    await fetchFile(o.store, b.manifest, join(dir, 'build', MANIFEST_FILE));
    const manifest = JSON.parse(await readFile(join(dir, 'build', MANIFEST_FILE), 'utf8')) as BuildManifest;
    if (o.isolation === 'sandbox' && op.steps.some((s) => manifest.steps[s.id]?.isolation === 'native')) {
      throw new OperatorConfigError(`\`${op.id}\` has \`isolation: native\` steps, and the deployed component holds only sandboxed ones: run it with the plan's isolation, or deploy with every step sandboxed`);
    }
  }
  const fetched: FetchedArtifacts = { dir, hasBuild: sandboxed && o.artifacts.build !== undefined };
  return artifactUnitFunctions(fetched);
}

/** Writes an artifact to `path` unless it is there already (written whole: beside, then renamed). */
async function fetchFile(store: ArtifactStore, hash: string, path: string): Promise<void> {
  try {
    if (sha256Hex(new Uint8Array(await readFile(path))) === hash) return;
  } catch {
    // not fetched yet
  }
  const bytes = await store.get(hash);
  await mkdir(dirname(path), { recursive: true });
  const staging = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(staging, bytes);
    await rename(staging, path);
  } finally {
    await rm(staging, { force: true });
  }
}

/**
 * Where a deployment's artifacts were fetched: `native/<step id>.json` (a `NativeBundle` per
 * step) and `build/` (the component build: `manifest.json` and the files it names).
 */
export interface FetchedArtifacts {
  dir: string;
  /** The build folder holds the component (the plan has sandboxed steps). */
  hasBuild: boolean;
}

export function nativeArtifactPath(dir: string, stepId: string): string {
  return join(dir, 'native', `${stepId}.json`);
}

/** A unit's functions from fetched artifacts. */
export function artifactUnitFunctions(a: FetchedArtifacts): UnitFunctionSource {
  return async (o) => {
    const sandboxed = unitRunsSandboxed(o.op, o.isolation);
    if (sandboxed && !a.hasBuild) throw new Error(`operator \`${o.op.id}\` runs sandboxed but the deployment carries no component: deploy it again with a plan that sandboxes it`);
    const sandbox = sandboxed ? await openBuiltSandbox(join(a.dir, 'build'), o.sql ? { sql: o.sql } : {}) : undefined;
    const native: FunctionLoader = async (ps) => loadNativeBundle(JSON.parse(await readFile(nativeArtifactPath(a.dir, ps.id), 'utf8')) as NativeBundle);
    return { functions: unitOnlyFunctions(o.op, native, sandbox, o.sql), ...(sandbox ? { sandbox } : {}) };
  };
}
