/**
 * One embedded run of a dataflow, as `ssdk run` and `ssdk test` need it: load and plan the
 * file, start the embedded runtime (functions sandboxed as the file says, built when needed, or
 * all native when trusted), feed inputs in order
 * (each drains before the next, so a run is deterministic), end the input or wait for idle,
 * and collect every topic the dataflow writes.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkFunctionCode } from '@ssdk/functions';
import { planServicesFile, type CodeLeft, type PhysicalPlan } from '@ssdk/plan';
import type { JsonRecord } from '@ssdk/records';
import { inputRecords, type InputFile } from './input-file.ts';
import { MemoryState, type EngineRecord, type Key } from '@ssdk/engine';
import { endsOnItsOwn, runConnector, Secrets } from '@ssdk/connectors';
import { committedCheckpoints, migratePlanState, openSandbox, sourceFunctions, startEmbedded, unitRunsSandboxed, type CheckpointStore, type EmbeddedDataflow, type IsolationChoice, type Sandbox, type UnitObserver } from '@ssdk/runtime';
import { dataflowSchema, openPgliteStore, type StateStore } from '@ssdk/state';
import { embeddedStateDir, stateDir } from './state-dir.ts';
import { inlineConnectors, type Connector, type Dataflow, type Diagnostic } from '@ssdk/spec';
import { UsageError, type ParsedCommand } from './args.ts';
import { isolationOf } from './distributed.ts';
import { timed, timedCheck } from './timings.ts';
import { closest } from './shell/words.ts';

/** Embedded mode runs one partition per topic: one process gains no parallelism from more, and
 * one partition keeps records in exactly the order they were produced. */
export const EMBEDDED_PARTITIONS = 1;

export interface SessionInput {
  topic: string;
  /** The records (`ssdk test`), or a file's lines (`ssdk run --input`: a bad line is dead-lettered, the rest goes on). */
  records: JsonRecord[] | InputFile;
  /** What the input is, to tell a run given the same input again (a hash of the file and how it is read). */
  digest?: string;
}

export interface SessionOptions {
  file: string;
  partitions?: number;
  /** Where state and progress go: memory (nothing survives), or PGlite under the state dir. */
  checkpoints: { kind: 'memory'; store: CheckpointStore } | { kind: 'pglite'; stateDir?: string; fresh: boolean };
  /**
   * Where functions run: `plan` — as the services file says (`isolation: wasm`, the default,
   * runs as WebAssembly components, built first — a cache hit when nothing changed);
   * `native` — every function in V8, trusted (`--native`); `sandbox` — every function as a
   * component, `isolation: native` ones too (`--sandbox`). @default 'plan'
   */
  isolation?: IsolationChoice;
  stateDir?: string;
  /** Build progress, one line per component. */
  onBuild?: (line: string) => void;
  /** Tracing, metrics and function logs of the run (`--trace`, `--ui`, `ssdk log`). */
  observer?: UnitObserver;
  /**
   * Runs the connectors written inline in sources and sinks, on the session's bus (`ssdk run`);
   * with `only`, those it accepts (`ssdk test`: the sources that end by themselves). @default false
   */
  connectors?: { log: (line: string) => void; only?: (connector: Connector) => boolean };
  /** The input files this run feeds (remembered beside the state, to tell a run given them again). */
  inputs?: readonly SessionInput[];
  /**
   * The run continues the last one (`--resume`): given the same inputs as that run, what it
   * committed is skipped, so a run killed midway and resumed ends as an uninterrupted one.
   */
  replay?: boolean;
  /** What earlier runs stored for the sinks stays, unpublished; this run's sink outputs are stored after it (`ssdk redrive --embedded`). */
  keepOutputs?: boolean;
}

export interface Session {
  file: string;
  /** The inputs are those of the run this one continues: what it committed is skipped. */
  replaying: boolean;
  dataflow: Dataflow;
  plan: PhysicalPlan;
  df: EmbeddedDataflow;
  checkpoints: CheckpointStore;
  /** The state database (absent with in-memory state): for SQL over state tables. */
  store?: StateStore;
  diagnostics: Diagnostic[];
  /**
   * Resolves once the inline source connectors that end by themselves (a nexmark-source) have
   * published all they have and ended their topics' input: a run that ends the input waits for
   * this first, or it would end it before them. At once without such connectors.
   */
  finiteSourcesDone(): Promise<void>;
  /** Stops the dataflow and releases what the session holds (the store, the sandbox's workers). */
  close(): Promise<void>;
}

export class SessionError extends Error {
  override name = 'SessionError';
  readonly domain = 'user';
  readonly diagnostics: Diagnostic[];
  /** The functions the file's errors left unchecked (`codeWaitingNote`). */
  readonly left: CodeLeft;
  constructor(message: string, diagnostics: Diagnostic[] = [], left: CodeLeft = {}) {
    super(message);
    this.diagnostics = diagnostics;
    this.left = left;
  }
}

export async function openSession(o: SessionOptions): Promise<Session> {
  const planned = await timed('parse', () => planServicesFile(o.file, { ...embeddedPlanOptions(o.partitions), checkCode: timedCheck(checkFunctionCode) }));
  if (!planned.plan) throw new SessionError(`${o.file} has errors`, planned.diagnostics, { codeWaiting: planned.codeWaiting, codeCut: planned.codeCut });
  const file = o.file;
  const { plan, dataflow } = planned;
  // Before any state is opened or component built: a misspelt --input topic is the user's to fix.
  for (const input of o.inputs ?? []) inputTopic(plan, input.topic);
  let checkpoints: CheckpointStore;
  let store: StateStore | undefined;
  if (o.checkpoints.kind === 'memory') checkpoints = o.checkpoints.store;
  else {
    store = await openPgliteStore({ dataDir: await embeddedStateDir(file, o.checkpoints.stateDir), schema: dataflowSchema(plan.dataflow.namespace, plan.dataflow.name, plan.options.subjectPrefix) });
    // A fresh run starts from no state: the schema goes, and migrate makes it anew.
    if (o.checkpoints.fresh) await store.destroy();
    await migratePlanState(store, plan);
    // Units commit at the embedded runtime's cuts; the session only reads what they committed.
    checkpoints = committedCheckpoints(store);
  }
  const same = store !== undefined && (await sameInputs(stateDir(file, o.stateDir), plan, o.inputs ?? []));
  const replaying = same && o.replay === true && o.checkpoints.kind === 'pglite' && !o.checkpoints.fresh;
  const isolation = o.isolation ?? 'plan';
  const sandboxed = plan.operators.some((op) => unitRunsSandboxed(op, isolation));
  let sandbox: Sandbox | undefined;
  let df: EmbeddedDataflow;
  try {
    const stateStore = store;
    // `ctx.sql` reads the committed state tables: with in-memory checkpoints there are none.
    const sql = stateStore ? (query: string, params: unknown[], options?: { timeoutMs?: number }) => stateStore.query(query, params, options) : undefined;
    sandbox = sandboxed
      ? await timed('component', () => openSandbox({ dataflow, stateDir: stateDir(file, o.stateDir), sandboxAll: isolation === 'sandbox', ...(o.onBuild ? { onBuild: o.onBuild } : {}), ...(sql ? { sql } : {}) }))
      : undefined;
    df = await startEmbedded({
      plan,
      checkpoints,
      ...(store ? { store, replayInputs: replaying, ...(o.keepOutputs && !replaying ? { keepOutputs: true } : {}) } : {}),
      isolation,
      functions: { native: sourceFunctions(file, dataflow), ...(sql ? { sql } : {}), ...(sandbox ? { sandbox: sandbox.factory } : {}) },
      ...(o.observer ? { observer: o.observer } : {}),
    });
  } catch (err) {
    // A function that does not compile, a component that does not load: release what is open.
    await sandbox?.close();
    await checkpoints.close();
    throw err;
  }
  const connectors = o.connectors ? startInlineConnectors(dataflow, df, o.connectors.log, o.connectors.only) : undefined;
  const close = async () => {
    await connectors?.stop();
    await df.stop();
    await checkpoints.close();
    await sandbox?.close();
  };
  const finiteSourcesDone = async () => {
    await connectors?.finiteSourcesDone;
  };
  return { file, replaying, dataflow, plan, df, checkpoints, ...(store ? { store } : {}), diagnostics: planned.diagnostics, finiteSourcesDone, close };
}

/**
 * The inline connectors of a dataflow, each on the dataflow's own (in-memory) bus under its
 * topic's runtime name. A connector that fails stops alone and says why; the dataflow goes on.
 */
function startInlineConnectors(dataflow: Dataflow, df: EmbeddedDataflow, log: (line: string) => void, only: (connector: Connector) => boolean = () => true): { finiteSourcesDone: Promise<unknown>; stop(): Promise<void> } {
  const abort = new AbortController();
  const running: Promise<void>[] = [];
  const finite: Promise<void>[] = [];
  for (const connector of inlineConnectors(dataflow).filter(only)) {
    const say = (line: string) => log(`[${connector.name}] ${line}`);
    say(`${connector.type} ${connector.type.endsWith('-source') ? 'into' : 'from'} topic \`${connector.topic}\``);
    const run = runConnector(connector, { bus: df.bus, secrets: new Secrets(), signal: abort.signal, log: say }).catch((err: unknown) => say(`stopped: ${(err as Error).message}`));
    running.push(run);
    if (endsOnItsOwn(connector)) finite.push(run);
  }
  return {
    finiteSourcesDone: Promise.all(finite),
    async stop() {
      abort.abort();
      await Promise.all(running);
    },
  };
}

/** `--native` / `--sandbox` (not both): where `ssdk run` and `ssdk test` run functions. */
export function isolationFlag(cmd: ParsedCommand, command: string): IsolationChoice {
  return isolationOf(cmd, command) ?? 'plan';
}

/** Produces each input in turn, waiting until the dataflow is idle after each. */
export async function feed(session: Session, inputs: readonly SessionInput[]): Promise<void> {
  for (const input of inputs) {
    inputTopic(session.plan, input.topic);
    const records = Array.isArray(input.records) ? input.records : inputRecords(input.records, session.df.topicOf(input.topic));
    await session.df.produce(input.topic, records.map(toProduceRecord));
    await session.df.idle();
  }
}

/** The plan's topic an input names (by id or bus name); an unknown one is a user error naming the closest. */
function inputTopic(plan: PhysicalPlan, name: string): PhysicalPlan['topics'][number] {
  const topic = plan.topics.find((t) => t.id === name) ?? plan.topics.find((t) => t.name === name);
  if (topic) return topic;
  const close = closest(name, plan.topics.map((t) => t.id));
  const readable = plan.topics.filter((t) => t.kind !== 'internal').map((t) => `\`${t.id}\``).join(', ');
  throw new UsageError(`unknown topic \`${name}\` for input${close ? ` (did you mean \`${close}\`?)` : ''}; this dataflow's topics: ${readable}`);
}

/** The digest of an input file as `--input` reads it (`SessionInput.digest`). */
export async function inputDigest(topic: string, path: string, records: boolean): Promise<string> {
  return createHash('sha256').update(`${topic}\0${records ? 'records' : 'values'}\0`).update(await readFile(path)).digest('hex');
}

/**
 * Whether `inputs` are the inputs of the last run of this dataflow (kept beside its state), and
 * from now on they are. The same inputs again continue that run where it committed; other
 * inputs are new records, read from their start.
 */
async function sameInputs(dir: string, plan: PhysicalPlan, inputs: readonly SessionInput[]): Promise<boolean> {
  const file = join(dir, 'inputs', `${plan.dataflow.namespace}.${plan.dataflow.name}.json`);
  const now = JSON.stringify(inputs.map((i) => [i.topic, i.digest ?? null]));
  const before = await readFile(file, 'utf8').catch(() => undefined);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, now);
  return before === now && inputs.length > 0 && inputs.every((i) => i.digest !== undefined);
}

function toProduceRecord(r: JsonRecord) {
  const key = r.key;
  return {
    ...(typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean' ? { key } : {}),
    value: r.value,
    ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
    ...(r.headers ? { headers: r.headers } : {}),
  };
}

/** The topics a run writes out: what the dataflow writes, plus non-empty dead letters and late events. */
export async function collectOutputs(session: Session): Promise<Map<string, EngineRecord[]>> {
  const out = new Map<string, EngineRecord[]>();
  for (const t of session.plan.topics) {
    if (t.kind === 'sink' || t.kind === 'intermediate') out.set(t.id, await session.df.read(t.id));
    if (t.kind === 'dead-letter' || t.kind === 'late-events') {
      const records = await session.df.read(t.id);
      if (records.length > 0) out.set(t.id, records);
    }
  }
  return out;
}

/** The committed value of every key of each non-windowed state, keys sorted. */
export async function collectStates(session: Session): Promise<Map<string, Record<string, unknown>>> {
  const { checkpoints } = session;
  await session.df.checkpoint();
  const out = new Map<string, Record<string, unknown>>();
  for (const s of collectedStates(session.plan)) {
    const cache = new MemoryState();
    await checkpoints.loadState('', [{ name: s.name, table: s.table, access: 'read' }], cache);
    const entries = [...cache.entries(s.name)].sort(([a], [b]) => compareKeys(a, b));
    out.set(s.name, Object.fromEntries(entries.map(([k, v]) => [String(k), v])));
  }
  return out;
}

/** The states `collectStates` reads: the keyed ones (a window's state ends with its window). */
export function collectedStates(plan: PhysicalPlan): PhysicalPlan['states'] {
  return plan.states.filter((s) => !s.windowed);
}

/** The plan options of an embedded session: what it runs is planned so, and what a test file names is checked against it. */
export function embeddedPlanOptions(partitions = EMBEDDED_PARTITIONS): { partitions: number; fuse: true } {
  // One process: no reason to hop through a topic between steps that can run together.
  return { partitions, fuse: true };
}

function compareKeys(a: Key, b: Key): number {
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}
