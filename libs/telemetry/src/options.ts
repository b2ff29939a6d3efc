/**
 * Telemetry options, typed then compiled: the standard `OTEL_*` variables decide tracing (off
 * unless an OTLP endpoint is set or `trace` is asked for), `SSDK_METRICS_PORT` the Prometheus
 * endpoint (0 or absent: off).
 */

export interface TelemetryOptions {
  /** Turn tracing on even without an OTLP endpoint (`ssdk run --trace`): spans go to `http://localhost:4318`. @default false */
  trace?: boolean;
  /** Prometheus scrape port; 0 = off. @default SSDK_METRICS_PORT, else off */
  metricsPort?: number;
  /** Interface the scrape endpoint listens on (0.0.0.0 for a scraper on another host). @default SSDK_METRICS_HOST, else 127.0.0.1 */
  metricsHost?: string;
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** Told about a setting that was not taken as given (e.g. a protocol this build does not send). */
  warn?: (message: string) => void;
}

export interface CompiledTelemetryOptions {
  tracing: { endpoint: string; serviceName?: string } | undefined;
  metrics: { port: number; host: string } | undefined;
}

export class TelemetryConfigError extends Error {
  override name = 'TelemetryConfigError';
  readonly code = 'telemetry-config';
  readonly domain = 'user';
}

const DEFAULT_OTLP = 'http://localhost:4318';

export function compileTelemetryOptions(o: TelemetryOptions = {}): CompiledTelemetryOptions {
  const env = o.env ?? process.env;
  const on = (name: string) => (env[name] ?? '').trim();
  let tracing: CompiledTelemetryOptions['tracing'];
  const disabled = on('OTEL_SDK_DISABLED').toLowerCase() === 'true' || on('OTEL_TRACES_EXPORTER').toLowerCase() === 'none';
  const tracesEndpoint = on('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = on('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!disabled && (o.trace || tracesEndpoint || endpoint)) {
    const protocol = on('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') || on('OTEL_EXPORTER_OTLP_PROTOCOL');
    if (protocol === 'grpc') throw new TelemetryConfigError('OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: ssdk exports traces over OTLP/HTTP (use port 4318, protocol http/json)');
    if (protocol === 'http/protobuf') o.warn?.('traces are sent as OTLP/HTTP JSON (http/json): collectors and Jaeger accept both on the same endpoint');
    // The signal-specific endpoint is used as given; the generic one gets the signal's path.
    const url = tracesEndpoint || `${(endpoint || DEFAULT_OTLP).replace(/\/+$/, '')}/v1/traces`;
    const serviceName = on('OTEL_SERVICE_NAME');
    tracing = { endpoint: url, ...(serviceName ? { serviceName } : {}) };
  }
  const portText = o.metricsPort ?? (on('SSDK_METRICS_PORT') || undefined);
  const port = portText === undefined ? 0 : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TelemetryConfigError(`the metrics port must be a whole number from 0 to 65535, got \`${portText}\``);
  const metrics = port > 0 ? { port, host: o.metricsHost ?? (on('SSDK_METRICS_HOST') || '127.0.0.1') } : undefined;
  return { tracing, metrics };
}
