/**
 * The deployed dataflows in PostgreSQL (schema `ssdk_control`, table `dataflows`: one row per
 * dataflow, the current version's plan and the bundle it was planned from; `dataflow_versions`:
 * every version deployed; `dataflow_artifacts`: each version's artifacts manifest).
 */
import type { PhysicalPlan } from '@ssdk/plan';
import { leaseOwnerId, type DeploymentSignature } from '@ssdk/runtime';
import { openPostgresStore, type Fence, type Lease, type StateStore, type StateTableSpec } from '@ssdk/state';
import type { DeploymentArtifacts } from './artifacts.ts';
import type { DeploymentBundle } from './bundle.ts';
import { CONTROL_SCHEMA } from './protocol.ts';

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
