/**
 * W3C trace context in message headers: a batch's span travels to the next operator in the
 * `traceparent` (and `tracestate`) headers of the NATS messages it published, so the batches
 * that follow one input through the dataflow are one trace across processes.
 */
import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, type Context, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

/** The span context carried by message headers, if they carry a valid one. */
export function extractSpanContext(headers: Readonly<Record<string, string>> | undefined): SpanContext | undefined {
  if (!headers || headers['traceparent'] === undefined) return undefined;
  const sc = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}

/** Headers that carry a context to the next process. */
export function injectContext(context: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  propagator.inject(context, headers, defaultTextMapSetter);
  return headers;
}
