/**
 * One operator unit as a service of the distributed runtime: the plan's unit, its topics on
 * NATS JetStream, its state and progress in PostgreSQL, and the same host loop as embedded mode
 * (`runUnitTask`), resuming from the offsets committed with the state (the durable bus keeps the
 * log, so committed offsets are the truth).
 *
 * This slice runs ONE replica per operator: the unit reads every partition of its inputs in one
 * task (parallelism 1). Leases, rebalancing and rescaling come later (shared/DESIGN.md section 5).
 * A server that is away (PostgreSQL or NATS) is retried with backoff: the task restarts from the
 * last checkpoint and the deterministic message ids drop what it publishes again.
 */
import { loadNativeStep } from '@ssdk/functions';
import { BusUnavailableError, createNatsBus, type NatsBus } from '@ssdk/bus';
import { planDataflow, type PhysicalPlan } from '@ssdk/plan';
import { loadServicesFile, type Dataflow, type Diagnostic } from '@ssdk/spec';
import { dataflowSchema, isRetryable, openPostgresStore, withRetry, type StateStore } from '@ssdk/state';
import { UnitMetrics } from './metrics.ts';
import { stateCheckpointStore } from './state-checkpoints.ts';
import { buildTopology, type Topology } from './topology.ts';
import { runUnitTask } from './unit-task.ts';

export interface OperatorOptions {
  /** The services file. */
  file: string;
  /** The operator unit to run (`<service>.<function>`, as `ssdk plan` lists them). */
  operatorId: string;
  /** @default process.env.NATS_URL, else nats://127.0.0.1:4222 */
  natsUrl?: string;
  /** @default process.env.DATABASE_URL */
  databaseUrl?: string;
  /** Subject prefix of the plan and stream-name prefix of the bus. @default process.env.SSDK_SUBJECT_PREFIX, else 'ssdk' */
  subjectPrefix?: string;
  /** Partitions per topic (a plan option). @default the file's config, else 8 */
  partitions?: number;
  /** State schema. @default dataflowSchema(namespace, name) */
  schema?: string;
  /** Stops the service: the batch in hand is finished and committed first. */
  signal: AbortSignal;
  /** One line per event worth telling an operator (start, retry, end). */
  log?: (line: string) => void;
  /** Backoff of the retries when a server is away, ms. @default 200 and 5000 */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
}

export interface OperatorResult {
  /** Every input ended (a bounded stream) and the unit flushed and forwarded the end. */
  ended: boolean;
  metrics: UnitMetrics;
}

/** The services file does not plan, or names no such operator: the user's input. */
export class OperatorConfigError extends Error {
  override name = 'OperatorConfigError';
  readonly code = 'operator-config';
  readonly domain = 'user';
  readonly diagnostics: Diagnostic[];
  constructor(message: string, diagnostics: Diagnostic[] = []) {
    super(message);
    this.diagnostics = diagnostics;
  }
}

export interface LoadedDataflow {
  plan: PhysicalPlan;
  dataflow: Dataflow;
  diagnostics: Diagnostic[];
}

/** Loads and plans a services file as the distributed runtime runs it (no fusing). */
export async function loadPlan(file: string, o: { partitions?: number; subjectPrefix?: string } = {}): Promise<LoadedDataflow> {
  const parsed = await loadServicesFile(file);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new OperatorConfigError(`${file} has errors: ${errors.map((d) => d.message).join('; ')}`, parsed.diagnostics);
  const planned = planDataflow(parsed.dataflow, {
    ...(o.partitions !== undefined ? { partitions: o.partitions } : {}),
    subjectPrefix: o.subjectPrefix ?? process.env['SSDK_SUBJECT_PREFIX'] ?? 'ssdk',
  });
  const diagnostics = [...parsed.diagnostics, ...planned.diagnostics];
  const planErrors = diagnostics.filter((d) => d.severity === 'error');
  if (!planned.plan || planErrors.length) throw new OperatorConfigError(`${file} has errors: ${planErrors.map((d) => d.message).join('; ')}`, diagnostics);
  return { plan: planned.plan, dataflow: parsed.dataflow, diagnostics };
}

/** Native (trusted) functions for now; the WebAssembly sandbox comes later. */
export function nativeTopology(file: string, plan: PhysicalPlan, dataflow: Dataflow): Promise<Topology> {
  return buildTopology(plan, dataflow, async (ps, step) => (await loadNativeStep(ps.id, step, file)).fn);
}

/** Creates (idempotently) the topics of a plan a process uses, each with the plan's subject template. */
export async function ensurePlanTopics(bus: NatsBus, plan: PhysicalPlan, topicIds: Iterable<string>): Promise<void> {
  for (const id of new Set(topicIds)) {
    const t = plan.topics.find((x) => x.id === id);
    if (!t) throw new OperatorConfigError(`the plan has no topic \`${id}\``);
    await bus.ensureTopic({ name: t.name, partitions: t.partitions, subject: t.subject });
  }
}

/** Errors worth waiting out: a server away (PostgreSQL or NATS). */
export function isRetryableOperatorError(err: unknown): boolean {
  return isRetryable(err) || err instanceof BusUnavailableError;
}

/**
 * Runs one operator unit until its inputs end (resolves `{ended: true}`) or `signal` aborts
 * (resolves after the batch in hand is committed). Retries with backoff while a server is away.
 */
export async function runOperator(o: OperatorOptions): Promise<OperatorResult> {
  const log = o.log ?? (() => {});
  const subjectPrefix = o.subjectPrefix ?? process.env['SSDK_SUBJECT_PREFIX'] ?? 'ssdk';
  const { plan, dataflow } = await loadPlan(o.file, { subjectPrefix, ...(o.partitions !== undefined ? { partitions: o.partitions } : {}) });
  const topology = await nativeTopology(o.file, plan, dataflow);
  const unit = topology.units.find((u) => u.id === o.operatorId);
  if (!unit) {
    throw new OperatorConfigError(`${o.file} has no operator \`${o.operatorId}\`: its operators are ${topology.units.map((u) => `\`${u.id}\``).join(', ')}`);
  }
  const schema = o.schema ?? dataflowSchema(plan.dataflow.namespace, plan.dataflow.name);
  const databaseUrl = o.databaseUrl ?? process.env['DATABASE_URL'];
  if (!databaseUrl) throw new OperatorConfigError('no PostgreSQL server: give --postgres URL or set DATABASE_URL');
  const metrics = new UnitMetrics(unit.id);
  const retry = {
    initialDelayMs: o.retryInitialDelayMs ?? 200,
    maxDelayMs: o.retryMaxDelayMs ?? 5_000,
    signal: o.signal,
    retryIf: isRetryableOperatorError,
    onRetry: (err: unknown, attempt: number, delay: number) => log(`${unit.id}: ${(err as Error).message} (retry ${attempt} in ${delay} ms)`),
  };
  let ended = false;
  try {
    await withRetry(async () => {
      let bus: NatsBus | undefined;
      let store: StateStore | undefined;
      try {
        bus = await createNatsBus({ servers: o.natsUrl ?? process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222', subjectPrefix, name: `ssdk-operator ${unit.id}` });
        await ensurePlanTopics(bus, plan, [...unit.inputs.map((i) => i.topic.id), ...unit.outputs.map((t) => t.id), unit.deadLetter.id, unit.lateEvents.id]);
        store = await openPostgresStore({ connectionString: databaseUrl, schema, applicationName: `ssdk-operator ${unit.id}` });
        const checkpoints = await stateCheckpointStore({ store, plan, dataflow });
        log(`${unit.id}: running (${unit.inputs.map((i) => `${i.topic.id}×${i.topic.partitions}`).join(', ')} → ${unit.outputs.map((t) => t.id).join(', ') || 'nothing'})`);
        await runUnitTask({ unit, bus, checkpoints, metrics, resumeOffsets: true, signal: o.signal });
        ended = metrics.snapshot().state === 'ended';
      } finally {
        await store?.close().catch(() => {});
        await bus?.close().catch(() => {});
      }
    }, retry);
  } catch (err) {
    // Stopped while waiting to retry: a graceful stop, not a failure.
    if (o.signal.aborted && isRetryableOperatorError(err)) return { ended, metrics };
    if (o.signal.aborted && err === o.signal.reason) return { ended, metrics };
    throw err;
  }
  log(`${unit.id}: ${ended ? 'inputs ended' : 'stopped'}`);
  return { ended, metrics };
}
