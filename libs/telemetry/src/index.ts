/**
 * @ssdk/telemetry — observability for operator services, with no dependency on the rest of ssdk:
 * OpenTelemetry tracing exported over OTLP/HTTP, the W3C trace context carried in message
 * headers, operator metrics served to Prometheus, and the dashboard page
 * (`@ssdk/telemetry/dashboard`).
 *
 * @example
 * import { compileTelemetryOptions, Tracing, MetricsRegistry } from '@ssdk/telemetry';
 * const o = compileTelemetryOptions({ trace: true });       // OTEL_* and SSDK_METRICS_PORT
 * const tracing = o.tracing ? new Tracing(o.tracing) : undefined;
 * const span = tracing?.tracer('count-words.add-to-total').startBatch('process', [message.headers]);
 * publish({ data, headers: span?.headers });
 * span?.end();
 * const metrics = await MetricsRegistry.start({ serviceName: 'count-words', port: 9464 });
 * metrics.register({ operator: 'count-words.add-to-total', counters: () => unitMetrics.snapshot() });
 */
export * from './options.ts';
export * from './propagation.ts';
export * from './tracing.ts';
export * from './metrics.ts';
export * from './prometheus-text.ts';
