/**
 * Operator metrics as OpenTelemetry instruments, scraped by Prometheus. The counters are
 * observed from the runtime's own counters when a scrape asks (never counted twice, nothing on
 * the hot path); only the batch latency histogram records as batches happen.
 *
 * The same registry answers `collect()` with plain numbers: the dashboard of an embedded run
 * reads it in-process, the distributed dashboard scrapes the Prometheus endpoints.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Histogram } from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import { otelSdk } from './sdk.ts';

/** What an operator counts, read when metrics are collected. */
export interface OperatorCounters {
  state?: string;
  recordsIn: number;
  recordsOut: number;
  failed: number;
  late: number;
  batches: number;
  commits: number;
  watermark?: number;
  batchLatencyMs?: { p50: number; p99: number; max: number };
  /** Attempts that failed and were retried (a connector's endpoint or the bus away). */
  retries?: number;
  /** Batches an operator tried again after it could not make progress (`state` `failing`). */
  restarts?: number;
  /** Why the operator is `failing` (or `failed`). */
  reason?: string;
}

export interface OperatorMetricsSource {
  operator: string;
  counters(): OperatorCounters;
  /** Messages published to the operator's inputs and not yet committed (consumer lag). */
  lag?(): Promise<number> | number;
  /** Rows of the state the operator owns (its cache). */
  stateRows?(): number;
}

export interface OperatorStats extends OperatorCounters {
  operator: string;
  lag?: number;
  stateRows?: number;
}

export interface MetricsRegistryOptions {
  /** `service.name` of the metrics (the operator, or the embedded dataflow). */
  serviceName: string;
  /** Serve `/metrics` on this port (0 picks a free one); omit for no server. */
  port?: number;
  /** Interface to listen on; metrics say what runs where, so only this host by default. @default 127.0.0.1 */
  host?: string;
}

/** How long collecting one operator's lag may take before it is left out, ms. */
const LAG_TIMEOUT_MS = 2_000;
/** Failing reasons kept per operator as series of their own (each 0 once it no longer holds). */
const MAX_REASONS = 8;
/** Buckets of the batch latency histogram, ms. */
const LATENCY_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export class MetricsRegistry {
  private readonly sources = new Map<string, OperatorMetricsSource>();
  private readonly provider: MeterProvider;
  private readonly exporter: PrometheusExporter;
  private readonly latency: Histogram;
  private server: Server | undefined;
  /** The scrape endpoint, when served. */
  url: string | undefined;

  private constructor(o: MetricsRegistryOptions) {
    const sdk = otelSdk();
    this.exporter = new sdk.PrometheusExporter({ preventServerStart: true });
    this.provider = new sdk.MeterProvider({ resource: sdk.serviceResource(o.serviceName), readers: [this.exporter], views: [] });
    const meter = this.provider.getMeter('ssdk');
    const counter = (name: string, description: string) => meter.createObservableCounter(name, { description, unit: '' });
    const gauge = (name: string, description: string) => meter.createObservableGauge(name, { description, unit: '' });
    const recordsIn = counter('ssdk_records_in', 'records read from the operator inputs');
    const recordsOut = counter('ssdk_records_out', 'records the operator wrote to its outputs');
    const failed = counter('ssdk_records_failed', 'records sent to the dead-letter topic');
    const late = counter('ssdk_records_late', 'records sent to the late-events topic');
    const batches = counter('ssdk_batches', 'input messages (record batches) processed');
    const commits = counter('ssdk_commits', 'checkpoints committed (state, offsets and progress in one transaction)');
    const retries = counter('ssdk_retries', 'attempts that failed and were retried (a connector\'s endpoint or the bus out of reach)');
    const restarts = counter('ssdk_restarts', 'batches tried again after the operator could not make progress (a step failing outside any record, a server away)');
    // 1 while the operator cannot make progress, with the reason as a label (kube-state-metrics'
    // `kube_pod_container_status_waiting_reason`): an alert needs no other source.
    const failing = gauge('ssdk_operator_failing', 'the operator cannot make progress and is trying again (1), or is well (0); the reason label says why');
    const watermark = gauge('ssdk_watermark_ms', 'event-time watermark, epoch ms');
    const lag = gauge('ssdk_consumer_lag', 'messages on the inputs not yet committed');
    const rows = gauge('ssdk_state_rows', 'rows in the state the operator owns');
    this.latency = meter.createHistogram('ssdk_batch_latency_ms', { description: 'time to decode and process one input batch, ms', advice: { explicitBucketBoundaries: LATENCY_BUCKETS_MS } });
    meter.addBatchObservableCallback(
      async (r) => {
        for (const s of await this.collect()) {
          const at = { operator: s.operator };
          r.observe(recordsIn, s.recordsIn, at);
          r.observe(recordsOut, s.recordsOut, at);
          r.observe(failed, s.failed, at);
          r.observe(late, s.late, at);
          r.observe(batches, s.batches, at);
          r.observe(commits, s.commits, at);
          if (s.retries !== undefined) r.observe(retries, s.retries, at);
          if (s.restarts !== undefined) r.observe(restarts, s.restarts, at);
          if (s.state !== undefined) {
            const now = s.state === 'failing' ? s.reason : undefined;
            r.observe(failing, now === undefined && s.state === 'failing' ? 1 : 0, at);
            // A series per reason, 1 while it holds: once seen, a reason's series stays (an
            // observable instrument's series do not go away), so it is observed as 0 after.
            const seen = this.reasonsOf(s.operator, now);
            for (const reason of seen) r.observe(failing, reason === now ? 1 : 0, { ...at, reason });
          }
          // ±Infinity (end of input) is no gauge value.
          if (s.watermark !== undefined && Number.isFinite(s.watermark)) r.observe(watermark, s.watermark, at);
          if (s.lag !== undefined) r.observe(lag, s.lag, at);
          if (s.stateRows !== undefined) r.observe(rows, s.stateRows, at);
        }
      },
      [recordsIn, recordsOut, failed, late, batches, commits, retries, restarts, failing, watermark, lag, rows],
    );
  }

  /** The failing reasons an operator reported, the current one last (at most `MAX_REASONS`). */
  private readonly reasons = new Map<string, string[]>();

  private reasonsOf(operator: string, current: string | undefined): readonly string[] {
    let seen = this.reasons.get(operator);
    if (!seen) this.reasons.set(operator, (seen = []));
    if (current !== undefined && seen.at(-1) !== current) {
      const i = seen.indexOf(current);
      if (i >= 0) seen.splice(i, 1);
      seen.push(current);
      if (seen.length > MAX_REASONS) seen.shift();
    }
    return seen;
  }

  static async start(o: MetricsRegistryOptions): Promise<MetricsRegistry> {
    const registry = new MetricsRegistry(o);
    if (o.port !== undefined) await registry.listen(o.port, o.host ?? '127.0.0.1');
    return registry;
  }

  /** Adds an operator; the returned function removes it (a task that stopped). */
  register(source: OperatorMetricsSource): () => void {
    this.sources.set(source.operator, source);
    return () => {
      if (this.sources.get(source.operator) === source) this.sources.delete(source.operator);
    };
  }

  /** One input batch took this long (the same value the runtime's percentiles see). */
  batchLatency(operator: string, ms: number): void {
    this.latency.record(ms, { operator });
  }

  /** Every operator's numbers now. */
  async collect(): Promise<OperatorStats[]> {
    return Promise.all(
      [...this.sources.values()].map(async (s) => {
        const stats: OperatorStats = { operator: s.operator, ...s.counters() };
        if (s.lag) {
          const lag = await withTimeout(Promise.resolve(s.lag()), LAG_TIMEOUT_MS).catch(() => undefined);
          if (lag !== undefined) stats.lag = lag;
        }
        if (s.stateRows) stats.stateRows = s.stateRows();
        return stats;
      }),
    );
  }

  /** The Prometheus text exposition, as a scrape would get it. */
  async scrape(): Promise<string> {
    const url = this.url;
    if (url) return (await fetch(url)).text();
    throw new Error('the metrics registry serves no endpoint');
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.provider.shutdown().catch(() => {});
  }

  private async listen(port: number, host: string): Promise<void> {
    const server = createServer((req, res) => {
      if ((req.url ?? '/').split('?')[0] === '/metrics') this.exporter.getMetricsRequestHandler(req, res);
      else {
        res.statusCode = 404;
        res.end('ssdk metrics are at /metrics\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? new Error(`the metrics port ${port} is in use (--metrics-port / SSDK_METRICS_PORT)`, { cause: e }) : e),
      );
      server.listen(port, host, () => resolve());
    });
    server.unref();
    this.server = server;
    const a = server.address() as AddressInfo;
    // The address really bound (0.0.0.0 says every interface), never a friendlier one.
    this.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
