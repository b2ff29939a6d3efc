/**
 * One operator unit as a service of the distributed runtime: the plan's unit, its topics on
 * NATS JetStream, its state and progress in PostgreSQL, and the same host loop as embedded mode
 * (`runUnitTask`), resuming from the offsets committed with the state (the durable bus keeps the
 * log, so committed offsets are the truth).
 *
 * Several processes of the same unit are replicas: they divide its input partitions with fenced
 * leases and rebalance when one joins, leaves or dies (`replica.ts`; docs/architecture.md section 5).
 * A window unit whose flush sees every key runs as a singleton with standbys. A server that is
 * away (PostgreSQL or NATS) is retried with backoff: the task restarts from the last checkpoint
 * and the deterministic message ids drop what it publishes again.
 *
 * The unit's functions run where the plan says (sandboxed, the default, or native), as in
 * embedded mode: the process builds the dataflow's component itself (`sandbox.ts`: cached by
 * content hash beside the services file or in `SSDK_COMPONENT_CACHE`, one build per stack) and
 * compiles only its own unit's functions.
 */
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { compileStackSettings, SettingsError } from '@ssdk/settings';
import { planOrThrow, type PhysicalPlan } from '@ssdk/plan';
import { redactedMessage } from '@ssdk/records';
import type { Dataflow } from '@ssdk/spec';
import { dirname, join, resolve } from 'node:path';
import { dataflowSchema, openPostgresStore, withRetry, type StateStore } from '@ssdk/state';
import type { AssignmentMode } from './assignment.ts';
import { UnitMetrics } from './metrics.ts';
import { logTopicOf, RuntimeTelemetry, type RuntimeTelemetryOptions } from './observer.ts';
import { migratePlanState } from './partitioned-checkpoints.ts';
import { runReplica } from './replica.ts';
import { elsewhere, sourceFunctions, sourceUnitFunctions, type UnitFunctionSource } from './functions.ts';
import type { Sandbox, SandboxOptions } from './sandbox.ts';
import { buildTopology, type IsolationChoice, type RuntimeTopic, type RuntimeUnit, type Topology } from './topology.ts';
import { envNumber, leaseOwnerId, OperatorConfigError } from './settings.ts';
import { checkInputStreams } from './stream-check.ts';
import { failingReason, isTransientUnitError, UnitStepError } from './failing.ts';

export { OperatorConfigError };

export interface OperatorOptions {
  /** The services file: planned here, its functions compiled here. Or `deployed`. */
  file?: string;
  /** A deployed plan and its functions (fetched artifacts): nothing is planned or compiled. */
  deployed?: { plan: PhysicalPlan; functions: UnitFunctionSource };
  /** The operator unit to run (`<service>.<function>`, as `ssdk plan` lists them). */
  operatorId: string;
  /**
   * Where the settings not given here take their defaults (`NATS_URL`, `DATABASE_URL`, `SSDK_*`):
   * the front door decides (`ssdk operator` passes `process.env`). Nothing below reads the
   * process environment itself. @default {} (every setting from these options, else built in)
   */
  env?: Record<string, string | undefined>;
  /** @default env.NATS_URL, else nats://127.0.0.1:4222 */
  natsUrl?: string;
  /** @default env.DATABASE_URL, else the local server as psql finds it (`compileStackSettings` of @ssdk/settings) */
  databaseUrl?: string;
  /** Subject prefix of the plan and stream-name prefix of the bus. @default env.SSDK_SUBJECT_PREFIX, else 'ssdk' */
  subjectPrefix?: string;
  /** Partitions per topic (a plan option). @default env.SSDK_PARTITIONS, else the file's config, else 8 */
  partitions?: number;
  /**
   * Plan with runs of stateless forward steps fused into one unit (`ssdk plan --fuse`): fewer
   * hops. Every process of a dataflow must agree. @default env.SSDK_FUSE === '1', else false
   */
  fuse?: boolean;
  /** State schema. @default dataflowSchema(namespace, name) */
  schema?: string;
  /**
   * Where the unit's functions run (`TopologyOptions.isolation`): `plan` as the services file
   * says (sandboxed unless `isolation: native`), `native` trusts every function (no build),
   * `sandbox` sandboxes every one. @default env.SSDK_ISOLATION, else 'plan'
   */
  isolation?: IsolationChoice;
  /** Where the component is built (`<stateDir>/build`). @default env.SSDK_HOME, else `.ssdk/` beside the services file */
  stateDir?: string;
  /** Components by content hash, shared by the processes of a stack. @default env.SSDK_COMPONENT_CACHE, else none */
  componentCache?: string;
  /** Stops the service: the batch in hand is finished and committed first. */
  signal: AbortSignal;
  /** One line per event worth telling an operator (start, retry, end). */
  log?: (line: string) => void;
  /**
   * Tracing and the Prometheus endpoint (observer.ts), on top of the standard `OTEL_*` variables
   * and `SSDK_METRICS_PORT`; `false` turns both off. @default from the environment
   */
  telemetry?: Omit<RuntimeTelemetryOptions, 'serviceName'> | false;
  /** Called once with the unit's live metrics (e.g. to publish heartbeats that carry them). */
  onMetrics?: (metrics: UnitMetrics) => void;
  /**
   * A replica that has not renewed its leases and heartbeat for this long counts as dead and its
   * partitions move to the others, ms. @default env.SSDK_LEASE_TTL_MS, else 6000
   */
  leaseTtlMs?: number;
  /** How often a replica renews its leases and checks the division, ms. @default leaseTtlMs / 4 */
  heartbeatMs?: number;
  /**
   * Messages a batch takes per input channel; one commit covers the batch, so bigger batches
   * mean fewer PostgreSQL transactions per record (measured: 64 → 256 cut commit time ~2.5×).
   * @default 256
   */
  batchMessages?: number;
  /** This replica's id among its unit's replicas. @default host, pid and a random suffix */
  replicaId?: string;
  /**
   * When the committed offsets do not match the streams the unit reads (a stream made again,
   * an offset ahead of its stream), drop them and read the inputs from their start, keeping the
   * state, instead of stopping with the reason (stream-check.ts). @default false
   */
  resetOffsets?: boolean;
  /** Backoff of the retries when a server is away, ms. @default 200 and 5000 */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
}

export interface OperatorResult {
  /** Every input ended (a bounded stream) and the unit flushed and forwarded the end. */
  ended: boolean;
  metrics: UnitMetrics;
}

/**
 * The plan with every function native (trusted): for the topics' codecs and for tools and tests
 * that run units in-process without a sandbox. An operator service uses `unitTopology`.
 */
export function nativeTopology(file: string, plan: PhysicalPlan, dataflow: Dataflow): Promise<Topology> {
  return buildTopology(plan, { native: sourceFunctions(file, dataflow) }, { isolation: 'native' });
}

/** A plan's topics and codecs, for tools that produce and consume (no function is compiled: every unit refuses to run). */
export function planTopology(plan: PhysicalPlan): Promise<Topology> {
  return buildTopology(plan, { native: async (ps) => ({ fn: elsewhere(ps.id) }) }, { isolation: 'native' });
}

/** `SSDK_ISOLATION` (`plan`, `native` or `sandbox`); unset: `plan`. */
export function isolationFromEnv(env: Record<string, string | undefined> = process.env): IsolationChoice {
  const v = env['SSDK_ISOLATION'];
  if (v === undefined || v === '') return 'plan';
  if (v === 'plan' || v === 'native' || v === 'sandbox') return v;
  throw new OperatorConfigError(`SSDK_ISOLATION takes plan, native or sandbox, got \`${v}\``);
}

export interface UnitTopology {
  topology: Topology;
  unit: RuntimeUnit;
  /** The unit's sandbox, when it runs sandboxed: close it when the unit stops. */
  sandbox?: Sandbox;
}

/**
 * The topology as one operator service runs it: only `operatorId`'s functions are compiled
 * (natively) or served (from the component); the other units are there for their topics and
 * edges and refuse to run.
 */
export async function unitTopology(o: { plan: PhysicalPlan; operatorId: string; functions: UnitFunctionSource; isolation: IsolationChoice; log: (line: string) => void; sql?: SandboxOptions['sql'] }): Promise<UnitTopology> {
  const op = o.plan.operators.find((u) => u.id === o.operatorId);
  if (!op) {
    const { namespace, name } = o.plan.dataflow;
    throw new OperatorConfigError(`${namespace}/${name} has no operator \`${o.operatorId}\`: its operators are ${o.plan.operators.map((u) => `\`${u.id}\``).join(', ')}`);
  }
  const { functions, sandbox } = await o.functions({ op, isolation: o.isolation, log: o.log, ...(o.sql ? { sql: o.sql } : {}) });
  try {
    const topology = await buildTopology(o.plan, functions, { isolation: o.isolation });
    return { topology, unit: topology.units.find((u) => u.id === op.id)!, ...(sandbox ? { sandbox } : {}) };
  } catch (err) {
    await sandbox?.close();
    throw err;
  }
}

/** Creates (idempotently) the topics of a plan a process uses, each with the plan's subject template. */
export async function ensurePlanTopics(bus: NatsBus, plan: PhysicalPlan, topicIds: Iterable<string>): Promise<void> {
  for (const id of new Set(topicIds)) {
    const t = plan.topics.find((x) => x.id === id);
    if (!t) throw new OperatorConfigError(`the plan has no topic \`${id}\``);
    await bus.ensureTopic({ name: t.name, partitions: t.partitions, subject: t.subject });
  }
}

/**
 * Errors worth waiting out: a server away (PostgreSQL or NATS), or a step that failed outside
 * any record in a unit that cannot try its batch again in place (a window unit): the leg
 * restarts from its checkpoint.
 */
export function isRetryableOperatorError(err: unknown): boolean {
  return isTransientUnitError(err) || err instanceof UnitStepError;
}

/**
 * The operator's options with every default filled in and checked: the one place they are
 * decided. The settings every process of a stack shares (servers, subject prefix, partitions)
 * follow the stack's one rule (`compileStackSettings`); the operator's own are decided here.
 */
export interface CompiledOperatorOptions {
  natsUrl: string;
  databaseUrl: string;
  subjectPrefix: string;
  /** Flag, else `SSDK_PARTITIONS`; unset: the plan's (the file's, else 8). */
  partitions?: number;
  fuse: boolean;
  isolation: IsolationChoice;
  leaseTtlMs: number;
  heartbeatMs: number;
  batchMessages: number;
  replicaId: string;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  /** `SSDK_HOME`: where a services file's component is built. */
  home?: string;
  componentCache?: string;
}

/** Defaults (flags, then `SSDK_*` / `NATS_URL` / `DATABASE_URL`, then built in), checked; `OperatorConfigError` on a bad one. */
export function compileOperatorOptions(o: Omit<OperatorOptions, 'signal' | 'operatorId'>, env: Record<string, string | undefined>): CompiledOperatorOptions {
  const stack = operatorStackSettings(o, env);
  const leaseTtlMs = o.leaseTtlMs ?? envNumber('SSDK_LEASE_TTL_MS', env) ?? 6_000;
  const heartbeatMs = o.heartbeatMs ?? envNumber('SSDK_HEARTBEAT_MS', env) ?? Math.max(50, Math.round(leaseTtlMs / 4));
  if (!(heartbeatMs < leaseTtlMs)) throw new OperatorConfigError(`the heartbeat (${heartbeatMs} ms) must be shorter than the lease (${leaseTtlMs} ms)`);
  return {
    natsUrl: stack.natsUrl,
    databaseUrl: stack.databaseUrl,
    subjectPrefix: stack.subjectPrefix,
    ...(stack.partitions !== undefined ? { partitions: stack.partitions } : {}),
    fuse: o.fuse ?? env['SSDK_FUSE'] === '1',
    isolation: o.isolation ?? isolationFromEnv(env),
    leaseTtlMs,
    heartbeatMs,
    batchMessages: o.batchMessages ?? 256,
    replicaId: o.replicaId ?? leaseOwnerId(),
    retryInitialDelayMs: o.retryInitialDelayMs ?? 200,
    retryMaxDelayMs: o.retryMaxDelayMs ?? 5_000,
    ...(env['SSDK_HOME'] ? { home: resolve(env['SSDK_HOME']) } : {}),
    ...((o.componentCache ?? env['SSDK_COMPONENT_CACHE']) ? { componentCache: (o.componentCache ?? env['SSDK_COMPONENT_CACHE'])! } : {}),
  };
}

function operatorStackSettings(o: Omit<OperatorOptions, 'signal' | 'operatorId'>, env: Record<string, string | undefined>) {
  try {
    return compileStackSettings({ natsUrl: o.natsUrl, databaseUrl: o.databaseUrl, subjectPrefix: o.subjectPrefix, partitions: o.partitions }, env);
  } catch (err) {
    if (err instanceof SettingsError) throw new OperatorConfigError(err.message);
    throw err;
  }
}

/**
 * Runs one operator unit until its inputs end (resolves `{ended: true}`) or `signal` aborts
 * (resolves after the batch in hand is committed). Retries with backoff while a server is away.
 */
export async function runOperator(o: OperatorOptions): Promise<OperatorResult> {
  const log = o.log ?? (() => {});
  const c = compileOperatorOptions(o, o.env ?? {});
  const { subjectPrefix, leaseTtlMs, heartbeatMs } = c;
  const source = await operatorSource(o, c);
  const plan = source.plan;
  const schema = o.schema ?? dataflowSchema(plan.dataflow.namespace, plan.dataflow.name, plan.options.subjectPrefix);
  const databaseUrl = c.databaseUrl;
  // `ctx.sql` reads committed state through the current leg's connection; while PostgreSQL is
  // away there is none, and the query fails its record with the reason.
  let legStore: StateStore | undefined;
  const sql = (query: string, params: unknown[], options?: { timeoutMs?: number }) => (legStore ? legStore.query(query, params, options) : Promise.reject(new Error('ctx.sql: PostgreSQL is not connected (the operator is reconnecting)')));
  // Built once per process: a retry below reuses the unit's chains (and its guest workers).
  const { topology, unit, sandbox } = await unitTopology({ plan, operatorId: o.operatorId, functions: source.functions, isolation: c.isolation, log, sql });
  const functions = sandbox ? `sandboxed (component ${sandbox.components.join(', ')})` : unit.plan.steps.length > 0 ? 'native' : 'none';
  const metrics = new UnitMetrics(unit.id);
  o.onMetrics?.(metrics);
  // Asked to stop: `stopping` until the batch in hand is committed, then `stopped` (or `ended`).
  const onStop = () => {
    if (metrics.state !== 'ended') metrics.setState('stopping');
  };
  if (o.signal.aborted) onStop();
  else o.signal.addEventListener('abort', onStop, { once: true });
  const retry = {
    initialDelayMs: c.retryInitialDelayMs,
    maxDelayMs: c.retryMaxDelayMs,
    signal: o.signal,
    retryIf: isRetryableOperatorError,
    // `ssdk status`, the dashboard and the gauge say why, until the unit makes progress again.
    onRetry: (err: unknown, attempt: number, delay: number) => {
      // Asked to stop meanwhile: `stopping` stays (the retry wait ends with the stop).
      if (!o.signal.aborted) metrics.failing(failingReason(err), delay);
      log(`${unit.id}: ${redactedMessage(err)} (retry ${attempt} in ${delay} ms)`);
    },
  };
  const member = c.replicaId;
  const mode = assignmentMode(unit);
  const endTopics = endOfInputTopics(unit, topology);
  let ended = false;
  // Function log lines go to the dataflow's log topic (`ssdk log NS/NAME`).
  const logs = { topic: logTopicOf(plan.dataflow, subjectPrefix) };
  let telemetry: RuntimeTelemetry | undefined;
  try {
    telemetry = o.telemetry === false ? undefined : await RuntimeTelemetry.open({ serviceName: unit.id, logs, ...o.telemetry });
    if (telemetry?.metrics?.url) log(`${unit.id}: metrics at ${telemetry.metrics.url}`);
    await withRetry(async () => {
      let bus: NatsBus | undefined;
      let store: StateStore | undefined;
      try {
        bus = await createNatsBus({ servers: c.natsUrl, subjectPrefix, name: `ssdk-operator ${unit.id}` });
        await ensurePlanTopics(bus, plan, [...unit.inputs.map((i) => i.topic.id), ...unit.outputs.map((t) => t.id), unit.deadLetter.id, unit.lateEvents.id]);
        store = await openPostgresStore({ connectionString: databaseUrl, schema, applicationName: `ssdk-operator ${unit.id}` });
        await migratePlanState(store, plan);
        const natsBus = bus;
        const msgIdScope = await checkInputStreams({ store, unit, streamIdentity: (topic) => natsBus.streamIdentity(topic), resetOffsets: o.resetOffsets === true, log });
        legStore = store;
        log(`${unit.id}: running (${unit.inputs.map((i) => `${i.topic.id}×${i.topic.partitions}`).join(', ')} → ${unit.outputs.map((t) => t.id).join(', ') || 'nothing'}; replica ${member}, ${mode}; functions ${functions})`);
        const r = await runReplica({
          unit,
          bus,
          store,
          metrics,
          mode,
          member,
          leaseTtlMs,
          heartbeatMs,
          endTopics,
          signal: o.signal,
          log,
          batchMessages: c.batchMessages,
          msgIdScope,
          // Frames under the server's max_payload (less room for the id and trace headers): a
          // server configured below 1 MB would otherwise refuse a frame after the function ran,
          // and again after every restart. A record no frame can hold is dead-lettered instead.
          maxFrameBytes: Math.min(900_000, bus.maxPayload() - 4096),
          restart: { initialDelayMs: c.retryInitialDelayMs, maxDelayMs: c.retryMaxDelayMs, maxAttempts: Infinity },
          ...(telemetry ? { observer: telemetry.observer() } : {}),
        });
        ended = r.ended;
      } finally {
        legStore = undefined;
        await store?.close().catch(() => {});
        await bus?.close().catch(() => {});
      }
    }, retry);
  } catch (err) {
    // Stopped while waiting to retry: a graceful stop, not a failure.
    const stopped = o.signal.aborted && (isRetryableOperatorError(err) || err === o.signal.reason);
    if (!stopped) {
      metrics.failed(failingReason(err));
      throw err;
    }
  } finally {
    o.signal.removeEventListener('abort', onStop);
    if (metrics.state !== 'ended' && metrics.state !== 'failed') metrics.setState('stopped');
    // Spans still in the exporter's buffer go out before the service ends; the guest workers
    // go with the unit, whether it ended, stopped or failed.
    await telemetry?.close();
    await sandbox?.close();
  }
  log(`${unit.id}: ${ended ? 'inputs ended' : 'stopped'}${sandbox ? ` (${sandbox.guestCalls()} guest calls)` : ''}`);
  return { ended, metrics };
}

/** The plan and functions to run: deployed ones as they are, or a services file planned and compiled here. */
async function operatorSource(o: OperatorOptions, c: CompiledOperatorOptions): Promise<{ plan: PhysicalPlan; functions: UnitFunctionSource }> {
  if (o.deployed) return o.deployed;
  if (!o.file) throw new OperatorConfigError('an operator needs a services file or a deployed plan');
  const { plan, dataflow } = await planOrThrow(o.file, { subjectPrefix: c.subjectPrefix, fuse: c.fuse, ...(c.partitions !== undefined ? { partitions: c.partitions } : {}) });
  const stateDir = o.stateDir ?? c.home ?? join(dirname(resolve(o.file)), '.ssdk');
  const componentCache = c.componentCache;
  return { plan, functions: sourceUnitFunctions({ file: o.file, dataflow, stateDir, ...(componentCache ? { componentCache } : {}) }) };
}

/**
 * A window unit (its keyed state and its flush) runs as a singleton: a flush aggregates over every
 * key of the window, so one replica reads every partition; the others stand by. So does a join
 * unit (its sides are held in the unit's progress). Every other
 * unit divides its partitions among its replicas.
 */
export function assignmentMode(unit: RuntimeUnit): AssignmentMode {
  const windowed = unit.plan.window !== undefined && unit.plan.steps.some((s) => s.operator === 'flush' || s.operator === 'update-state');
  // A join keeps its buffers in the unit's progress, which is the unit's, not a partition's.
  return windowed || unit.plan.join !== undefined ? 'singleton' : 'divided';
}

/**
 * The topics a unit closes when its inputs end: its outputs, its service's late events (only a
 * window unit writes them), and its service's dead letters when it is the service's one last
 * unit — every other unit of the service ended (and published its dead letters) before it.
 */
export function endOfInputTopics(unit: RuntimeUnit, topology: Topology): RuntimeTopic[] {
  const topics = [...unit.outputs];
  if (assignmentMode(unit) === 'singleton') topics.push(unit.lateEvents);
  const siblings = topology.units.filter((u) => u.service === unit.service);
  const readBySibling = (u: RuntimeUnit) => u.outputs.some((t) => siblings.some((s) => s.inputs.some((i) => i.topic.id === t.id)));
  const last = siblings.filter((u) => !readBySibling(u));
  if (last.length === 1 && last[0] === unit) topics.push(unit.deadLetter);
  return topics;
}
