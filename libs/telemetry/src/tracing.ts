/**
 * Tracing for operator services: one tracer provider per service (operator) name, exporting
 * over OTLP/HTTP (JSON) in batches. Nothing here registers globals: several operators in one
 * process (the embedded runtime, tests) each keep their own `service.name`.
 *
 * Spans are started with explicit parents (no context manager): a batch span's parent is the
 * context its first input message carried; the other inputs' contexts become links.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Link, type Span, type SpanContext, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { otelSdk } from './sdk.ts';
import { extractSpanContext, injectContext, propagatorFromEnv } from './propagation.ts';

export type SpanAttributes = Record<string, string | number | boolean | string[] | number[]>;

/** A span of one operator's batch; children time the phases inside it. */
export interface BatchSpan {
  /** Headers that carry this span to the messages the batch publishes. */
  readonly headers: Readonly<Record<string, string>>;
  readonly traceId: string;
  set(attributes: SpanAttributes): void;
  /** A phase of the batch (state commit, window flush, publish); `startTime` in epoch ms. */
  child(name: string, attributes?: SpanAttributes, startTime?: number): ChildSpan;
  fail(error: unknown): void;
  end(): void;
}

export interface ChildSpan {
  set(attributes: SpanAttributes): void;
  fail(error: unknown): void;
  end(): void;
}

export interface ServiceTracer {
  readonly serviceName: string;
  /** Starts a batch span continuing the first valid context among `parents` (others become links). */
  startBatch(name: string, parents: ReadonlyArray<Readonly<Record<string, string>> | undefined>, attributes?: SpanAttributes, startTime?: number): BatchSpan;
  /** Starts the root span of records entering the dataflow (a producer, a source connector): its headers go on the messages it publishes. */
  startSend(name: string, attributes?: SpanAttributes): BatchSpan;
}

export interface TracingOptions {
  /** OTLP/HTTP traces URL (…/v1/traces). */
  endpoint: string;
  /** Replaces the exporter (tests). */
  exporter?: () => SpanExporter;
  /** Fixed `service.name` for every tracer (OTEL_SERVICE_NAME), instead of the operator's id. */
  serviceName?: string;
  /** The headers' format. @default what `OTEL_PROPAGATORS` says (W3C trace context and baggage without it) */
  propagator?: TextMapPropagator;
  /** Told about a setting the SDK did not take (an unknown propagator). */
  warn?: (message: string) => void;
}

/** How long a shutdown waits for the last spans to be exported, ms. */
const SHUTDOWN_TIMEOUT_MS = 3_000;
/** Links per span at most: a batch that merged many upstream batches keeps the first ones. */
const MAX_LINKS = 32;

export class Tracing {
  /** Where spans are exported. */
  readonly endpoint: string;
  private readonly options: TracingOptions;
  private readonly propagator: TextMapPropagator;
  private readonly providers = new Map<string, { provider: BasicTracerProvider; tracer: ServiceTracer }>();

  constructor(options: TracingOptions) {
    this.endpoint = options.endpoint;
    this.options = options;
    this.propagator = options.propagator ?? propagatorFromEnv(options.warn);
  }

  /** The tracer of one service (an operator): its own provider, so its spans carry its name. */
  tracer(serviceName: string): ServiceTracer {
    const name = this.options.serviceName ?? serviceName;
    let entry = this.providers.get(name);
    if (!entry) {
      const sdk = otelSdk();
      const exporter = this.options.exporter?.() ?? new sdk.OTLPTraceExporter({ url: this.options.endpoint });
      const provider = new sdk.BasicTracerProvider({
        resource: sdk.serviceResource(name),
        spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
      });
      entry = { provider, tracer: serviceTracer(name, provider.getTracer('ssdk'), this.propagator) };
      this.providers.set(name, entry);
    }
    return entry.tracer;
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.provider.forceFlush()));
  }

  /**
   * Exports what is pending and stops, waiting `timeoutMs` at most: a collector that is away
   * costs its spans (and a message to `warn`), never the service.
   */
  async shutdown(warn: (message: string) => void = () => {}, timeoutMs = SHUTDOWN_TIMEOUT_MS): Promise<void> {
    const all = [...this.providers.values()];
    this.providers.clear();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const done = Promise.all(all.map((p) => p.provider.shutdown())).then(
      () => 'done' as const,
      (err: unknown) => err,
    );
    const result = await Promise.race([done, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') warn(`spans not exported to ${this.endpoint} within ${timeoutMs} ms: left out`);
    else if (result !== 'done') warn(`spans could not be exported to ${this.endpoint}: ${result instanceof Error ? result.message : String(result)}`);
  }
}

function serviceTracer(serviceName: string, tracer: Tracer, propagator: TextMapPropagator): ServiceTracer {
  const fields = propagator.fields();
  const batchSpan = (span: Span): BatchSpan => {
    const own = trace.setSpan(ROOT_CONTEXT, span);
    return {
      headers: injectContext(own, propagator),
      traceId: span.spanContext().traceId,
      set: (a) => span.setAttributes(a as Attributes),
      child(childName, a, startTime) {
        const c = tracer.startSpan(childName, { ...(a ? { attributes: a as Attributes } : {}), ...(startTime !== undefined ? { startTime } : {}) }, own);
        return { set: (x) => c.setAttributes(x as Attributes), fail: (e) => fail(c, e), end: () => c.end() };
      },
      fail: (e) => fail(span, e),
      end: () => span.end(),
    };
  };
  return {
    serviceName,
    startBatch(name, parents, attributes, startTime) {
      let parent: SpanContext | undefined;
      let links: Link[] | undefined;
      // Messages of one upstream batch carry the same headers: parse each distinct context once.
      const seen = new Set<string>();
      for (const h of parents) {
        if (!h || !fields.some((f) => h[f] !== undefined)) continue;
        const carried = fields.map((f) => h[f] ?? '').join('\n');
        if (seen.has(carried)) continue;
        seen.add(carried);
        const sc = extractSpanContext(h, propagator);
        if (!sc) continue;
        if (!parent) parent = sc;
        else if ((links ??= []).length < MAX_LINKS) links.push({ context: sc });
      }
      const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
      return batchSpan(tracer.startSpan(name, { kind: SpanKind.CONSUMER, ...(attributes ? { attributes: attributes as Attributes } : {}), ...(links ? { links } : {}), ...(startTime !== undefined ? { startTime } : {}) }, ctx));
    },
    startSend(name, attributes) {
      return batchSpan(tracer.startSpan(name, { kind: SpanKind.PRODUCER, ...(attributes ? { attributes: attributes as Attributes } : {}) }, ROOT_CONTEXT));
    },
  };
}

function fail(span: Span, error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}
