/**
 * The OpenTelemetry SDK, loaded when a tracer or a metrics registry is first made. Its packages
 * take ~0.3 s to load, and every `ssdk` command imports this library (through the runtime), most
 * of them without tracing or metrics: `ssdk --help` or `validate` should not pay for it.
 * `require` because these packages are CommonJS with no `exports` map: an `import` of them loads
 * the same CommonJS modules, so both ways share one instance.
 */
import { createRequire } from 'node:module';
import type * as TraceExporter from '@opentelemetry/exporter-trace-otlp-http';
import type * as PrometheusExporter from '@opentelemetry/exporter-prometheus';
import type * as Resources from '@opentelemetry/resources';
import type * as MetricsSdk from '@opentelemetry/sdk-metrics';
import type * as TraceSdk from '@opentelemetry/sdk-trace-base';

const require = createRequire(import.meta.url);

export interface OtelSdk {
  OTLPTraceExporter: typeof TraceExporter.OTLPTraceExporter;
  BasicTracerProvider: typeof TraceSdk.BasicTracerProvider;
  BatchSpanProcessor: typeof TraceSdk.BatchSpanProcessor;
  PrometheusExporter: typeof PrometheusExporter.PrometheusExporter;
  MeterProvider: typeof MetricsSdk.MeterProvider;
  resourceFromAttributes: typeof Resources.resourceFromAttributes;
  /**
   * The resource of one service: `service.name` = the operator's id, then what the standard
   * environment says, read by the SDK's own env detector (`OTEL_RESOURCE_ATTRIBUTES`, and
   * `OTEL_SERVICE_NAME`, which wins over the operator's id as the specification says).
   */
  serviceResource(serviceName: string): Resources.Resource;
}

let loaded: OtelSdk | undefined;

export function otelSdk(): OtelSdk {
  if (!loaded) {
    const traceSdk = require('@opentelemetry/sdk-trace-base') as typeof TraceSdk;
    const metricsSdk = require('@opentelemetry/sdk-metrics') as typeof MetricsSdk;
    const resources = require('@opentelemetry/resources') as typeof Resources;
    loaded = {
      OTLPTraceExporter: (require('@opentelemetry/exporter-trace-otlp-http') as typeof TraceExporter).OTLPTraceExporter,
      BasicTracerProvider: traceSdk.BasicTracerProvider,
      BatchSpanProcessor: traceSdk.BatchSpanProcessor,
      PrometheusExporter: (require('@opentelemetry/exporter-prometheus') as typeof PrometheusExporter).PrometheusExporter,
      MeterProvider: metricsSdk.MeterProvider,
      resourceFromAttributes: resources.resourceFromAttributes,
      serviceResource: (serviceName) =>
        resources.resourceFromAttributes({ 'service.name': serviceName }).merge(resources.detectResources({ detectors: [resources.envDetector] })),
    };
  }
  return loaded;
}
