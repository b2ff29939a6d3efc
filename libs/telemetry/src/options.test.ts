import { describe, expect, it } from 'vitest';
import { compileTelemetryOptions, TelemetryConfigError } from './options.ts';

describe('telemetry options', () => {
  it('options - tracing is off by default and the metrics endpoint too', () => {
    expect(compileTelemetryOptions({ env: {} })).toEqual({ tracing: undefined, metrics: undefined });
  });

  it('options - an OTLP endpoint turns tracing on, with the signal path appended', () => {
    expect(compileTelemetryOptions({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' } }).tracing).toEqual({ endpoint: 'http://jaeger:4318/v1/traces' });
    expect(compileTelemetryOptions({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom', OTEL_SERVICE_NAME: 'svc' } }).tracing).toEqual({ endpoint: 'http://c:4318/custom', serviceName: 'svc' });
  });

  it('options - --trace without an endpoint exports to the local collector', () => {
    expect(compileTelemetryOptions({ trace: true, env: {} }).tracing).toEqual({ endpoint: 'http://localhost:4318/v1/traces' });
  });

  it('options - OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none win over everything', () => {
    expect(compileTelemetryOptions({ trace: true, env: { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' } }).tracing).toBeUndefined();
    expect(compileTelemetryOptions({ trace: true, env: { OTEL_TRACES_EXPORTER: 'none' } }).tracing).toBeUndefined();
  });

  it('options - grpc is refused with what to do; protobuf is sent as JSON with a warning', () => {
    expect(() => compileTelemetryOptions({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } })).toThrow(TelemetryConfigError);
    const warnings: string[] = [];
    compileTelemetryOptions({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, warn: (m) => warnings.push(m) });
    expect(warnings[0]).toMatch(/http\/json/);
  });

  it('options - SSDK_METRICS_PORT serves metrics; 0 is off; a bad port is an error', () => {
    expect(compileTelemetryOptions({ env: { SSDK_METRICS_PORT: '9464' } }).metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(compileTelemetryOptions({ env: { SSDK_METRICS_PORT: '9464', SSDK_METRICS_HOST: '0.0.0.0' } }).metrics).toEqual({ port: 9464, host: '0.0.0.0' });
    expect(compileTelemetryOptions({ env: { SSDK_METRICS_PORT: '0' } }).metrics).toBeUndefined();
    expect(compileTelemetryOptions({ metricsPort: 9000, metricsHost: '127.0.0.1', env: { SSDK_METRICS_PORT: '9464' } }).metrics).toEqual({ port: 9000, host: '127.0.0.1' });
    expect(() => compileTelemetryOptions({ env: { SSDK_METRICS_PORT: 'lots' } })).toThrow(/0 to 65535, got `lots`/);
  });
});
