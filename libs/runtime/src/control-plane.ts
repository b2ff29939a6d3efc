/**
 * What the control plane and the operators share: the deployed dataflows in PostgreSQL (schema
 * `ssdk_control`, table `dataflows`: one row per dataflow, the current version's plan and the
 * bundle it was planned from; `dataflow_versions`: every version deployed), the planner's
 * request subjects and message shapes, and the loader an operator process calls to run a unit of
 * a deployed dataflow without the services file (`ssdk operator --dataflow NS/NAME`).
 *
 * A bundle is the services file and the function modules beside it (`functions/`): the plan's
 * hash covers their code, so an operator that materializes the bundle and plans it again gets
 * the very plan that was deployed (checked), with the same operators, subjects and tables.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { planOrThrow, type PhysicalPlan } from '@ssdk/plan';
import { openPostgresStore, type Fence, type Lease, type StateStore, type StateTableSpec } from '@ssdk/state';
import type { UnitMetricsSnapshot } from './metrics.ts';
import { openArtifactStore } from '@ssdk/bus';
import { deploymentHash, fetchPlan, fetchUnitFunctions, type DeploymentArtifacts } from './artifacts.ts';
import { sourceUnitFunctions, type UnitFunctionSource } from './functions.ts';
import { OperatorConfigError } from './operator.ts';
import { checkDeploymentTrust, PlanNotTrustedError, trustedKeysFrom, type DeploymentSignature } from './plan-signing.ts';
import type { IsolationChoice } from './topology.ts';
import { envNumber, leaseOwnerId } from './settings.ts';

/** The schema of the control plane's tables. */
export const CONTROL_SCHEMA = 'ssdk_control';

/**
 * The control schema of a subject prefix: `ssdk_control` for the default prefix `ssdk`, else one
 * of the prefix's own (its name and a hash of it), so dataflows deployed under two prefixes (two
 * sets of streams) never share a deployment record or its offsets.
 */
export function controlSchemaFor(subjectPrefix: string): string {
  if (subjectPrefix === 'ssdk') return CONTROL_SCHEMA;
  const suffix = `__${createHash('sha256').update(subjectPrefix).digest('hex').slice(0, 10)}`;
  const clean = subjectPrefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `${CONTROL_SCHEMA}_${clean}`.slice(0, 63 - suffix.length).replace(/_+$/, '') + suffix;
}

export type PlannerVerb = 'deploy' | 'status' | 'undeploy' | 'list';

/** `<prefix>.planner.<verb>`: one planner (or a queue group of them) per subject prefix. */
export function plannerSubject(subjectPrefix: string, verb: PlannerVerb): string {
  return `${subjectPrefix}.planner.${verb}`;
}

/** Operator processes publish their heartbeat (with their metrics) here. */
export function heartbeatSubject(subjectPrefix: string): string {
  return `${subjectPrefix}.heartbeat`;
}

/** `NS/NAME` → its parts; undefined when it is not of that form. */
export function parseDataflowRef(ref: string): { namespace: string; name: string } | undefined {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}

// ---- the planner's messages (JSON over NATS request/reply) -------------------------------------

export interface DeployRequest {
  bundle: DeploymentBundle;
  /** The services file as the user named it: diagnostics point there. */
  displayPath: string;
  /** Partitions per topic (a plan option). @default the file's, else 8 */
  partitions?: number;
  /** State schema. @default ssdk_<namespace>_<name> (or the one already deployed) */
  schema?: string;
  /** Drop the dataflow's state, offsets and internal streams before deploying. */
  resetState?: boolean;
  /**
   * Forget what every operator of the dataflow read (offsets, ended inputs, the streams they
   * read), keeping the state: they read their inputs from the start (after streams were made again).
   */
  resetOffsets?: boolean;
  /**
   * The plan and the built functions, already in the object store (`publishArtifacts`): operators
   * run from them. Without them an operator plans and compiles the bundle itself.
   */
  artifacts?: DeploymentArtifacts;
  /** The deployer's signature of what it sends (`signStatement`); operators that trust keys run only signed versions. */
  signature?: DeploymentSignature;
}

export type DeployOutcome = 'created' | 'unchanged' | 'updated' | 'reset';

export interface DeployReply {
  dataflow: string;
  version: number;
  hash: string;
  outcome: DeployOutcome;
  /** What changed (compatible changes, or what `--reset-state` threw away). */
  changes: string[];
  operators: string[];
  stateSchema: string;
  topics: string[];
  /** Warnings of the services file (as `ssdk validate` prints them). */
  warnings: unknown[];
}

export interface UndeployRequest {
  dataflow: string;
  /** Also drop the state schema and delete the dataflow's streams. */
  purge?: boolean;
}

export interface UndeployReply {
  dataflow: string;
  version: number;
  droppedSchema?: string;
  deletedStreams: string[];
}

export interface StatusRequest {
  /** `NS/NAME`; every deployed dataflow when absent. */
  dataflow?: string;
}

export interface OperatorStatus {
  id: string;
  kind: string;
  partitions: number;
  /** Processes whose heartbeat arrived within three intervals. */
  processes: number;
  pids: number[];
  /** Partition leases held (unexpired), distinct owners. */
  leases: number;
  leaseOwners: number;
  recordsIn: number;
  recordsOut: number;
  failed: number;
  late: number;
  /** Min over the live processes' watermarks, epoch ms. */
  watermark?: number;
  /** Σ over input channels of (stream last sequence − committed sequence), never negative. */
  lag: number;
  /**
   * `ended` once every partition's inputs ended (by the committed offsets, so a finished unit
   * whose processes exited stays `ended`); else what its live processes say (`starting`,
   * `running`, `failed`), `stopped` (heard from, now silent) or `not started`; `refused` when
   * its live processes will not run this version (`refused` says why).
   */
  state: string;
  /** Why the unit's processes refuse this version (unsigned, untrusted key, native code). */
  refused?: string;
}

export interface DataflowStatus {
  dataflow: string;
  version: number;
  hash: string;
  layoutFingerprint: string;
  deployedAt: number;
  stateSchema: string;
  subjectPrefix: string;
  partitions: number;
  operators: OperatorStatus[];
}

export interface ListedDataflow {
  dataflow: string;
  version: number;
  hash: string;
  deployedAt: number;
  operators: number;
}

// ---- bundles ----------------------------------------------------------------------------------

export interface DeploymentBundle {
  /** The services file's name, a key of `files`. */
  servicesFile: string;
  /** Path relative to the services file's folder (always `/`-separated) → text. */
  files: Record<string, string>;
}

/** Folders beside a services file whose files a deployment carries. */
const BUNDLED_DIRS = ['functions'];
const MAX_BUNDLE_BYTES = 900 * 1024;

/** The services file and every file under `functions/` beside it. */
export async function readBundle(servicesFile: string): Promise<DeploymentBundle> {
  const dir = dirname(resolve(servicesFile));
  const name = basename(servicesFile);
  const files: Record<string, string> = { [name]: await readFile(servicesFile, 'utf8') };
  for (const sub of BUNDLED_DIRS) {
    for (const path of await filesUnder(join(dir, sub))) files[relative(dir, path).split(sep).join('/')] = await readFile(path, 'utf8');
  }
  const bytes = Object.values(files).reduce((n, t) => n + Buffer.byteLength(t), 0);
  if (bytes > MAX_BUNDLE_BYTES) {
    throw new OperatorConfigError(`${servicesFile} and its functions/ are ${bytes} bytes: a deployment carries at most ${MAX_BUNDLE_BYTES} (NATS' max_payload)`);
  }
  return { servicesFile: name, files };
}

async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

/** Checks a bundle that came over the wire: names stay inside its folder. */
export function checkBundle(bundle: unknown): DeploymentBundle {
  const b = bundle as Partial<DeploymentBundle> | null;
  if (!b || typeof b.servicesFile !== 'string' || !b.files || typeof b.files !== 'object') throw new OperatorConfigError('a deployment needs {servicesFile, files}');
  for (const [path, text] of Object.entries(b.files)) {
    if (typeof text !== 'string') throw new OperatorConfigError(`bundle file \`${path}\` is not text`);
    if (path.startsWith('/') || path.split('/').some((part) => part === '..' || part === '')) throw new OperatorConfigError(`bundle file \`${path}\` is not a relative path inside the dataflow's folder`);
  }
  if (typeof b.files[b.servicesFile] !== 'string') throw new OperatorConfigError(`the bundle has no services file \`${b.servicesFile}\``);
  return { servicesFile: b.servicesFile, files: b.files };
}

/** sha256 of a bundle's files: the name of the folder it is written to. */
export function bundleHash(bundle: DeploymentBundle): string {
  const h = createHash('sha256');
  for (const path of Object.keys(bundle.files).sort()) h.update(path).update('\0').update(bundle.files[path]!).update('\0');
  return h.digest('hex');
}

/**
 * Writes a bundle to `<root>/<hash>/` (once: a folder of that name holds that content) and
 * returns the services file's path there.
 */
export async function materializeBundle(bundle: DeploymentBundle, root = join(tmpdir(), 'ssdk-deployments')): Promise<string> {
  const dir = join(root, bundleHash(bundle).slice(0, 24));
  const file = join(dir, bundle.servicesFile);
  if (await exists(join(dir, '.complete'))) return file;
  // Written beside, then renamed: two processes materializing at once never see half a bundle.
  const staging = `${dir}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  for (const [path, text] of Object.entries(bundle.files)) {
    const target = join(staging, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
  }
  await writeFile(join(staging, '.complete'), '');
  await mkdir(root, { recursive: true });
  try {
    await rename(staging, dir);
  } catch {
    // Another process won the race with the same content.
  }
  return file;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

// ---- the registry -----------------------------------------------------------------------------

export type DeploymentStatus = 'deployed';

export interface DeployedDataflow {
  namespace: string;
  name: string;
  /** 1 on the first deploy, + 1 on each redeploy that changed the plan. */
  version: number;
  status: DeploymentStatus;
  /** The plan's hash. */
  hash: string;
  /** sha256 of the state layout (`layout`): what must not change under existing state. */
  layoutFingerprint: string;
  layout: unknown;
  plan: PhysicalPlan;
  bundle: DeploymentBundle;
  /** What operators fetch from the object store (`ssdk deploy` ships it); absent: they replan the bundle. */
  artifacts?: DeploymentArtifacts;
  /** The deployer's signature, when the deploy was signed. */
  signature?: DeploymentSignature;
  /** The PostgreSQL schema of the dataflow's state. */
  stateSchema: string;
  deployedAt: number;
}

const DATAFLOWS: StateTableSpec = {
  table: 'dataflows',
  keyType: 'string',
  windowed: false,
  value: {
    kind: 'row',
    columns: [
      { name: 'namespace', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'version', type: 'i64' },
      { name: 'status', type: 'string' },
      { name: 'hash', type: 'string' },
      { name: 'layout_fingerprint', type: 'string' },
      { name: 'state_schema', type: 'string' },
      { name: 'deployed_at', type: 'timestamp' },
      { name: 'layout', type: 'string' },
      { name: 'plan', type: 'string' },
      { name: 'bundle', type: 'string' },
    ],
  },
};
/** Every version ever deployed, keyed `NS/NAME@VERSION` (same columns). */
const VERSIONS: StateTableSpec = { ...DATAFLOWS, table: 'dataflow_versions' };
/** The artifacts manifest of each version that has one, keyed `NS/NAME@VERSION` (a table of its own: the others keep their columns). */
const ARTIFACTS: StateTableSpec = { table: 'dataflow_artifacts', keyType: 'string', windowed: false, value: { kind: 'json' } };
/** The deployer's signature of each version that has one, keyed `NS/NAME@VERSION`. */
const SIGNATURES: StateTableSpec = { table: 'dataflow_signatures', keyType: 'string', windowed: false, value: { kind: 'json' } };

interface Row {
  namespace: string;
  name: string;
  version: number;
  status: string;
  hash: string;
  layout_fingerprint: string;
  state_schema: string;
  deployed_at: number | Date | string;
  layout: string;
  plan: string;
  bundle: string;
}

export interface DeploymentRegistry {
  readonly schema: string;
  get(namespace: string, name: string): Promise<DeployedDataflow | undefined>;
  /** A version from the history (undeployed ones too, until a new deploy reuses the number). */
  version(namespace: string, name: string, version: number): Promise<DeployedDataflow | undefined>;
  /** The signatures of the dataflow's stored versions, by version. */
  signatures(namespace: string, name: string): Promise<Map<number, DeploymentSignature>>;
  list(): Promise<DeployedDataflow[]>;
  /** Stores the dataflow's current version (and keeps it in the history); `guard`: refused unless its lease still holds. */
  save(d: DeployedDataflow, guard?: RegistryGuard): Promise<void>;
  remove(namespace: string, name: string, guard?: RegistryGuard): Promise<boolean>;
  /**
   * Runs `fn` holding the dataflow's deploy lease, so planners that share the control tables
   * change one dataflow one at a time (a queue group spreads requests over them); waits up to
   * `waitMs` for another holder, then throws `RegistryBusyError`. A planner that dies holding it
   * holds it for `ttlMs` at most; one that outlived its lease cannot save (`guard`).
   */
  exclusive<T>(namespace: string, name: string, fn: (guard: RegistryGuard) => Promise<T>, options?: { waitMs?: number; ttlMs?: number }): Promise<T>;
  close(): Promise<void>;
}

/** The deploy lease a save or remove is fenced with. */
export interface RegistryGuard {
  readonly lease: Lease;
}

/** Another planner is changing the dataflow and did not finish in time. */
export class RegistryBusyError extends Error {
  override name = 'RegistryBusyError';
  readonly code = 'deploy-in-progress';
  // Not the user's input: the same request succeeds once the other planner is done.
  readonly domain = 'external';
}

export interface RegistryOptions {
  connectionString: string;
  /** @default CONTROL_SCHEMA */
  schema?: string;
  applicationName?: string;
}

/** Opens (creating when missing) the control plane's tables. */
export async function openDeploymentRegistry(o: RegistryOptions): Promise<DeploymentRegistry> {
  const store = await openPostgresStore({ connectionString: o.connectionString, schema: o.schema ?? CONTROL_SCHEMA, applicationName: o.applicationName ?? 'ssdk-control' });
  try {
    await store.migrate([DATAFLOWS, VERSIONS, ARTIFACTS, SIGNATURES]);
  } catch (err) {
    await store.close();
    throw err;
  }
  return new Registry(store);
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

class Registry implements DeploymentRegistry {
  private readonly store: StateStore;
  constructor(store: StateStore) {
    this.store = store;
  }
  get schema(): string {
    return this.store.schema;
  }
  async get(namespace: string, name: string): Promise<DeployedDataflow | undefined> {
    const row = (await this.store.get<Row>(DATAFLOWS.table, [keyOf(namespace, name)])).get(keyOf(namespace, name));
    return row && this.withArtifacts(fromRow(row));
  }
  async version(namespace: string, name: string, version: number): Promise<DeployedDataflow | undefined> {
    const key = `${keyOf(namespace, name)}@${version}`;
    const row = (await this.store.get<Row>(VERSIONS.table, [key])).get(key);
    return row && this.withArtifacts(fromRow(row));
  }
  async signatures(namespace: string, name: string): Promise<Map<number, DeploymentSignature>> {
    const prefix = `${keyOf(namespace, name)}@`;
    const out = new Map<number, DeploymentSignature>();
    for (const e of await this.store.scan<DeploymentSignature>(SIGNATURES.table)) {
      const key = String(e.key);
      if (key.startsWith(prefix)) out.set(Number(key.slice(prefix.length)), e.value);
    }
    return out;
  }
  private async withArtifacts(d: DeployedDataflow): Promise<DeployedDataflow> {
    const key = `${keyOf(d.namespace, d.name)}@${d.version}`;
    const artifacts = (await this.store.get<DeploymentArtifacts>(ARTIFACTS.table, [key])).get(key);
    const signature = (await this.store.get<DeploymentSignature>(SIGNATURES.table, [key])).get(key);
    return { ...d, ...(artifacts ? { artifacts } : {}), ...(signature ? { signature } : {}) };
  }
  async list(): Promise<DeployedDataflow[]> {
    return (await this.store.scan<Row>(DATAFLOWS.table)).map((e) => fromRow(e.value));
  }
  async save(d: DeployedDataflow, guard?: RegistryGuard): Promise<void> {
    const value = toRow(d);
    await this.store.commit({
      writes: [
        { table: DATAFLOWS.table, key: keyOf(d.namespace, d.name), partition: 0, value },
        { table: VERSIONS.table, key: `${keyOf(d.namespace, d.name)}@${d.version}`, partition: 0, value },
        ...(d.artifacts ? [{ table: ARTIFACTS.table, key: `${keyOf(d.namespace, d.name)}@${d.version}`, partition: 0, value: d.artifacts }] : []),
        // Always written: a version number reused after an undeploy must not keep an old signature.
        { table: SIGNATURES.table, key: `${keyOf(d.namespace, d.name)}@${d.version}`, partition: 0, value: d.signature },
      ],
      offsets: [],
      ...fenceOf(guard),
    });
  }
  async remove(namespace: string, name: string, guard?: RegistryGuard): Promise<boolean> {
    const had = (await this.get(namespace, name)) !== undefined;
    if (had) await this.store.commit({ writes: [{ table: DATAFLOWS.table, key: keyOf(namespace, name), partition: 0, value: undefined }], offsets: [], ...fenceOf(guard) });
    return had;
  }
  async exclusive<T>(namespace: string, name: string, fn: (guard: RegistryGuard) => Promise<T>, options: { waitMs?: number; ttlMs?: number } = {}): Promise<T> {
    const request = { operator: `deploy:${keyOf(namespace, name)}`, partition: 0, owner: leaseOwnerId(), ttlMs: options.ttlMs ?? 60_000 };
    const deadline = Date.now() + (options.waitMs ?? 30_000);
    for (;;) {
      const got = await this.store.acquireLease(request);
      if (got.acquired) {
        try {
          return await fn({ lease: got.lease });
        } finally {
          await this.store.releaseLease(got.lease).catch(() => {});
        }
      }
      if (Date.now() > deadline) throw new RegistryBusyError(`${keyOf(namespace, name)} is being changed by another planner (${got.holder.owner ?? 'unknown'}); try again once it is done`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  close(): Promise<void> {
    return this.store.close();
  }
}

function fenceOf(guard: RegistryGuard | undefined): { fence?: Fence[] } {
  return guard ? { fence: [{ operator: guard.lease.operator, partitions: [guard.lease.partition], epoch: guard.lease.epoch }] } : {};
}

function toRow(d: DeployedDataflow): Row {
  return {
    namespace: d.namespace,
    name: d.name,
    version: d.version,
    status: d.status,
    hash: d.hash,
    layout_fingerprint: d.layoutFingerprint,
    state_schema: d.stateSchema,
    deployed_at: d.deployedAt,
    layout: JSON.stringify(d.layout),
    plan: JSON.stringify(d.plan),
    bundle: JSON.stringify(d.bundle),
  };
}

function fromRow(r: Row): DeployedDataflow {
  const at = r.deployed_at;
  return {
    namespace: r.namespace,
    name: r.name,
    version: Number(r.version),
    status: r.status as DeploymentStatus,
    hash: r.hash,
    layoutFingerprint: r.layout_fingerprint,
    layout: JSON.parse(r.layout) as unknown,
    plan: JSON.parse(r.plan) as PhysicalPlan,
    bundle: JSON.parse(r.bundle) as DeploymentBundle,
    stateSchema: r.state_schema,
    deployedAt: typeof at === 'number' ? at : new Date(at).getTime(),
  };
}

// ---- operators of a deployed dataflow ---------------------------------------------------------

export interface DeployedUnitSource {
  deployment: DeployedDataflow;
  /** The plan to run, as deployed. */
  plan: PhysicalPlan;
  /** The unit's functions: fetched artifacts, or (a deployment without them) compiled from the materialized bundle. */
  functions: UnitFunctionSource;
  /** Plan options to run it with (the deployed ones). */
  partitions: number;
  subjectPrefix: string;
  schema: string;
}

export interface LoadDeployedOptions {
  databaseUrl: string;
  /** `NS/NAME`. */
  dataflow: string;
  /** The unit this process runs: only its artifacts are fetched. */
  operatorId: string;
  /** Where its functions run (a sandboxed unit fetches the component). */
  isolation: IsolationChoice;
  /** The NATS server holding the artifacts (the object store). @default process.env.NATS_URL, else nats://127.0.0.1:4222 */
  natsUrl?: string;
  /** @default CONTROL_SCHEMA */
  controlSchema?: string;
  /** Where artifacts and bundles are written. @default <tmpdir>/ssdk-artifacts, <tmpdir>/ssdk-deployments */
  cacheDir?: string;
  /** Public nkeys a deployment must be signed by (`checkDeploymentTrust`). @default SSDK_TRUSTED_KEYS */
  trustedKeys?: readonly string[];
}

/**
 * The deployed version of a dataflow, ready for `runOperator` (`deployed`): its plan document and
 * the unit's built functions fetched from the object store, checked against their hashes. A
 * deployment made without artifacts (a planner request of its own) is materialized and planned
 * again, and must hash as deployed.
 *
 * @example
 * const src = await loadDeployedDataflow({ databaseUrl, dataflow: 'examples/word-count', operatorId, isolation: 'plan' });
 * await runOperator({ deployed: src, operatorId, subjectPrefix: src.subjectPrefix, schema: src.schema, databaseUrl, signal });
 */
export async function loadDeployedDataflow(o: LoadDeployedOptions): Promise<DeployedUnitSource> {
  const deployment = await loadDeployedRecord(o);
  // Before anything of it is fetched or run.
  await checkDeployedTrust({ ...o, deployment, trustedKeys: o.trustedKeys ?? trustedKeysFrom(), planDecidesIsolation: o.isolation === 'plan' });
  const { partitions, subjectPrefix } = deployment.plan.options;
  const common = { deployment, partitions, subjectPrefix, schema: deployment.stateSchema };
  if (deployment.artifacts) {
    const store = await openArtifactStore({ ...(o.natsUrl ? { servers: o.natsUrl } : {}), subjectPrefix, name: `ssdk-operator ${o.operatorId} artifacts` });
    try {
      const plan = await fetchPlan(store, deployment.artifacts);
      if (plan.hash !== deployment.hash) throw new OperatorConfigError(`the artifacts of ${o.dataflow} are of plan ${plan.hash.slice(0, 12)}, not the deployed ${deployment.hash.slice(0, 12)}`);
      const functions = await fetchUnitFunctions({ store, artifacts: deployment.artifacts, plan, operatorId: o.operatorId, isolation: o.isolation, ...(o.cacheDir ? { dir: join(o.cacheDir, 'artifacts') } : {}) });
      return { ...common, plan, functions };
    } finally {
      await store.close();
    }
  }
  const file = await materializeBundle(deployment.bundle, o.cacheDir && join(o.cacheDir, 'deployments'));
  const loaded = await planOrThrow(file, { partitions, subjectPrefix });
  if (loaded.plan.hash !== deployment.hash) {
    throw new OperatorConfigError(`the deployed bundle of ${o.dataflow} plans to ${loaded.plan.hash.slice(0, 12)}, not the deployed ${deployment.hash.slice(0, 12)}: this ssdk plans differently from the planner's; run the same version`);
  }
  const stateDir = process.env['SSDK_HOME'] ? resolve(process.env['SSDK_HOME']) : join(dirname(file), '.ssdk');
  const componentCache = process.env['SSDK_COMPONENT_CACHE'];
  return { ...common, plan: loaded.plan, functions: sourceUnitFunctions({ file, dataflow: loaded.dataflow, stateDir, ...(componentCache ? { componentCache } : {}) }) };
}

/** The deployed record of `NS/NAME`; an `OperatorConfigError` (the user's input) when there is none. */
export async function loadDeployedRecord(o: Pick<LoadDeployedOptions, 'databaseUrl' | 'dataflow' | 'controlSchema'>): Promise<DeployedDataflow> {
  const ref = parseDataflowRef(o.dataflow);
  if (!ref) throw new OperatorConfigError(`\`${o.dataflow}\` is not a dataflow: give NAMESPACE/NAME (as \`ssdk status\` lists them)`);
  const registry = await openDeploymentRegistry({ connectionString: o.databaseUrl, ...(o.controlSchema ? { schema: o.controlSchema } : {}), applicationName: 'ssdk-control-reader' });
  let deployment: DeployedDataflow | undefined;
  try {
    deployment = await registry.get(ref.namespace, ref.name);
  } finally {
    await registry.close();
  }
  if (!deployment) throw new OperatorConfigError(`no dataflow \`${o.dataflow}\` is deployed (control schema ${o.controlSchema ?? CONTROL_SCHEMA}): deploy it with \`ssdk deploy FILE\``);
  return deployment;
}

export interface CheckTrustOptions extends Pick<LoadDeployedOptions, 'databaseUrl' | 'controlSchema'> {
  deployment: DeployedDataflow;
  trustedKeys: readonly string[];
  /** False when the operator's `--native`/`--sandbox` overrides the plan's isolation. */
  planDecidesIsolation: boolean;
}

/**
 * Throws `PlanNotTrustedError` when the deployed version must not run (`checkDeploymentTrust`):
 * compared with the dataflow's first version (native steps) and the newest signature of the
 * versions before it (replays).
 */
export async function checkDeployedTrust(o: CheckTrustOptions): Promise<void> {
  const d = o.deployment;
  const registry = await openDeploymentRegistry({ connectionString: o.databaseUrl, ...(o.controlSchema ? { schema: o.controlSchema } : {}), applicationName: 'ssdk-control-reader' });
  let first: DeployedDataflow | undefined;
  let signatures: Map<number, DeploymentSignature>;
  try {
    first = d.version > 1 ? await registry.version(d.namespace, d.name, 1) : d;
    signatures = await registry.signatures(d.namespace, d.name);
  } finally {
    await registry.close();
  }
  let replaces: { version: number; signature: DeploymentSignature } | undefined;
  for (const [version, signature] of signatures) {
    if (version < d.version && (!replaces || signature.statement.signedAt > replaces.signature.statement.signedAt)) replaces = { version, signature };
  }
  const facts = {
    dataflow: `${d.namespace}/${d.name}`,
    version: d.version,
    bundle: bundleHash(d.bundle),
    ...(d.artifacts ? { artifacts: deploymentHash(d.artifacts) } : {}),
    plan: d.plan,
    ...(d.signature ? { signature: d.signature } : {}),
  };
  try {
    checkDeploymentTrust(facts, { trustedKeys: o.trustedKeys, ...(first ? { first: { version: first.version, plan: first.plan } } : {}), ...(replaces ? { replaces } : {}), planDecidesIsolation: o.planDecidesIsolation });
  } catch (err) {
    if (!(err instanceof PlanNotTrustedError)) throw err;
    throw new PlanNotTrustedError(err.message, { dataflow: `${d.namespace}/${d.name}`, version: d.version, hash: d.hash, ...(facts.artifacts ? { artifacts: facts.artifacts } : {}), subjectPrefix: d.plan.options.subjectPrefix });
  }
}

export interface WatchDeploymentOptions extends Pick<LoadDeployedOptions, 'databaseUrl' | 'dataflow' | 'controlSchema'> {
  /** The plan hash running now. */
  hash: string;
  /**
   * `deploymentHash` of the artifacts running now (none: a deployment without artifacts). A
   * redeploy of the same plan with other artifacts (a new component, functions compiled anew) is a
   * change too: the unit must run what is deployed.
   */
  artifacts?: string;
  /** The version running now: another version of the same plan (signed anew) is a change too. */
  version?: number;
  /** @default process.env.SSDK_REDEPLOY_POLL_MS, else 5000 */
  intervalMs?: number;
  /** Called once, when the deployment changed (redeployed with another plan or other artifacts, or undeployed). */
  onChange: () => void;
}

export type DeploymentChange = 'redeployed' | 'undeployed';

/**
 * Looks at a dataflow's deployment every `intervalMs` (one connection, one small query) until
 * it changes. A control database that is away only delays the news: it is asked again.
 */
export function watchDeployment(o: WatchDeploymentOptions): { change(): DeploymentChange | undefined; stop(): Promise<void> } {
  const ref = parseDataflowRef(o.dataflow);
  const intervalMs = o.intervalMs ?? envNumber('SSDK_REDEPLOY_POLL_MS') ?? 5_000;
  let change: DeploymentChange | undefined;
  let stopped = false;
  let registry: DeploymentRegistry | undefined;
  let timer: NodeJS.Timeout | undefined;
  const look = async () => {
    try {
      registry ??= await openDeploymentRegistry({ connectionString: o.databaseUrl, ...(o.controlSchema ? { schema: o.controlSchema } : {}), applicationName: 'ssdk-control-watch' });
      const now = ref && (await registry.get(ref.namespace, ref.name));
      if (stopped) return;
      if (!now) change = 'undeployed';
      else if (now.hash !== o.hash || (now.artifacts && deploymentHash(now.artifacts)) !== o.artifacts || (o.version !== undefined && now.version !== o.version)) change = 'redeployed';
    } catch {
      // Away: the next look asks again (a broken connection is opened anew).
      await registry?.close().catch(() => {});
      registry = undefined;
    }
    if (change) o.onChange();
    else if (!stopped) schedule();
  };
  let looking: Promise<void> | undefined;
  const schedule = () => {
    timer = setTimeout(() => (looking = look()), intervalMs);
  };
  schedule();
  return {
    change: () => change,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await looking;
      await registry?.close().catch(() => {});
    },
  };
}

// ---- heartbeats -------------------------------------------------------------------------------

export interface Heartbeat {
  dataflow: string;
  operator: string;
  /** Unique per process incarnation. */
  process: string;
  pid: number;
  host: string;
  startedAt: number;
  sentAt: number;
  intervalMs: number;
  /** The last heartbeat of a process that is stopping: it is not alive any more. */
  final?: boolean;
  /** A deployed version this process will not run (`PlanNotTrustedError`), and why. */
  refused?: { version: number; reason: string };
  metrics?: UnitMetricsSnapshot;
}

/** Sends `beat()` now and every `intervalMs` until the returned stop function is called (once more then). */
export function startHeartbeat(publish: (hb: Heartbeat) => void, beat: () => Omit<Heartbeat, 'sentAt' | 'intervalMs'>, intervalMs = 2_000): () => void {
  const send = (final: boolean) => publish({ ...beat(), sentAt: Date.now(), intervalMs, ...(final ? { final } : {}) });
  send(false);
  const timer = setInterval(() => send(false), intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    send(true);
  };
}
