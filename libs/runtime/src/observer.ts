/**
 * How the host loop is observed: tracing, metrics and function logs, without the loop knowing
 * about any of them. An observer wraps what a unit task talks to — its bus (to read the trace
 * context off input messages and put it on every message the batch publishes), its checkpoint
 * store (the `state.commit` span, which also ends the batch's span) and its logic (records in
 * and out, `window.flush` spans) — and reads the task's counters when metrics are collected.
 *
 * Without an observer the loop runs on the bare parts: tracing off costs nothing. With metrics
 * only, nothing is wrapped either: counters are read from `UnitMetrics` when scraped.
 *
 * One batch span per loop iteration, i.e. per checkpoint: from the first fetch that returned
 * messages to the end of the commit. Its parent is the context the first input message
 * carried; the other inputs' contexts are links. Every output, dead letter and late event of
 * the batch carries the span in its `traceparent` header, so the next operator's batch is its
 * child: one input's way from source to sink is one trace across operator processes.
 */
import type { Bus, BusMessage, PartitionReader, PublishMessage, TopicConfig } from '@ssdk/bus';
import { encodeRecordFrames } from '@ssdk/records';
import type { MemoryState } from '@ssdk/engine';
import { compileTelemetryOptions, MetricsRegistry, Tracing, type BatchSpan, type ServiceTracer, type TelemetryOptions } from '@ssdk/telemetry';
import { wrapping } from './carried.ts';
import { channelOf } from './channel.ts';
import type { CheckpointStore } from './checkpoint.ts';
import type { UnitMetrics } from './metrics.ts';
import type { RuntimeUnit } from './topology.ts';
import type { ManyHost, MessageIn, OperatorEffects, OperatorLogic } from '@ssdk/engine';

/** What a unit task hands its observer when it starts (again, after a retry). */
export interface ObservedParts {
  unit: RuntimeUnit;
  bus: Bus;
  checkpoints: CheckpointStore;
  metrics: UnitMetrics;
}

/** The task's parts as the observer wants them used; `close` when the task ends. */
export interface ObservedTask {
  bus: Bus;
  checkpoints: CheckpointStore;
  logic(logic: OperatorLogic): OperatorLogic;
  /** The unit's own state is loaded (its row count is a metric). */
  stateReady(owned: ReadonlyArray<{ name: string }>, state: MemoryState): void;
  /** The input message about to be processed (function log lines name it). */
  at(partition: number, seq: number): void;
  close(): Promise<void>;
}

export interface UnitObserver {
  observe(parts: ObservedParts): ObservedTask;
  /**
   * It reports per unit what users read per operator (trace services, metric series): an
   * embedded run then keeps every operator of the plan a unit of its own (no sole reader run in
   * its writer's unit, `StartEmbeddedOptions.soleReaders`), so each still has its traces and series.
   */
  perOperator?: boolean;
}

/** A function's `ctx.log` line, where it was written. */
export interface LogLine {
  /** Epoch ms. */
  time: number;
  operator: string;
  partition: number;
  /** Sequence of the input message being processed. */
  offset: number;
  message: string;
}

export interface RuntimeTelemetryOptions extends TelemetryOptions {
  /** `service.name` of the metrics endpoint (a dataflow or an operator). */
  serviceName: string;
  /** Keep a metrics registry even with no scrape port (the dashboard of an embedded run reads it). @default false */
  collect?: boolean;
  /** Where the functions' `ctx.log` lines go: a topic on the task's bus, and/or a callback. @default nowhere */
  logs?: LogDestination;
}

export interface LogDestination {
  /** A topic on the unit task's bus (one partition; created on first use). */
  topic?: TopicConfig;
  /** Called with the lines of each flush. */
  write?: (lines: LogLine[]) => void;
}

/** The log topic of a dataflow: `<ns>.<name>.log`, on the subject `<prefix>.<ns>.<name>.log.0`. */
export function logTopicOf(dataflow: { namespace: string; name: string }, subjectPrefix: string): TopicConfig {
  const name = `${dataflow.namespace}.${dataflow.name}.log`;
  return { name, partitions: 1, subject: `${subjectPrefix}.${name}.{partition}` };
}

/** Log lines wait this long at most before they are written (a flush per batch would cost a publish each). */
const LOG_FLUSH_MS = 200;
const LOG_FLUSH_LINES = 500;

/** Tracing and metrics of one process, shared by its unit tasks. */
export class RuntimeTelemetry {
  readonly tracing: Tracing | undefined;
  readonly metrics: MetricsRegistry | undefined;

  private readonly logs: LogDestination | undefined;
  private readonly warn: (message: string) => void;

  private constructor(tracing: Tracing | undefined, metrics: MetricsRegistry | undefined, logs: LogDestination | undefined, warn: (message: string) => void) {
    this.tracing = tracing;
    this.metrics = metrics;
    this.logs = logs;
    this.warn = warn;
  }

  /** From the options and the environment (`OTEL_*`, `SSDK_METRICS_PORT`); undefined when all is off. */
  static async open(o: RuntimeTelemetryOptions): Promise<RuntimeTelemetry | undefined> {
    const c = compileTelemetryOptions(o);
    const warn = o.warn ?? ((m: string) => process.stderr.write(`ssdk: ${m}\n`));
    const tracing = c.tracing ? new Tracing({ ...c.tracing, warn }) : undefined;
    const metrics = c.metrics || o.collect ? await MetricsRegistry.start({ serviceName: o.serviceName, ...(c.metrics ? { port: c.metrics.port, host: c.metrics.host } : {}) }) : undefined;
    return tracing || metrics || o.logs ? new RuntimeTelemetry(tracing, metrics, o.logs, warn) : undefined;
  }

  observer(): UnitObserver {
    return { observe: (parts) => this.observe(parts), perOperator: this.tracing !== undefined || this.metrics !== undefined };
  }

  async close(): Promise<void> {
    await this.tracing?.shutdown(this.warn);
    await this.metrics?.close();
  }

  private observe(parts: ObservedParts): ObservedTask {
    const { unit, metrics } = parts;
    let state: { owned: ReadonlyArray<{ name: string }>; cache: MemoryState } | undefined;
    const unregister = this.metrics?.register({
      operator: unit.id,
      counters: () => metrics.snapshot(),
      lag: () => lagOf(parts),
      stateRows: () => (state ? rowsOf(state.owned, state.cache) : 0),
    });
    const registry = this.metrics;
    if (registry) metrics.onBatchLatency((ms) => registry.batchLatency(unit.id, ms));
    const tracer = this.tracing?.tracer(unit.id);
    const traced = tracer ? new TracedTask(parts, tracer) : undefined;
    const logs = this.logs && unit.logs ? new LogBuffer(this.logs, parts.bus) : undefined;
    const at = { partition: -1, offset: 0 };
    if (logs && unit.logs) {
      unit.logs.sink = (operator, _record, args) =>
        logs.add({ time: Date.now(), operator, partition: at.partition, offset: at.offset, message: args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ') });
    }
    return {
      bus: traced?.bus ?? parts.bus,
      checkpoints: traced?.checkpoints ?? parts.checkpoints,
      logic: (l) => (traced ? traced.logic(l) : l),
      stateReady(owned, cache) {
        state = { owned, cache };
      },
      at(partition, seq) {
        at.partition = partition;
        at.offset = seq;
      },
      async close() {
        if (unit.logs) unit.logs.sink = undefined;
        await logs?.close();
        traced?.abandon();
        unregister?.();
        metrics.onBatchLatency(undefined);
      },
    };
  }
}

/** Messages published to the unit's inputs and not yet committed. */
async function lagOf(parts: ObservedParts): Promise<number> {
  let lag = 0;
  for (const input of parts.unit.inputs) {
    for (let p = 0; p < input.topic.partitions; p++) {
      const last = await parts.bus.lastSeq(input.topic.name, p);
      lag += Math.max(0, last - (parts.metrics.offset(channelOf(input.topic.id, p)) ?? 0));
    }
  }
  return lag;
}

function rowsOf(owned: ReadonlyArray<{ name: string }>, cache: MemoryState): number {
  let n = 0;
  for (const s of owned) {
    for (const w of [undefined, ...cache.openWindows(s.name)]) for (const _ of cache.entries(s.name, w)) n++;
  }
  return n;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Log lines of one task, written in groups: to the log topic (one frame of records, the line
 * as JSON in each) and to the callback. Diagnostics, not data: a batch replayed after a crash
 * logs again, and a line that cannot be published is reported on stderr, not retried.
 */
class LogBuffer {
  private lines: LogLine[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ensured: Promise<unknown> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly to: LogDestination;
  private readonly bus: Bus;

  constructor(to: LogDestination, bus: Bus) {
    this.to = to;
    this.bus = bus;
  }

  add(line: LogLine): void {
    this.lines.push(line);
    if (this.lines.length >= LOG_FLUSH_LINES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), LOG_FLUSH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.lines;
    if (lines.length === 0) return;
    this.lines = [];
    this.to.write?.(lines);
    const topic = this.to.topic;
    if (!topic) return;
    this.writing = this.writing.then(async () => {
      try {
        this.ensured ??= this.bus.ensureTopic(topic);
        await this.ensured;
        const records = lines.map((l) => ({ key: l.operator, value: JSON.stringify(l), timestamp: l.time }));
        await this.bus.publish(topic.name, 0, encodeRecordFrames(records, 900_000).map((data) => ({ data })));
      } catch (err) {
        this.ensured = undefined;
        process.stderr.write(`ssdk: ${lines.length} function log line(s) could not be published to \`${topic.name}\`: ${(err as Error).message}\n`);
      }
    });
  }

  async close(): Promise<void> {
    this.flush();
    await this.writing;
  }
}

const epochNow = (): number => performance.timeOrigin + performance.now();

/** One unit task's spans: the batch in hand, its inputs, and its phases. */
class TracedTask {
  readonly bus: Bus;
  readonly checkpoints: CheckpointStore;
  private readonly unit: RuntimeUnit;
  private readonly tracer: ServiceTracer;
  private span: BatchSpan | undefined;
  /** Headers of the batch's input messages, in order: the first one with a context is the parent. */
  private parents: Array<Record<string, string> | undefined> = [];
  /** `<topic>/<partition>` → [first seq, last seq] of this batch. */
  private inputs = new Map<string, { partition: number; first: number; last: number }>();
  private startedAt = 0;
  private recordsIn = 0;
  private recordsOut = 0;
  private failed = 0;
  private late = 0;

  constructor(parts: ObservedParts, tracer: ServiceTracer) {
    this.unit = parts.unit;
    this.tracer = tracer;
    const bus = parts.bus;
    this.bus = wrapping({
      ensureTopic: (t) => bus.ensureTopic(t),
      topic: (n) => bus.topic(n),
      lastSeq: (t, p) => bus.lastSeq(t, p),
      streamIdentity: (t) => bus.streamIdentity(t),
      close: () => bus.close(),
      read: (topic, partition, options) => this.reader(bus.read(topic, partition, options), topic, partition),
      publish: async (topic, partition, messages) => {
        const span = this.batch();
        const child = span.child('publish', { 'messaging.destination.name': topic, 'ssdk.partition': partition, 'ssdk.messages': messages.length });
        const carried: PublishMessage[] = messages.map((m) => ({ ...m, headers: { ...m.headers, ...span.headers } }));
        try {
          return await bus.publish(topic, partition, carried);
        } catch (err) {
          child.fail(err);
          span.fail(err);
          throw err;
        } finally {
          child.end();
        }
      },
    }, bus);
    const cp = parts.checkpoints;
    this.checkpoints = {
      load: (u) => cp.load(u),
      loadState: (u, s, into) => cp.loadState(u, s, into),
      close: () => cp.close(),
      commit: async (unitId, states, c) => {
        const span = this.batch();
        const child = span.child('state.commit', { 'ssdk.state.changes': c.changes.length, 'ssdk.windows.dropped': c.dropped.length, 'ssdk.channels': c.offsets.size });
        try {
          await cp.commit(unitId, states, c);
        } catch (err) {
          child.fail(err);
          span.fail(err);
          this.finish(c.meta);
          throw err;
        } finally {
          child.end();
        }
        this.finish(c.meta);
      },
    };
  }

  logic(inner: OperatorLogic): OperatorLogic {
    const observe = async (what: string, call: () => Promise<OperatorEffects>, recordsIn: number): Promise<OperatorEffects> => {
      const started = epochNow();
      let effects: OperatorEffects;
      try {
        effects = await call();
      } catch (err) {
        this.batch().fail(err);
        throw err;
      }
      return account(what, effects, recordsIn, started);
    };
    /** Counts what a call of the logic made (started at `started`) into the batch's span. */
    const account = (what: string, effects: OperatorEffects, recordsIn: number, started: number): OperatorEffects => {
      const produced = effects.outputs.length + effects.flushes.length + effects.failures.length + effects.late.length;
      if (recordsIn === 0 && produced === 0 && !this.span) return effects;
      this.recordsIn += recordsIn;
      this.recordsOut += effects.outputs.length + effects.flushes.length;
      this.failed += effects.failures.length;
      this.late += effects.late.length;
      if (effects.flushes.length > 0) {
        const first = effects.flushes[0]!.window;
        const last = effects.flushes.at(-1)!.window;
        const child = this.batch().child('window.flush', { 'ssdk.windows': effects.flushes.length, 'ssdk.window.first_start': first.start, 'ssdk.window.last_end': last.end, 'ssdk.trigger': what }, started);
        child.end();
      }
      return effects;
    };
    return {
      kind: inner.kind,
      process: (records, channel, now) => observe('records', () => inner.process(records, channel, now), records.length),
      ...(inner.processMany
        ? {
            processMany: async (messages: readonly MessageIn[], host: ManyHost) => {
              const started = epochNow();
              let all: OperatorEffects[] | undefined;
              try {
                all = await inner.processMany!(messages, host);
              } catch (err) {
                this.batch().fail(err);
                throw err;
              }
              all?.forEach((effects, i) => account('records', effects, messages[i]!.records.length, started));
              return all;
            },
          }
        : {}),
      tick: (now) => observe('clock', () => inner.tick(now), 0),
      end: () => observe('end of input', () => inner.end(), 0),
      meta: () => inner.meta(),
      ...(inner.takeRows ? { takeRows: inner.takeRows.bind(inner) } : {}),
      restore: (m, rows) => inner.restore(m, rows),
      takeDroppedWindows: () => inner.takeDroppedWindows(),
      bound: (channel, bound, now) => inner.bound(channel, bound, now),
      watermark: () => inner.watermark(),
    };
  }

  /** The task stopped with a batch open (an error, or a stop): end its span as it is. */
  abandon(): void {
    if (!this.span) return;
    this.span.set({ 'ssdk.abandoned': true });
    this.finish(undefined);
  }

  private reader(inner: PartitionReader, topic: string, partition: number): PartitionReader {
    return {
      fetch: async (max, waitMs) => {
        let messages: BusMessage[];
        try {
          messages = await inner.fetch(max, waitMs);
        } catch (err) {
          if (this.span) this.span.fail(err);
          throw err;
        }
        if (messages.length > 0) this.took(topic, partition, messages);
        return messages;
      },
      ack: (seq) => inner.ack(seq),
      close: () => inner.close(),
    };
  }

  private took(topic: string, partition: number, messages: readonly BusMessage[]): void {
    if (this.parents.length === 0 && !this.span) this.startedAt = epochNow();
    for (const m of messages) this.parents.push(m.headers);
    const key = `${topic}/${partition}`;
    const range = this.inputs.get(key);
    if (range) range.last = messages.at(-1)!.seq;
    else this.inputs.set(key, { partition, first: messages[0]!.seq, last: messages.at(-1)!.seq });
  }

  /** The batch in hand, started on first use. */
  private batch(): BatchSpan {
    if (this.span) return this.span;
    const ranges = [...this.inputs];
    const partitions = [...new Set(ranges.map(([, r]) => r.partition))];
    this.span = this.tracer.startBatch('process', this.parents, {
      'ssdk.operator': this.unit.id,
      'ssdk.service': this.unit.service,
      ...(partitions.length === 1 ? { 'ssdk.partition': partitions[0]! } : {}),
      ...(partitions.length > 0 ? { 'ssdk.partitions': partitions } : {}),
      ...(ranges.length > 0
        ? {
            'ssdk.input.first_seq': Math.min(...ranges.map(([, r]) => r.first)),
            'ssdk.input.last_seq': Math.max(...ranges.map(([, r]) => r.last)),
            'ssdk.inputs': ranges.map(([k, r]) => `${k}:${r.first}-${r.last}`),
          }
        : {}),
    }, this.startedAt || undefined);
    return this.span;
  }

  private finish(meta: unknown): void {
    const span = this.span ?? (this.parents.length > 0 ? this.batch() : undefined);
    if (span) {
      const watermark = (meta as { watermark?: { watermark?: number } } | null | undefined)?.watermark?.watermark;
      span.set({
        'ssdk.records.in': this.recordsIn,
        'ssdk.records.out': this.recordsOut,
        'ssdk.records.failed': this.failed,
        'ssdk.records.late': this.late,
        ...(watermark !== undefined ? { 'ssdk.watermark': Number.isFinite(watermark) ? watermark : String(watermark) } : {}),
      });
      span.end();
    }
    this.span = undefined;
    this.parents = [];
    this.inputs = new Map();
    this.startedAt = 0;
    this.recordsIn = this.recordsOut = this.failed = this.late = 0;
  }
}
