/**
 * Operators of a deployed dataflow: the loader an operator process calls to run a unit without
 * the services file (`ssdk operator --dataflow NS/NAME`), and the watch that tells it the
 * deployment changed.
 */
import { dirname, join, resolve } from 'node:path';
import { openArtifactStore } from '@ssdk/bus';
import { planOrThrow, type PhysicalPlan } from '@ssdk/plan';
import {
  checkDeploymentTrust,
  envNumber,
  OperatorConfigError,
  PlanNotTrustedError,
  sourceUnitFunctions,
  trustedKeysFrom,
  type DeploymentSignature,
  type IsolationChoice,
  type UnitFunctionSource,
} from '@ssdk/runtime';
import { deploymentHash, fetchPlan, fetchUnitFunctions } from './artifacts.ts';
import { bundleHash, materializeBundle } from './bundle.ts';
import { CONTROL_SCHEMA, parseDataflowRef } from './protocol.ts';
import { openDeploymentRegistry, type DeployedDataflow, type DeploymentRegistry } from './registry.ts';

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
