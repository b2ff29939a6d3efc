/**
 * The plan made runnable: each topic with its codecs, each operator unit with its compiled
 * functions and the logic that runs them. Built once per process from the plan document alone
 * (v2 carries every type a codec needs) and the functions, wherever they come from: compiled
 * from the services file's sources, or fetched as deployed artifacts.
 */
import { camelCase } from '@ssdk/spec';
import { fromPlanType, lastValueStep, planTypeTable, type PhysicalPlan, type TypeTable, type PlanOperator, type PlanTopic, type PlanStep } from '@ssdk/plan';
import { frameTimestamp, partitionOfText, readUtf8 } from '@ssdk/records';
import { compileCodec, ignoresFirstArgument, ownCopy, ownedRecord, type ChainOutput, type ValueSource, type WindowWriter, plainJsonString, quickerCopy, wellFormed, type ChainStep, type EngineRecord, type Key, type MemoryState, type StateWriteCheck, type StepGrants, type ValueCodec, type SessionConfig, type WindowConfig, type JoinConfig } from '@ssdk/engine';
import { stateWriteCheck } from '@ssdk/state';
import { chainLogic, joinLogic, passthroughLogic, sessionLogic, windowLogic, type ChainExecutor, type OperatorLogic } from '@ssdk/engine';
import { nativeExecutor } from './native-executor.ts';
import type { UnitProgressPlan } from './progress.ts';
import { channelOf } from './channel.ts';
import { tableSpecs } from './state-tables.ts';
import { unitSql, type StoreSql } from './unit-sql.ts';
import { soleReaderDecisions } from './sole-reader.ts';

export interface KeyCodec {
  /** The key's wire text (written into frames as UTF-8). */
  encode(key: Key): string;
  decode(bytes: Uint8Array): Key;
  /** What `decode` gives for the bytes `encode` writes: the key an in-process topic carries. */
  carry(key: Key): Key;
}

export interface RuntimeTopic {
  id: string;
  name: string;
  kind: PlanTopic['kind'];
  partitions: number;
  converter: 'json' | 'raw';
  key: KeyCodec;
  value: ValueCodec;
  /** A `schedule` topic's clock: its ticks are made by the reading unit (schedule.ts), not read from the bus. */
  schedule?: { name: string; cron?: string; intervalMs?: number };
}

export interface RuntimeUnit {
  id: string;
  service: string;
  plan: PlanOperator;
  /**
   * `tail`: the topic a sole reader run in this unit reads (`soleReaders`), read only for what
   * the unit did not write itself (a redrive's records); it takes no part in progress or the end.
   */
  inputs: Array<{ topic: RuntimeTopic; edge: 'forward' | 'shuffle'; tail?: SoleReaderPart }>;
  outputs: RuntimeTopic[];
  deadLetter: RuntimeTopic;
  lateEvents: RuntimeTopic;
  /**
   * The id of the unit's last step that makes values (`lastValueStep`: a key or time step at its
   * end passes the value on): a value that does not fit an output topic is its fault.
   */
  lastStep: string;
  /**
   * A unit with branches (`PlanOperator.branches`): where the records of each branch go (a
   * record's `route`) and the step whose fault a value that does not fit them is.
   */
  routes?: ReadonlyArray<{ topics: RuntimeTopic[]; lastStep: string }>;
  makeLogic(state: MemoryState, channels: readonly string[]): OperatorLogic;
  /** Per state the unit writes: refuses a write its table could not store (`StateAccess.check`). */
  stateChecks: ReadonlyMap<string, StateWriteCheck>;
  /** Where the unit's functions' `ctx.log` lines go (an observer sets `sink`; none: dropped). */
  logs?: UnitLogs;
  /** How the unit takes part in in-band event-time progress (progress.ts); none: it does not. */
  progress?: UnitProgressPlan;
  /**
   * A window's watermark only the unit's input messages move (`watermarkByMessages`): each
   * message closes the same sessions on every run, so their results may share its frames.
   */
  watermarkByMessages?: boolean;
  /** Time-to-live, ms, of the keyed states it writes that have one (ttl.ts), by state name. */
  ttl?: ReadonlyMap<string, number>;
  /**
   * Units whose steps run in this one, after a branch (embedded, `TopologyOptions.soleReaders`):
   * each keeps its own dead letters, metrics and name; its states are in this unit's `plan.states`.
   */
  soleReaders?: SoleReaderPart[];
  /**
   * A window whose steps run after this unit's chain (`window-after-chain`, sole-reader.ts): its
   * part among `soleReaders` too. The unit's logic is the window's with this unit's chain as its
   * writer (`WindowedLogicOptions.writer`); its outputs are this unit's and the window's.
   */
  windowReader?: SoleReaderPart;
}

/** A sole reader run in its writer's unit: what of it users still see as its own. */
export interface SoleReaderPart {
  id: string;
  service: string;
  plan: PlanOperator;
  /** The writer's branch whose records it reads, and the topic that branch writes. */
  route: number;
  topic: RuntimeTopic;
  deadLetter: RuntimeTopic;
  lateEvents: RuntimeTopic;
  /** A window reader (`RuntimeUnit.windowReader`): the topics its results go to, and the step whose fault a result they refuse is. */
  outputs?: RuntimeTopic[];
  lastStep?: string;
}

export interface Topology {
  plan: PhysicalPlan;
  topics: Map<string, RuntimeTopic>;
  units: RuntimeUnit[];
}

/** Turns one step of the plan into a callable function, run in V8 (trusted). */
export type FunctionLoader = (step: PlanStep) => Promise<LoadedFunction>;

/** A step's function as loaded, and where in the user's code an error it threw comes from (a compiled function's `locate`). */
export type LoadedFunction = Pick<ChainStep, 'fn' | 'locate'>;

/** What runs a plan's functions: each step natively, and (optionally) units in a sandbox. */
export interface PlanFunctions {
  native: FunctionLoader;
  /** Answers native functions' `ctx.sql` (the state store's `query()`); without it, `ctx.sql` fails their records. */
  sql?: StoreSql;
  /** Runs sandboxed chains (WebAssembly components). */
  sandbox?: SandboxFactory;
}

/** Keys travel as JSON (so `1` and `"1"` stay apart), or as plain UTF-8 on raw-key topics. */
/**
 * The one rule for where a key goes: the hash of its text as `topic` writes it, modulo the
 * partitions (the topic's, or `partitions`: a unit's state follows its widest input). Producers
 * of key text from files (`ssdk produce`, connectors) hash that text the same way (`partitionOfText`).
 */
export function keyPartition(topic: RuntimeTopic, key: Key, partitions = topic.partitions): number {
  return partitions === 1 ? 0 : partitionOfText(topic.key.encode(key), partitions);
}

export function keyCodec(raw: boolean): KeyCodec {
  return raw
    ? { encode: (k) => String(k), decode: (b) => readUtf8(b), carry: (k) => wellFormed(String(k)) }
    : {
        encode: (k) => JSON.stringify(k),
        // JSON gives a string, a boolean or a finite number back as it was (but for -0).
        carry: (k) => (k === 0 ? 0 : k),
        decode(b) {
          // A short plain string (a word) is read straight from the bytes; the rest is parsed.
          const plain = plainJsonString(b);
          if (plain !== undefined) return plain;
          const text = readUtf8(b);
          try {
            const v: unknown = JSON.parse(text);
            if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
          } catch {
            // a foreign producer's plain key
          }
          return text;
        },
      };
}

export interface TopologyOptions {
  /**
   * Where functions run: `plan` — as each step's `isolation` says (a unit with an `isolation:
   * wasm` step runs in the sandbox, which must then be given); `native` — every function in V8,
   * trusted (`--native`); `sandbox` — every unit in the sandbox, `isolation: native` ones too.
   * @default 'plan'
   */
  isolation?: IsolationChoice;
  /**
   * One process, one partition (the embedded runtime): a unit that alone reads a topic one
   * branch of another unit alone writes runs its steps in that unit, after the branch; a window
   * that alone reads a topic one chain alone writes runs after that chain in its unit
   * (sole-reader.ts decides which). @default false
   */
  soleReaders?: boolean;
}

export type IsolationChoice = 'plan' | 'native' | 'sandbox';

/** Thrown when a unit must run sandboxed and nothing can run it so. */
export class SandboxRequiredError extends Error {
  override name = 'SandboxRequiredError';
  readonly code = 'sandbox-required';
  readonly domain = 'internal';
}

export async function buildTopology(plan: PhysicalPlan, functions: PlanFunctions, options: TopologyOptions = {}): Promise<Topology> {
  const topics = new Map<string, RuntimeTopic>();
  const types = planTypeTable(plan);
  for (const t of plan.topics) topics.set(t.id, runtimeTopic(t, types));
  const tables = new Map(tableSpecs(plan).map((spec) => [spec.table, spec]));
  const topic = (id: string): RuntimeTopic => {
    const t = topics.get(id);
    if (!t) throw new Error(`plan names topic \`${id}\` but does not define it`);
    return t;
  };
  const units: RuntimeUnit[] = [];
  // Readers run in their writer's unit: by writer, and the readers that are no unit of their own.
  const decisions = options.soleReaders ? soleReaderDecisions(plan) : [];
  const merges = decisions.filter((d) => d.mergeable === 'branch-tail');
  const windowMerges = decisions.filter((d) => d.mergeable === 'window-after-chain');
  const absorbed = new Set([...merges, ...windowMerges].map((d) => d.reader));
  const specsOf = (op: PlanOperator): StepSpec[] =>
    op.steps.map((ps) => ({ id: ps.id, operator: ps.operator, setsKey: ps.setsKey, params: ps.params, states: op.states.map((s) => s.name), ...stepGrants(ps) }));
  for (const op of plan.operators) {
    if (absorbed.has(op.id)) continue;
    const specs = specsOf(op);
    // A chain runs sandboxed when one of its steps is `isolation: wasm` (the default), unless
    // the caller trusts every function (`native`).
    const logs: UnitLogs = {};
    const executorOf = (op: PlanOperator) => async (part: StepSpec[]): Promise<ChainExecutor> => {
      if (chainIsolation(op, part, options.isolation ?? 'plan') === 'wasm') {
        const sandboxed = await functions.sandbox?.(op, part, (operator, record, args) => logs.sink?.(operator, record, args));
        if (sandboxed) return sandboxed;
        throw new SandboxRequiredError(
          `unit \`${op.id}\` runs sandboxed (\`isolation: wasm\`, the default) but no WebAssembly sandbox was given: build the components, or run every function natively (\`isolation: native\`, \`--native\`) if you trust the code`,
        );
      }
      const steps: ChainStep[] = [];
      for (const spec of part) {
        // A throw's dead letter names its line in the user's code (the services file's, for `run:` code).
        const { fn, locate } = await functions.native(op.steps.find((ps) => ps.id === spec.id)!);
        steps.push({ ...spec, fn, ...(locate ? { locate } : {}), ...(ignoresFirstArgument(fn) ? { ignoresValue: true } : {}) });
      }
      // The longest limit of the part's steps, per batch: as the sandbox does (sandbox.ts).
      const timeoutMs = Math.max(...op.steps.filter((ps) => part.some((spec) => spec.id === ps.id)).map((ps) => ps.settings.functionTimeoutMs), 1);
      return nativeExecutor(steps, { log: (operator, record, args) => logs.sink?.(operator, record, args), ...(functions.sql ? { sql: unitSql(functions.sql, op) } : {}), timeoutMs });
    };
    const executor = executorOf(op);
    const readers = merges.filter((d) => d.writer === op.id).map((d) => ({ d, reader: plan.operators.find((o) => o.id === d.reader)! }));
    const parts: SoleReaderPart[] = readers.map(({ d, reader }) => ({
      id: reader.id,
      service: reader.service,
      plan: reader,
      route: d.route!,
      topic: topic(d.topic),
      deadLetter: topic(reader.deadLetter),
      lateEvents: topic(reader.lateEvents),
    }));
    // Each reader's steps, in the writer's section after its branch, over copies of the branch's
    // records as its topic's type copies them (a reader's own copy, as reading the topic gave it).
    const byRoute = (op.branches ?? []).map((_, b) => parts.find((x) => x.route === b));
    const tails =
      parts.length > 0
        ? {
            tails: await Promise.all(byRoute.map((p) => (p ? executorOf(p.plan)(specsOf(p.plan)) : undefined))),
            tailCopy: (v: unknown, b: number) => byRoute[b]!.topic.value.copy(v),
          }
        : undefined;
    // A window after this unit's chain: the window's logic, this unit's chain its writer.
    const windowMerge = windowMerges.find((d) => d.writer === op.id);
    const windowPlan = windowMerge ? plan.operators.find((o) => o.id === windowMerge.reader)! : undefined;
    const windowPart: SoleReaderPart | undefined = windowPlan
      ? {
          id: windowPlan.id,
          service: windowPlan.service,
          plan: windowPlan,
          route: 0,
          topic: topic(windowMerge!.topic),
          deadLetter: topic(windowPlan.deadLetter),
          lateEvents: topic(windowPlan.lateEvents),
          outputs: windowPlan.outputs.map(topic),
          lastStep: lastValueStep(windowPlan.steps)?.id ?? windowPlan.id,
        }
      : undefined;
    if (windowPart) parts.push(windowPart);
    const logic = windowPart
      ? await logicFactory(windowPart.plan, specsOf(windowPart.plan), executorOf(windowPart.plan), types, undefined, {
          chain: await executor(specs),
          assignsTime: specs.some((s) => s.operator === 'assign-timestamp'),
          channel: channelOf(windowPart.topic.id, 0),
          toReader: readerRecordOf(windowPart.topic),
          ...(keyAndTimeBeforeWindow(windowPart.plan) ? { lendable: lendableTo(windowPart.topic) } : {}),
        })
      : await logicFactory(op, specs, executor, types, tails);
    const merged: PlanOperator = parts.length === 0 ? op : { ...op, states: [...op.states, ...parts.flatMap((p) => p.plan.states)] };
    const checksOf = (o: PlanOperator) => o.states.filter((s) => s.access === 'read-write' && tables.has(s.table)).map((s) => [s.name, stateWriteCheck(tables.get(s.table)!)] as const);
    units.push({
      id: op.id,
      service: op.service,
      plan: merged,
      inputs: [...op.inputs.map((i) => ({ topic: topic(i.topic), edge: i.edge })), ...parts.map((p) => ({ topic: p.topic, edge: 'forward' as const, tail: p }))],
      ...(parts.length > 0 ? { soleReaders: parts } : {}),
      ...(windowPart ? { windowReader: windowPart } : {}),
      outputs: [...op.outputs, ...(windowPart?.plan.outputs ?? [])].map(topic),
      deadLetter: topic(op.deadLetter),
      lateEvents: topic(op.lateEvents),
      lastStep: lastValueStep(op.steps)?.id ?? op.id,
      ...(op.branches ? { routes: op.branches.map((b) => ({ topics: b.outputs.map(topic), lastStep: b.steps.at(-1) ?? lastValueStep(trunkOf(op))?.id ?? op.id })) } : {}),
      makeLogic: logic,
      stateChecks: new Map([op, ...parts.map((p) => p.plan)].flatMap(checksOf)),
      logs,
      ttl: new Map([op, ...parts.map((p) => p.plan)].flatMap((o) => [...statesTtl(plan, o)])),
    });
  }
  planProgress(units);
  return { plan, topics, units };
}

/** Who publishes event-time progress to whom (progress.ts), from the units' inputs and outputs. */
export function planProgress(units: RuntimeUnit[]): void {
  const writers = new Map<string, RuntimeUnit[]>();
  const readers = new Map<string, RuntimeUnit[]>();
  for (const u of units) {
    for (const t of u.outputs) writers.set(t.id, [...(writers.get(t.id) ?? []), u]);
    for (const i of u.inputs) if (!i.tail) readers.set(i.topic.id, [...(readers.get(i.topic.id) ?? []), u]);
  }
  const originsOf = (u: RuntimeUnit) => u.inputs.filter((i) => !i.tail).flatMap((i) => Array.from({ length: i.topic.partitions }, (_, p) => `${u.id}|${channelOf(i.topic.id, p)}`));
  // The windows a unit feeds, directly or through other units: their smallest idleness timeout
  // is when a quiet source of this unit stops holding them back.
  const idlenessOf = (start: RuntimeUnit): number | undefined => {
    let least: number | undefined;
    const seen = new Set<RuntimeUnit>();
    const queue = [start];
    while (queue.length > 0) {
      const u = queue.pop()!;
      if (seen.has(u)) continue;
      seen.add(u);
      // A window run after the unit's chain (`windowReader`) is fed by it as when it read its topic.
      for (const idle of [u.plan.window?.watermark.idlenessMs, u.windowReader?.plan.window?.watermark.idlenessMs]) if (idle !== undefined) least = Math.min(least ?? idle, idle);
      for (const t of u.outputs) queue.push(...(readers.get(t.id) ?? []));
    }
    return least;
  };
  for (const u of units) {
    const originsByTopic = new Map<string, string[]>();
    for (const i of u.inputs) {
      if (i.tail) continue;
      const w = writers.get(i.topic.id);
      if (w) originsByTopic.set(i.topic.id, w.flatMap(originsOf));
    }
    const idlenessMs = idlenessOf(u);
    if (watermarkByMessages(u, originsByTopic)) u.watermarkByMessages = true;
    u.progress = {
      originsByTopic,
      ...(idlenessMs !== undefined ? { idlenessMs } : {}),
      assignsTime: u.plan.steps.some((s) => s.operator === 'assign-timestamp'),
      // A sole reader's topic gets the same frames as when its reader read it (their places there are what its dead letters name).
      publishTo: u.outputs.filter((t) => readers.has(t.id) || u.soleReaders?.some((p) => p.topic === t)).map((t) => t.id),
    };
  }
}

/**
 * Whether a unit's window watermark moves only as its records come and at the end of input:
 * never by the clock (no idleness timeout) nor by a writer's in-band progress (a channel of one
 * writer origin, or none, has no progress bound: `ProgressTracker.bound`), and over one channel
 * (the watermark of several is their least, which follows how their batches interleave). Then
 * the watermark after each message follows from the topic's log alone, and a replay after a crash
 * closes each session at the same message as the first run did.
 */
function watermarkByMessages(u: RuntimeUnit, originsByTopic: ReadonlyMap<string, readonly string[]>): boolean {
  if (u.plan.window === undefined || u.plan.window.watermark.idlenessMs !== undefined || u.inputs.length !== 1) return false;
  const { topic } = u.inputs[0]!;
  return topic.partitions === 1 && topic.schedule === undefined && (originsByTopic.get(topic.id)?.length ?? 0) <= 1;
}

/** Where a chain of a unit runs: sandboxed if any of its steps asks for it (or every one must). */
export function chainIsolation(op: PlanOperator, part: readonly StepSpec[], choice: IsolationChoice): 'wasm' | 'native' {
  if (choice !== 'plan') return choice === 'native' ? 'native' : 'wasm';
  return part.some((spec) => op.steps.find((ps) => ps.id === spec.id)?.settings.isolation !== 'native') ? 'wasm' : 'native';
}

/** A unit's function log lines: the record being processed and what `ctx.log` was given. */
export interface UnitLogs {
  sink?: (operator: string, record: EngineRecord, args: unknown[]) => void;
}

/** A step as the runtime describes it to an executor: the engine's `ChainStep` without its function. */
export type StepSpec = Omit<ChainStep, 'fn'>;

/** Serves a unit's chain from a sandbox (WebAssembly components); undefined when it cannot. */
export type SandboxFactory = (op: PlanOperator, steps: StepSpec[], log?: UnitLogs['sink']) => Promise<ChainExecutor | undefined>;

async function logicFactory(
  op: PlanOperator,
  specs: StepSpec[],
  executor: (part: StepSpec[]) => Promise<ChainExecutor>,
  types: TypeTable,
  tails?: { tails: ReadonlyArray<ChainExecutor | undefined>; tailCopy: (value: unknown, route: number) => unknown },
  writer?: WindowWriter,
): Promise<(state: MemoryState, channels: readonly string[]) => OperatorLogic> {
  if (op.kind === 'passthrough') return () => passthroughLogic();
  if (op.join) {
    const j = op.join;
    const watermark = { gracePeriodMs: j.watermark.gracePeriodMs, ...(j.watermark.idlenessMs !== undefined ? { idlenessMs: j.watermark.idlenessMs } : {}) };
    const config: JoinConfig =
      j.kind === 'table'
        ? { kind: 'table', table: j.left, stream: j.right, ttlMs: j.ttlMs, watermark }
        : { kind: 'interval', left: j.left, right: j.right, lowerMs: j.lowerMs, upperMs: j.upperMs, ...(j.until !== undefined ? { until: j.until } : {}), watermark };
    // Steps fused in before the join (one partition: its key step) run before it.
    const at = Math.max(0, specs.findIndex((s) => s.id === j.at));
    const pre = at > 0 ? await executor(specs.slice(0, at)) : undefined;
    const body = await executor(specs.slice(at));
    return (state, channels) => joinLogic({ config, ...(pre ? { pre } : {}), body, operator: j.at, state, channels });
  }
  const hasFlush = specs.some((s) => s.operator === 'flush');
  if (op.window && (hasFlush || specs.some((s) => s.operator === 'update-state'))) {
    const w = op.window;
    const watermark = { gracePeriodMs: w.watermark.gracePeriodMs, ...(w.watermark.idlenessMs !== undefined ? { idlenessMs: w.watermark.idlenessMs } : {}) };
    // Steps before the first update-state (a fused unit's timestamp and key steps) run before
    // window assignment; the rest runs per window.
    const keyedAt = specs.findIndex((s) => s.operator === 'update-state');
    const pre = keyedAt > 0 ? await executor(specs.slice(0, keyedAt)) : undefined;
    const body = await executor(keyedAt < 0 ? specs : specs.slice(keyedAt));
    const windowStates = op.states.filter((s) => s.access === 'read-write').map((s) => s.name);
    const assignsTime = specs.slice(0, Math.max(0, keyedAt)).some((s) => s.operator === 'assign-timestamp');
    const copy = windowValueCopier(op, specs, keyedAt, types);
    if (w.kind === 'session') {
      const config: SessionConfig = { gapMs: w.gapMs ?? w.durationMs, watermark };
      return (state, channels) => sessionLogic({ config, ...(pre ? { pre } : {}), body, windowStates, hasFlush, state, channels, assignsTime });
    }
    const config: WindowConfig = {
      assigner: w.kind === 'tumbling' ? { kind: 'tumbling', durationMs: w.durationMs, offsetMs: w.offsetMs } : { kind: 'sliding', durationMs: w.durationMs, slideMs: w.slideMs ?? w.durationMs },
      watermark,
    };
    return (state, channels) => windowLogic({ config, ...(pre ? { pre } : {}), body, windowStates, hasFlush, state, channels, assignsTime, ...(copy ? { ownCopy: copy } : {}), ...(writer ? { writer } : {}) });
  }
  const assignsTime = specs.some((s) => s.operator === 'assign-timestamp');
  if (op.branches) {
    const trunkIds = new Set(trunkOf(op).map((s) => s.id));
    const trunk = await executor(specs.filter((s) => trunkIds.has(s.id)));
    const branches = await Promise.all(op.branches.map((b) => (b.steps.length > 0 ? executor(specs.filter((s) => b.steps.includes(s.id))) : undefined)));
    // What the trunk's records would have been copied with on an internal topic (its readers' own copies).
    const last = trunkOf(op).at(-1);
    const copy = compileCodec({ kind: 'unknown' }, types, 'json', last ? fromPlanType(last.output.schema.value) : undefined).copy;
    return (state) => chainLogic({ trunk, branches, copy, ...tails }, state, assignsTime);
  }
  const chain = await executor(specs);
  return (state) => chainLogic(chain, state, assignsTime);
}

/**
 * A writer's output as its window reader gets it from `topic` (`WindowWriter.toReader`): as the
 * reader's own unit adopted it from the carried batch — the topic's copy of the value, the key as
 * the topic carries it, the time as a frame holds it, its own headers; a run again reads the value
 * again from the output (which the reader's steps never change).
 */
function readerRecordOf(topic: RuntimeTopic): (o: ChainOutput) => EngineRecord {
  const again: ValueSource = { valueAgain: (o) => topic.value.copy((o as ChainOutput).value) };
  return (o) => {
    const v = o.value;
    const value = typeof v === 'object' && v !== null ? topic.value.copy(v) : v;
    return ownedRecord(o.key === null ? null : topic.key.carry(o.key), value, frameTimestamp(o.timestamp), o.headers ? { ...o.headers } : undefined, again, o);
  };
}

/** Whether a window unit's steps before its keyed ones only set a key and a time (a function there cannot change what it is given: `lendableTo`). */
function keyAndTimeBeforeWindow(op: PlanOperator): boolean {
  const keyedAt = op.steps.findIndex((s) => s.operator === 'update-state');
  const pre = op.steps.slice(0, Math.max(0, keyedAt));
  return pre.length > 0 && pre.every((s) => s.operator === 'assign-timestamp' || s.operator === 'assign-key');
}

/** A writer's output `topic` would give its reader back as it is (`WindowWriter.lendable`): a scalar value, no headers, a key and time the topic carries unchanged. */
function lendableTo(topic: RuntimeTopic): (o: ChainOutput) => boolean {
  return (o) => (typeof o.value !== 'object' || o.value === null) && o.headers === undefined && Number.isSafeInteger(o.timestamp) && (o.key === null || topic.key.carry(o.key) === o.key);
}

/**
 * How a window unit copies the values its steps are given (a sliding window's record goes to
 * several windows, each after the first with a copy): by the copier of their type, the output
 * type of the last step before the window in the unit, or, with none (one process per operator:
 * the steps that route records ran in the unit that sent them), the input type of the window's
 * first step. A value not of the type's usual shape is copied by `ownCopy`, as every value was
 * before: q5's window unit copied each bid four times field by field, generically.
 */
export function windowValueCopier(op: PlanOperator, specs: readonly StepSpec[], keyedAt: number, types: TypeTable): ((value: unknown) => unknown) | undefined {
  const given = keyedAt > 0 ? op.steps.find((s) => s.id === specs[keyedAt - 1]!.id)?.output : specs[0] ? op.steps.find((s) => s.id === specs[0]!.id)?.input : undefined;
  return given ? quickerCopy(fromPlanType(given.schema.value), types, ownCopy) : undefined;
}

/** A branched unit's trunk: the steps before its branches'. */
function trunkOf(op: PlanOperator): PlanStep[] {
  const inBranch = new Set(op.branches?.flatMap((b) => b.steps) ?? []);
  return op.steps.filter((s) => !inBranch.has(s.id));
}

/** The `ttl` of the keyed (not windowed) states a unit writes, by the name its functions use. */
function statesTtl(plan: PhysicalPlan, op: PlanOperator): Map<string, number> {
  const ttl = new Map<string, number>();
  for (const s of op.states) {
    const declared = plan.states.find((p) => p.table === s.table);
    if (s.access === 'read-write' && declared?.ttlMs !== undefined && !declared.windowed) ttl.set(s.name, declared.ttlMs);
  }
  return ttl;
}

/** The plan's `grants` as the engine checks them (only what is granted is there). */
function stepGrants(ps: PlanStep): { grants?: StepGrants } {
  const { grants, env, http } = ps.settings;
  if (grants.length === 0) return {};
  const g: StepGrants = {};
  if (grants.includes('clock')) g.clock = true;
  if (grants.includes('random')) g.random = true;
  if (grants.includes('env') && env?.length) g.env = [...env];
  if (grants.includes('http') && http?.length) g.http = [...http];
  return { grants: g };
}

/**
 * A topic's codecs. The user's topics are checked against their declared types; the dataflow's
 * own topics (internal, dead letters, late events) carry what the functions made, unchecked, as
 * before the plan carried types (their schema is what the planner inferred, which a function
 * typed `unknown` may not keep).
 */
function runtimeTopic(t: PlanTopic, types: TypeTable): RuntimeTopic {
  const declared = t.kind === 'source' || t.kind === 'sink' || t.kind === 'intermediate' || t.kind === 'unused';
  return {
    id: t.id,
    name: t.name,
    kind: t.kind,
    partitions: t.partitions,
    converter: t.value.converter,
    key: keyCodec(declared && t.key?.converter === 'raw'),
    // Unchecked topics still copy their values quicker when they have the inferred shape.
    value: declared ? compileCodec(fromPlanType(t.value.schema), types, t.value.converter) : compileCodec({ kind: 'unknown' }, types, t.value.converter, fromPlanType(t.value.schema)),
    ...(t.schedule ? { schedule: t.schedule } : {}),
  };
}

/** The export name a `uses:` module gives its function. */
export function exportNameOf(ref: string): string {
  return camelCase(ref);
}
