/**
 * The planner service: the control plane of the distributed runtime. It answers requests on
 * `<prefix>.planner.{deploy,status,undeploy,list}` (NATS request/reply, one at a time), and:
 * - deploy: validates and plans the bundle it receives (diagnostics go back to the client),
 *   refuses a redeploy whose state layout changed unless `resetState`, creates the streams and
 *   the state schema and tables, and stores the versioned plan in `ssdk_control.dataflows`;
 * - status: per operator, live processes (heartbeats), leases, records in/out, lag, watermark;
 * - undeploy: forgets the plan, and with `purge` drops the state schema and the streams;
 * - list: the deployed dataflows.
 * Operator processes fetch their unit from the stored plan (`loadDeployedDataflow`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectControl, createNatsBus, UnknownTopicError, type ControlConnection, type NatsBus, type Served } from '@ssdk/bus';
import { planServicesFile, PlanOptionsError, type PhysicalPlan } from '@ssdk/plan';
import { compileStackSettings, SettingsError, type StackSettings } from '@ssdk/settings';
import { ARTIFACTS_VERSION, bundleHash, checkBundle, deploymentHash, heartbeatSubject, materializeBundle, openDeploymentRegistry, parseDataflowRef, plannerSubject, type DataflowStatus, type DeployedDataflow, type DeploymentArtifacts, type DeploymentRegistry, type RegistryGuard, type DeployReply, type DeployRequest, type Heartbeat, type ListedDataflow, type OperatorStatus, type StatusRequest, type UndeployReply, type UndeployRequest } from '@ssdk/control-plane';
import { checkDeploymentTrust, PlanNotTrustedError, shortKey, trustedKeysFrom, type DeploymentSignature, endedPartitions, migratePlanState, resetOffsets } from '@ssdk/runtime';
import { dataflowSchema, openPostgresStore } from '@ssdk/state';
import type { Diagnostic } from '@ssdk/spec';
import { readsThatDoNotCarryOver, unitsUpstreamOf } from './handover.ts';
import { layoutChanges, layoutFingerprint, stateLayout, type StateLayout } from './layout.ts';
import { unitStatusState } from './unit-state.ts';

export interface PlannerOptions {
  /**
   * Where the settings not given here come from (`NATS_URL`, `DATABASE_URL`, `SSDK_*`): the
   * front door decides (the planner service passes `process.env`); the stack's one rule
   * (`compileStackSettings` of @ssdk/settings) fills the rest. @default {}
   */
  env?: Record<string, string | undefined>;
  /** @default env.NATS_URL, else nats://127.0.0.1:4222 */
  natsUrl?: string;
  /** @default env.DATABASE_URL, else the local server as psql finds it */
  databaseUrl?: string;
  /** Subject prefix this planner serves and plans with. @default env.SSDK_SUBJECT_PREFIX, else 'ssdk' */
  subjectPrefix?: string;
  /** Schema of the control tables. @default env.SSDK_CONTROL_SCHEMA, else the subject prefix's (`controlSchemaFor`: 'ssdk_control' for `ssdk`) */
  controlSchema?: string;
  /**
   * Public nkeys a deploy must be signed by: the planner refuses others before it touches
   * anything (operators check again: they are the gate). @default env.SSDK_TRUSTED_KEYS, else none
   */
  trustedKeys?: readonly string[];
  log?: (line: string) => void;
}

export interface Planner {
  readonly subjectPrefix: string;
  readonly controlSchema: string;
  /** Stops answering (the request in hand is finished first); idempotent. */
  stop(): Promise<void>;
}

/** A request the planner refuses because of the user's input: exit code 2 on the client. */
export class PlannerInputError extends Error {
  override name = 'PlannerInputError';
  readonly domain = 'user';
  readonly code: string;
  readonly details: unknown;
  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export class PlannerConfigError extends Error {
  override name = 'PlannerConfigError';
  readonly code = 'planner-config';
  readonly domain = 'user';
}

/** A signature as it came over the wire: its shape checked (its validity is `checkDeploymentTrust`'s). */
function checkSignatureShape(sig: unknown): DeploymentSignature | undefined {
  if (sig === undefined || sig === null) return undefined;
  const s = sig as Partial<DeploymentSignature>;
  const st = s.statement as Partial<DeploymentSignature['statement']> | undefined;
  if (typeof s.key !== 'string' || typeof s.signature !== 'string' || !st || typeof st.dataflow !== 'string' || typeof st.bundle !== 'string' || typeof st.signedAt !== 'number' || !Array.isArray(st.native)) {
    throw new PlannerInputError('bad-signature', 'the deploy request\'s signature is not {statement, key, signature}');
  }
  return sig as DeploymentSignature;
}

/** Own streams of a dataflow: everything but the user topics, which dataflows may share. */
const OWN_TOPIC_KINDS = new Set(['internal', 'dead-letter', 'late-events', 'schedule']);

/** A heartbeat counts a process alive for three of its intervals. */
const ALIVE_INTERVALS = 3;

/** The stack's settings of this planner (one rule: @ssdk/settings); a bad one is the planner's config error. */
function plannerSettings(o: PlannerOptions): StackSettings {
  try {
    return compileStackSettings({ natsUrl: o.natsUrl, databaseUrl: o.databaseUrl, subjectPrefix: o.subjectPrefix, controlSchema: o.controlSchema }, o.env ?? {});
  } catch (err) {
    if (err instanceof SettingsError) throw new PlannerConfigError(err.message);
    throw err;
  }
}

export async function startPlanner(o: PlannerOptions = {}): Promise<Planner> {
  const log = o.log ?? (() => {});
  const { natsUrl, databaseUrl, subjectPrefix, controlSchema } = plannerSettings(o);

  const registry = await openDeploymentRegistry({ connectionString: databaseUrl, schema: controlSchema, applicationName: 'ssdk-planner' });
  let control: ControlConnection | undefined;
  let bus: NatsBus | undefined;
  try {
    control = await connectControl({ servers: natsUrl, name: 'ssdk-planner' });
    bus = await createNatsBus({ servers: natsUrl, subjectPrefix, name: 'ssdk-planner' });
  } catch (err) {
    await control?.close();
    await registry.close();
    throw err;
  }
  const trustedKeys = o.trustedKeys ?? trustedKeysFrom(o.env ?? {});
  const planner = new PlannerService({ registry, bus, databaseUrl, subjectPrefix, trustedKeys, log });
  const served: Served[] = [
    control.subscribe(heartbeatSubject(subjectPrefix), (body) => planner.heartbeat(body as Heartbeat)),
    // A queue group: several planners of one prefix share the work, each request answered once.
    control.serve(plannerSubject(subjectPrefix, 'deploy'), (b) => planner.deploy(b as DeployRequest), { queue: 'ssdk-planner' }),
    control.serve(plannerSubject(subjectPrefix, 'status'), (b) => planner.status(b as StatusRequest), { queue: 'ssdk-planner' }),
    control.serve(plannerSubject(subjectPrefix, 'undeploy'), (b) => planner.undeploy(b as UndeployRequest), { queue: 'ssdk-planner' }),
    control.serve(plannerSubject(subjectPrefix, 'list'), () => planner.list(), { queue: 'ssdk-planner' }),
  ];
  log(`planner: serving ${subjectPrefix}.planner.* (control tables in ${controlSchema})`);
  let stopped: Promise<void> | undefined;
  const c = control;
  const b = bus;
  return {
    subjectPrefix,
    controlSchema,
    stop: () =>
      (stopped ??= (async () => {
        for (const s of served) await s.stop();
        await c.close();
        await b.close();
        await registry.close();
        log('planner: stopped');
      })()),
  };
}

interface Deps {
  registry: DeploymentRegistry;
  bus: NatsBus;
  databaseUrl: string;
  subjectPrefix: string;
  trustedKeys: readonly string[];
  log: (line: string) => void;
}

interface SeenProcess {
  beat: Heartbeat;
  receivedAt: number;
}

class PlannerService {
  private readonly d: Deps;
  /** Newest heartbeat per process, by dataflow and operator. */
  private readonly processes = new Map<string, SeenProcess>();
  /** Requests run one after another across verbs: a status never sees half a deploy. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(d: Deps) {
    this.d = d;
  }

  heartbeat(beat: Heartbeat): void {
    if (!beat || typeof beat.process !== 'string' || typeof beat.dataflow !== 'string') return;
    this.processes.set(beat.process, { beat, receivedAt: Date.now() });
  }

  deploy(req: DeployRequest): Promise<DeployReply> {
    return this.serial(() => this.doDeploy(req));
  }
  status(req: StatusRequest): Promise<DataflowStatus[]> {
    return this.serial(() => this.doStatus(req ?? {}));
  }
  undeploy(req: UndeployRequest): Promise<UndeployReply> {
    return this.serial(() => this.doUndeploy(req));
  }
  list(): Promise<ListedDataflow[]> {
    return this.serial(async () =>
      (await this.d.registry.list()).map((d) => ({ dataflow: `${d.namespace}/${d.name}`, version: d.version, hash: d.hash, deployedAt: d.deployedAt, operators: d.plan.operators.length })),
    );
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => {});
    return run;
  }

  // ---- deploy ----

  private async doDeploy(req: DeployRequest): Promise<DeployReply> {
    const bundle = checkBundle(req?.bundle);
    const displayPath = typeof req.displayPath === 'string' ? req.displayPath : bundle.servicesFile;
    const planned = await this.plan(bundle, displayPath, req.partitions);
    // Planners sharing the control tables take turns per dataflow: the version read here is
    // the one this deploy follows.
    return this.d.registry.exclusive(planned.plan.dataflow.namespace, planned.plan.dataflow.name, (guard) => this.deployPlanned(req, bundle, planned, guard));
  }

  private async deployPlanned(req: DeployRequest, bundle: DeployRequest['bundle'], planned: Awaited<ReturnType<PlannerService['plan']>>, guard: RegistryGuard): Promise<DeployReply> {
    const { plan, warnings } = planned;
    const id = `${plan.dataflow.namespace}/${plan.dataflow.name}`;
    const artifacts = checkArtifacts(req.artifacts, plan);
    const layout = stateLayout(plan);
    const fingerprint = layoutFingerprint(layout);
    const existing = await this.d.registry.get(plan.dataflow.namespace, plan.dataflow.name);
    const signature = checkSignatureShape(req.signature);
    if (this.d.trustedKeys.length > 0) await this.checkTrust(plan, bundle, artifacts, signature, existing);
    const stateSchema = req.schema ?? existing?.stateSchema ?? dataflowSchema(plan.dataflow.namespace, plan.dataflow.name, plan.options.subjectPrefix);
    let outcome: DeployReply['outcome'] = existing ? 'updated' : 'created';
    let changes: string[] = [];
    if (existing) {
      const diff = existing.layoutFingerprint === fingerprint ? { breaking: [], compatible: [] } : layoutChanges(existing.layout as StateLayout, layout);
      if (existing.stateSchema !== stateSchema && !req.resetState) diff.breaking.push(`state schema ${existing.stateSchema} → ${stateSchema}`);
      if (diff.breaking.length > 0 && !req.resetState) {
        throw new PlannerInputError(
          'incompatible-redeploy',
          `refusing to redeploy ${id}: its state layout changed, which would corrupt the state of version ${existing.version}:\n` +
            diff.breaking.map((c) => `  - ${c}`).join('\n') +
            `\nDeploy with --reset-state to drop ${id}'s state and offsets and start it over, or deploy it under another name.`,
          { changes: diff.breaking },
        );
      }
      if (req.resetState) {
        outcome = 'reset';
        changes = [`dropped schema ${existing.stateSchema}`, ...(await this.deleteOwnTopics(existing.plan)).map((s) => `deleted stream ${s}`)];
        await this.dropSchema(existing.stateSchema);
      } else {
        const between = await this.messagesBetweenVersions(existing, plan);
        if (between.problems.length > 0) {
          throw new PlannerInputError(
            'records-between-versions',
            `refusing to redeploy ${id}: the new plan does not read these internal topics as version ${existing.version} did, and the messages in them would be lost or processed twice:\n` +
              between.problems.map((p) => `  - ${p}`).join('\n') +
              `\nhint: stop the producers and let the stack drain (\`ssdk status\` shows lag 0), then deploy again; or deploy with --reset-state to drop ${id}'s state and offsets and start it over.` +
              (between.readAgain ? ' Messages a new reader would read again stay in their topic when the stack drains: for those, only --reset-state starts over.' : ''),
            { changes: between.problems },
          );
        }
        changes = diff.compatible;
        const sameArtifacts = (existing.artifacts && deploymentHash(existing.artifacts)) === (artifacts && deploymentHash(artifacts));
        // An unsigned deploy of what is deployed changes nothing; a signature by another key (or a first one) is a new version.
        const sameSigner = !signature || existing.signature?.key === signature.key;
        if (existing.hash === plan.hash && sameArtifacts && sameSigner) outcome = 'unchanged';
        else if (existing.hash === plan.hash && sameArtifacts) changes = [`signed by ${shortKey(signature!.key)}`];
      }
    }
    const topics = await this.ensureTopics(plan);
    const store = await openPostgresStore({ connectionString: this.d.databaseUrl, schema: stateSchema, applicationName: 'ssdk-planner' });
    try {
      // The same migration every operator replica runs before it reads or commits.
      await migratePlanState(store, plan);
      if (req.resetOffsets) {
        await resetOffsets(store, plan.operators.map((op) => op.id));
        // For operators stopped on a stream mismatch (stream-check.ts): restarted, they read their inputs from the start.
        changes = [...changes, `reset the offsets of ${plan.operators.length} operator${plan.operators.length === 1 ? '' : 's'} (state kept)`];
      }
    } finally {
      await store.close();
    }
    const version = !existing ? 1 : outcome === 'unchanged' ? existing.version : existing.version + 1;
    if (outcome !== 'unchanged') {
      const record: DeployedDataflow = {
        namespace: plan.dataflow.namespace,
        name: plan.dataflow.name,
        version,
        status: 'deployed',
        hash: plan.hash,
        layoutFingerprint: fingerprint,
        layout,
        plan,
        bundle,
        ...(artifacts ? { artifacts } : {}),
        ...(signature ? { signature } : {}),
        stateSchema,
        deployedAt: Date.now(),
      };
      await this.d.registry.save(record, guard);
      this.forgetProcesses(id);
    }
    this.d.log(`planner: ${id} ${outcome} (version ${version}, plan ${plan.hash.slice(0, 12)})`);
    return { dataflow: id, version, hash: plan.hash, outcome, changes, operators: plan.operators.map((op) => op.id), stateSchema, topics, warnings };
  }

  /** The operators' check, made before anything changes: a refused deploy is the deployer's error (exit 2). */
  private async checkTrust(plan: PhysicalPlan, bundle: DeployRequest['bundle'], artifacts: DeploymentArtifacts | undefined, signature: DeploymentSignature | undefined, existing: DeployedDataflow | undefined): Promise<void> {
    const version = (existing?.version ?? 0) + 1;
    const first = version > 1 ? await this.d.registry.version(plan.dataflow.namespace, plan.dataflow.name, 1) : undefined;
    try {
      checkDeploymentTrust(
        {
          dataflow: `${plan.dataflow.namespace}/${plan.dataflow.name}`,
          version,
          bundle: bundleHash(bundle),
          ...(artifacts ? { artifacts: deploymentHash(artifacts) } : {}),
          plan,
          ...(signature ? { signature } : {}),
        },
        { trustedKeys: this.d.trustedKeys, ...(first ? { first: { version: 1, plan: first.plan } } : {}), ...(existing?.signature ? { replaces: { version: existing.version, signature: existing.signature } } : {}) },
      );
    } catch (err) {
      if (err instanceof PlanNotTrustedError) throw new PlannerInputError('plan-not-trusted', err.message);
      throw err;
    }
  }

  /** Parses and plans the bundle in a folder of its own; diagnostics point at the user's path. */
  private async plan(bundle: DeployRequest['bundle'], displayPath: string, partitions: number | undefined) {
    const root = await mkdtemp(join(tmpdir(), 'ssdk-planner-'));
    try {
      const file = await materializeBundle(bundle, root);
      const dir = file.slice(0, file.length - bundle.servicesFile.length);
      const displayDir = displayPath.slice(0, displayPath.length - bundle.servicesFile.length);
      const shown = (d: Diagnostic): Diagnostic => ({ ...d, pos: { ...d.pos, file: d.pos.file.startsWith(dir) ? displayDir + d.pos.file.slice(dir.length) : d.pos.file } });
      let planned;
      try {
        planned = await planServicesFile(file, { subjectPrefix: this.d.subjectPrefix, ...(partitions !== undefined ? { partitions } : {}) });
      } catch (err) {
        if (err instanceof PlanOptionsError) throw new PlannerInputError('invalid-plan-options', err.message);
        throw err;
      }
      const diagnostics = planned.diagnostics.map(shown);
      const errors = diagnostics.filter((d) => d.severity === 'error');
      if (!planned.plan) {
        throw new PlannerInputError('invalid-services-file', `${displayPath}: ${errors.length} error${errors.length === 1 ? '' : 's'}`, { diagnostics });
      }
      return { plan: planned.plan, dataflow: planned.dataflow, warnings: diagnostics.filter((d) => d.severity !== 'error') };
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  private async ensureTopics(plan: PhysicalPlan): Promise<string[]> {
    const names: string[] = [];
    for (const t of plan.topics) {
      const made = await this.d.bus.ensureTopic({ name: t.name, partitions: t.partitions, subject: t.subject });
      if (made.partitions !== t.partitions) {
        throw new PlannerInputError(
          'topic-partitions',
          `topic \`${t.id}\` already exists with ${made.partitions} partitions; ${plan.dataflow.namespace}/${plan.dataflow.name} is planned with ${t.partitions}: deploy with --partitions ${made.partitions}, or delete the stream ${this.d.bus.streamName(t.name)} first`,
        );
      }
      names.push(t.name);
    }
    return names;
  }

  private async deleteOwnTopics(plan: PhysicalPlan, alsoUserTopics: ReadonlySet<string> = new Set()): Promise<string[]> {
    const deleted: string[] = [];
    for (const t of plan.topics) {
      if (!OWN_TOPIC_KINDS.has(t.kind) && !alsoUserTopics.has(t.name)) continue;
      if (await this.d.bus.deleteTopic(t.name)) deleted.push(this.d.bus.streamName(t.name));
    }
    return deleted;
  }

  private async dropSchema(schema: string): Promise<void> {
    const store = await openPostgresStore({ connectionString: this.d.databaseUrl, schema, applicationName: 'ssdk-planner' });
    try {
      await store.destroy();
    } finally {
      await store.close();
    }
  }

  // ---- undeploy ----

  private async doUndeploy(req: UndeployRequest): Promise<UndeployReply> {
    const found = await this.find(req?.dataflow);
    return this.d.registry.exclusive(found.namespace, found.name, async (guard) => {
      // Read again under the lease: another planner may have redeployed it meanwhile.
      const existing = await this.find(req.dataflow);
      return this.undeployFound(req, existing, guard);
    });
  }

  private async undeployFound(req: UndeployRequest, existing: DeployedDataflow, guard: RegistryGuard): Promise<UndeployReply> {
    const id = `${existing.namespace}/${existing.name}`;
    await this.d.registry.remove(existing.namespace, existing.name, guard);
    this.forgetProcesses(id);
    if (!req.purge) {
      this.d.log(`planner: ${id} undeployed (state kept in ${existing.stateSchema})`);
      return { dataflow: id, version: existing.version, deletedStreams: [] };
    }
    // User topics may feed other dataflows: only those no other deployed dataflow names go.
    const others = await this.d.registry.list();
    const shared = new Set(others.flatMap((d) => d.plan.topics.map((t) => t.name)));
    const userTopics = new Set(existing.plan.topics.filter((t) => !OWN_TOPIC_KINDS.has(t.kind) && !shared.has(t.name)).map((t) => t.name));
    const deletedStreams = await this.deleteOwnTopics(existing.plan, userTopics);
    await this.dropSchema(existing.stateSchema);
    this.d.log(`planner: ${id} undeployed and purged`);
    return { dataflow: id, version: existing.version, droppedSchema: existing.stateSchema, deletedStreams };
  }

  private async find(ref: unknown): Promise<DeployedDataflow> {
    const parsed = typeof ref === 'string' ? parseDataflowRef(ref) : undefined;
    if (!parsed) throw new PlannerInputError('bad-dataflow', `\`${String(ref)}\` is not a dataflow: give NAMESPACE/NAME (\`ssdk status\` lists them)`);
    const found = await this.d.registry.get(parsed.namespace, parsed.name);
    if (!found) {
      const known = (await this.d.registry.list()).map((d) => `${d.namespace}/${d.name}`);
      throw new PlannerInputError('unknown-dataflow', `no dataflow \`${String(ref)}\` is deployed${known.length ? `: deployed are ${known.join(', ')}` : ''}`);
    }
    return found;
  }

  private forgetProcesses(dataflow: string): void {
    for (const [key, p] of this.processes) if (p.beat.dataflow === dataflow && Date.now() - p.receivedAt > ALIVE_INTERVALS * p.beat.intervalMs) this.processes.delete(key);
  }

  // ---- status ----

  private async doStatus(req: StatusRequest): Promise<DataflowStatus[]> {
    const deployments = req.dataflow !== undefined ? [await this.find(req.dataflow)] : await this.d.registry.list();
    const out: DataflowStatus[] = [];
    for (const d of deployments) out.push(await this.statusOf(d));
    return out;
  }

  private async statusOf(d: DeployedDataflow): Promise<DataflowStatus> {
    const id = `${d.namespace}/${d.name}`;
    const store = await openPostgresStore({ connectionString: this.d.databaseUrl, schema: d.stateSchema, applicationName: 'ssdk-planner' });
    const now = Date.now();
    try {
      const operators: OperatorStatus[] = [];
      for (const op of d.plan.operators) {
        const seen = [...this.processes.values()].filter((p) => p.beat.dataflow === id && p.beat.operator === op.id);
        const alive = seen.filter((p) => !p.beat.final && now - p.receivedAt <= ALIVE_INTERVALS * p.beat.intervalMs);
        const sum = (f: (m: NonNullable<Heartbeat['metrics']>) => number) => seen.reduce((n, p) => n + (p.beat.metrics ? f(p.beat.metrics) : 0), 0);
        const watermarks = alive.map((p) => p.beat.metrics?.watermark).filter((w): w is number => typeof w === 'number');
        const newestFirst = seen.sort((a, b) => b.receivedAt - a.receivedAt);
        const aliveNewestFirst = newestFirst.filter((p) => alive.includes(p));
        const leases = (await store.leases(op.id)).filter((l) => l.owner !== null && !l.expired);
        // Live processes that will not run this version (its signature, native code) say why.
        const refusal = aliveNewestFirst.find((p) => p.beat.refused?.version === d.version)?.beat.refused;
        // Why a live process cannot make progress (or why the last one heard from failed).
        const reason = (aliveNewestFirst.find((p) => p.beat.metrics?.state === 'failing') ?? (alive.length === 0 ? newestFirst[0] : undefined))?.beat.metrics?.reason;
        operators.push({
          id: op.id,
          kind: op.kind,
          partitions: op.partitions,
          processes: alive.length,
          pids: alive.map((p) => p.beat.pid),
          leases: leases.length,
          leaseOwners: new Set(leases.map((l) => l.owner)).size,
          recordsIn: sum((m) => m.recordsIn),
          recordsOut: sum((m) => m.recordsOut),
          failed: sum((m) => m.failed),
          late: sum((m) => m.late),
          ...(watermarks.length ? { watermark: Math.min(...watermarks) } : {}),
          lag: await this.lag(d.plan, op.id, await store.offsets(op.id)),
          state: refusal
            ? 'refused'
            : unitStatusState({
                partitions: op.partitions,
                endedPartitions: (await endedPartitions(store, op.id)).size,
                live: aliveNewestFirst.map((p) => p.beat.metrics?.state ?? 'starting'),
                ...(newestFirst[0] ? { lastHeard: newestFirst[0].beat.metrics?.state ?? 'starting' } : {}),
              }),
          ...(refusal ? { refused: refusal.reason } : {}),
          ...(reason ? { reason } : {}),
        });
      }
      return {
        dataflow: id,
        version: d.version,
        hash: d.hash,
        layoutFingerprint: d.layoutFingerprint,
        deployedAt: d.deployedAt,
        stateSchema: d.stateSchema,
        subjectPrefix: d.plan.options.subjectPrefix,
        partitions: d.plan.options.partitions,
        operators,
      };
    } finally {
      await store.close();
    }
  }

  /** Σ over the unit's input topics of what it has not read (`unreadByTopic`). */
  private async lag(plan: PhysicalPlan, operatorId: string, offsets: Map<number, { seq: number; meta?: unknown }>): Promise<number> {
    let lag = 0;
    for (const n of (await this.unreadByTopic(plan, operatorId, offsets)).values()) lag += n;
    return lag;
  }

  /**
   * Per input topic of the unit, Σ over its channels (`<topic>/<partition>`) of the partition's
   * last stream sequence minus the committed one. Committed read positions are in
   * `_offsets.meta.channels` (any row of the operator: one per replica or partition); a channel
   * never committed counts from 0, a stream that does not exist holds nothing. The one rule of
   * `ssdk status`'s lag and of the redeploy check on records between units.
   */
  private async unreadByTopic(plan: PhysicalPlan, operatorId: string, offsets: Map<number, { seq: number; meta?: unknown }>): Promise<Map<string, number>> {
    const op = plan.operators.find((o) => o.id === operatorId)!;
    const committed = new Map<string, number>();
    for (const row of offsets.values()) {
      const channels = (row.meta as { channels?: Record<string, number> } | null | undefined)?.channels;
      for (const [ch, seq] of Object.entries(channels ?? {})) committed.set(ch, Math.max(committed.get(ch) ?? 0, Number(seq)));
    }
    const unread = new Map<string, number>();
    for (const input of op.inputs) {
      const topic = plan.topics.find((t) => t.id === input.topic);
      if (!topic) continue;
      let n = 0;
      for (let p = 0; p < topic.partitions; p++) {
        let last = 0;
        try {
          last = await this.d.bus.lastSeq(topic.name, p);
        } catch (err) {
          if (!(err instanceof UnknownTopicError)) throw err;
        }
        n += Math.max(0, last - (committed.get(`${topic.id}/${p}`) ?? 0));
      }
      unread.set(topic.id, n);
    }
    return unread;
  }

  /**
   * What the deployed version's units hold between them that the new plan would lose or read
   * twice (handover.ts): per read that does not carry over, one line naming the topic and the
   * messages; none when the stack is drained and no new reader would start over a topic's messages.
   */
  private async messagesBetweenVersions(deployed: DeployedDataflow, next: PhysicalPlan): Promise<{ problems: string[]; readAgain: boolean }> {
    const handovers = readsThatDoNotCarryOver(deployed.plan, next);
    if (handovers.length === 0) return { problems: [], readAgain: false };
    const store = await openPostgresStore({ connectionString: this.d.databaseUrl, schema: deployed.stateSchema, applicationName: 'ssdk-planner' });
    try {
      // Handovers share their upstream units (q7: three topics, one source reader): each unit's counts are read once.
      const counted = new Map<string, Promise<Map<string, number>>>();
      const unreadOf = (plan: PhysicalPlan, unit: string): Promise<Map<string, number>> => {
        const key = `${plan === next ? 'next' : 'deployed'}:${unit}`;
        let unread = counted.get(key);
        if (!unread) counted.set(key, (unread = store.offsets(unit).then((offsets) => this.unreadByTopic(plan, unit, offsets))));
        return unread;
      };
      const problems: string[] = [];
      let readAgain = false;
      for (const h of handovers) {
        const id = `\`${h.topic.id}\``;
        const unread = (await unreadOf(deployed.plan, h.reader)).get(h.topic.id) ?? 0;
        const upstream: string[] = [];
        let onTheirWay = 0;
        for (const unit of unitsUpstreamOf(deployed.plan, h.topic.id)) {
          let n = 0;
          for (const m of (await unreadOf(deployed.plan, unit)).values()) n += m;
          if (n > 0) upstream.push(`\`${unit}\` ${n}`);
          onTheirWay += n;
        }
        const mayStillCome = onTheirWay > 0 ? `; ${messages(onTheirWay)} not yet read by the units before it (${upstream.join(', ')}) may still reach it before they stop for the new version` : '';
        if (h.newReaders.length === 0) {
          if (unread + onTheirWay > 0) problems.push(`${id}: no unit of the new plan reads it; ${messages(unread)} in it not yet read by \`${h.reader}\` would never be processed${mayStillCome}`);
          continue;
        }
        for (const reader of h.newReaders) {
          const toRead = (await unreadOf(next, reader)).get(h.topic.id) ?? 0;
          if (toRead + onTheirWay === 0) continue;
          const processed = Math.max(0, toRead - unread);
          if (processed > 0) readAgain = true;
          problems.push(
            `${id}: the new plan's \`${reader}\` would read it from its own position (none: the first message), not \`${h.reader}\`'s: ${messages(toRead)}, ` +
              `${processed} of them already processed by \`${h.reader}\` (they would count twice) and ${unread} not yet read by it${mayStillCome}`,
          );
        }
      }
      return { problems, readAgain };
    } finally {
      await store.close();
    }
  }
}

/** Stream sequences, as `ssdk status` counts lag: a message holds one or more records. */
function messages(n: number): string {
  return `${n} message${n === 1 ? '' : 's'}`;
}

/**
 * The artifacts a deploy ships must be of the plan this planner made (same ssdk, same options)
 * and carry every step's function; else operators would run something other than what was planned.
 */
function checkArtifacts(given: unknown, plan: PhysicalPlan): DeploymentArtifacts | undefined {
  if (given === undefined || given === null) return undefined;
  const a = given as Partial<DeploymentArtifacts>;
  if (a.artifactsVersion !== ARTIFACTS_VERSION || typeof a.plan !== 'string' || typeof a.planObject !== 'string' || !a.native || typeof a.native !== 'object') {
    throw new PlannerInputError('invalid-artifacts', `the deploy's artifacts are not a version ${ARTIFACTS_VERSION} manifest: deploy with the same ssdk as the planner's`);
  }
  if (a.plan !== plan.hash) {
    throw new PlannerInputError('artifacts-mismatch', `the deploy's artifacts were built for plan ${a.plan.slice(0, 12)}, but the planner plans ${plan.hash.slice(0, 12)}: deploy with the same ssdk version and options as the planner's`);
  }
  const missing = plan.operators.flatMap((op) => op.steps.map((st) => st.id)).filter((id) => typeof a.native![id] !== 'string');
  if (missing.length) throw new PlannerInputError('artifacts-mismatch', `the deploy's artifacts have no compiled function for ${missing.map((m) => `\`${m}\``).join(', ')}`);
  return a as DeploymentArtifacts;
}
