/**
 * Trace context in message headers: a batch's span travels to the next operator in the headers
 * of the NATS messages it published, so the batches that follow one input through the dataflow
 * are one trace across processes. Which headers is the standard `OTEL_PROPAGATORS` (default
 * `tracecontext,baggage`: W3C `traceparent`), read by OpenTelemetry's own configuration package,
 * not by hand: `b3`, `b3multi`, `jaeger`, `xray`, `ottrace` and `none` work as in every other SDK.
 */
import { DiagLogLevel, ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, diag, trace, type Context, type SpanContext, type TextMapPropagator } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { createRequire } from 'node:module';
import type * as AutoPropagators from '@opentelemetry/auto-configuration-propagators';

const require = createRequire(import.meta.url);
const w3c = new W3CTraceContextPropagator();

/**
 * The propagator `OTEL_PROPAGATORS` names (in `process.env`, as the SDK reads it). A name the SDK
 * does not know is left out with its own warning, given to `warn` rather than lost in a silent
 * diagnostic logger.
 */
export function propagatorFromEnv(warn: (message: string) => void = () => {}): TextMapPropagator {
  const { getPropagator } = require('@opentelemetry/auto-configuration-propagators') as typeof AutoPropagators;
  const say = (message: string) => warn(message);
  const set = diag.setLogger({ error: say, warn: say, info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  try {
    return getPropagator();
  } finally {
    if (set) diag.disable();
  }
}

/** The span context carried by message headers, if they carry a valid one (W3C unless a propagator is given). */
export function extractSpanContext(headers: Readonly<Record<string, string>> | undefined, propagator: TextMapPropagator = w3c): SpanContext | undefined {
  if (!headers) return undefined;
  const sc = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}

/** Headers that carry a context to the next process (W3C unless a propagator is given). */
export function injectContext(context: Context, propagator: TextMapPropagator = w3c): Record<string, string> {
  const headers: Record<string, string> = {};
  propagator.inject(context, headers, defaultTextMapSetter);
  return headers;
}
