import { describe, expect, it } from 'vitest';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { extractSpanContext } from './propagation.ts';
import { Tracing } from './tracing.ts';

/** Collects what the batch processor exports (a span exporter is the SDK's own seam). */
function collecting(): { spans: ReadableSpan[]; exporter: () => SpanExporter } {
  const spans: ReadableSpan[] = [];
  return {
    spans,
    exporter: () => ({
      export: (batch, done) => {
        spans.push(...batch);
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: async () => {},
    }),
  };
}

describe('tracing', () => {
  it('tracing - a batch continues the context its first input carried and links the others', async () => {
    const sink = collecting();
    const tracing = new Tracing({ endpoint: 'http://unused', exporter: sink.exporter });
    const upstream = tracing.tracer('a').startBatch('process', []);
    const other = tracing.tracer('a').startBatch('process', []);
    const down = tracing.tracer('b').startBatch('process', [undefined, upstream.headers, other.headers, upstream.headers], { 'ssdk.operator': 'b' });
    const commit = down.child('state.commit', { 'ssdk.state.changes': 3 });
    commit.end();
    down.fail(new Error('publish refused'));
    down.end();
    upstream.end();
    other.end();
    await tracing.shutdown();
    const byName = (service: string) => sink.spans.filter((s) => s.resource.attributes['service.name'] === service);
    const b = byName('b').find((s) => s.name === 'process')!;
    expect(b.spanContext().traceId).toBe(upstream.traceId);
    expect(b.parentSpanContext?.spanId).toBe(extractSpanContext(upstream.headers)!.spanId);
    expect(b.links.map((l) => l.context.spanId)).toEqual([extractSpanContext(other.headers)!.spanId]);
    expect(b.status.code).toBe(2);
    expect(b.events.map((e) => e.name)).toEqual(['exception']);
    const child = byName('b').find((s) => s.name === 'state.commit')!;
    expect(child.parentSpanContext?.spanId).toBe(b.spanContext().spanId);
    expect(child.attributes['ssdk.state.changes']).toBe(3);
  });

  it('tracing - headers carry a W3C traceparent; garbage carries nothing', () => {
    const tracing = new Tracing({ endpoint: 'http://unused', exporter: collecting().exporter });
    const span = tracing.tracer('a').startBatch('process', [{ traceparent: 'not-a-context' }]);
    expect(span.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(extractSpanContext({ traceparent: 'not-a-context' })).toBeUndefined();
    expect(extractSpanContext(undefined)).toBeUndefined();
  });

  it('tracing - a collector that is away costs a warning within the timeout, not the service', async () => {
    const tracing = new Tracing({ endpoint: 'http://127.0.0.1:9/v1/traces' });
    tracing.tracer('a').startBatch('process', []).end();
    const warnings: string[] = [];
    const t0 = Date.now();
    await tracing.shutdown((m) => warnings.push(m), 500);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/127\.0\.0\.1:9/);
  });

  it('tracing - the standard environment configures the SDK: OTEL_RESOURCE_ATTRIBUTES on every span, OTEL_TRACES_SAMPLER obeyed', async () => {
    const saved = { ...process.env };
    try {
      process.env['OTEL_RESOURCE_ATTRIBUTES'] = 'deployment.environment=staging,service.namespace=shop';
      const sink = collecting();
      const tracing = new Tracing({ endpoint: 'http://unused', exporter: sink.exporter });
      tracing.tracer('count-words.split-sentence').startBatch('process', []).end();
      await tracing.shutdown();
      expect(sink.spans).toHaveLength(1);
      expect(sink.spans[0]!.resource.attributes).toMatchObject({ 'service.name': 'count-words.split-sentence', 'deployment.environment': 'staging', 'service.namespace': 'shop' });

      process.env['OTEL_TRACES_SAMPLER'] = 'always_off';
      const off = collecting();
      const sampled = new Tracing({ endpoint: 'http://unused', exporter: off.exporter });
      sampled.tracer('a').startBatch('process', []).end();
      await sampled.shutdown();
      expect(off.spans).toEqual([]);
    } finally {
      process.env = saved;
    }
  });
});
