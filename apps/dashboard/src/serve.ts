/**
 * The dashboard of a distributed stack: the plan from the services file, per-operator numbers
 * scraped from the operators' Prometheus endpoints, dead letters and late events read off
 * their topics on NATS, state keys looked up in PostgreSQL, function logs from the log topic.
 */
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, readUtf8 } from '@ssdk/records';
import { logTopicOf, runtimeDashboardSource, type LogLine } from '@ssdk/runtime';
import { inlineConnectors } from '@ssdk/spec';
import { dataflowSchema, openPostgresStore, type StateStore } from '@ssdk/state';
import { startDashboard, type DashboardServer } from '@ssdk/telemetry/dashboard';
import { scrapeOperators } from './scrape.ts';

export interface DistributedDashboardOptions {
  file: string;
  /** The operators' scrape endpoints (`http://host:port/metrics`). */
  scrape: string[];
  natsUrl: string;
  subjectPrefix: string;
  partitions?: number;
  /** PostgreSQL holding the state; without it the state browser says so. */
  databaseUrl?: string;
  schema?: string;
  port?: number;
  host?: string;
  jaegerUrl?: string;
}

export interface RunningDashboard extends DashboardServer {
  bus: NatsBus;
}

export async function serveDistributedDashboard(o: DistributedDashboardOptions): Promise<RunningDashboard> {
  const { plan, dataflow } = await planOrThrow(o.file, { subjectPrefix: o.subjectPrefix, ...(o.partitions !== undefined ? { partitions: o.partitions } : {}) });
  const bus = await createNatsBus({ servers: o.natsUrl, subjectPrefix: o.subjectPrefix, name: 'ssdk dashboard' });
  let store: StateStore | undefined;
  try {
    if (o.databaseUrl) store = await openPostgresStore({ connectionString: o.databaseUrl, schema: o.schema ?? dataflowSchema(plan.dataflow.namespace, plan.dataflow.name, plan.options.subjectPrefix), applicationName: 'ssdk dashboard' });
    const logTopic = logTopicOf(plan.dataflow, o.subjectPrefix);
    const source = runtimeDashboardSource({
      plan,
      mode: 'distributed',
      bus,
      operators: async () => (await scrapeOperators(o.scrape)).operators,
      ...(store ? { store } : {}),
      logs: async (limit) => readLogTail(bus, logTopic.name, limit),
      // The inline connectors: compose and up run each as a process the dashboard scrapes.
      connectors: inlineConnectors(dataflow).map((c) => ({ name: c.name, type: c.type, topic: c.topic })),
    });
    const server = await startDashboard({ source, ...(o.port !== undefined ? { port: o.port } : {}), ...(o.host ? { host: o.host } : {}), ...(o.jaegerUrl ? { jaegerUrl: o.jaegerUrl } : {}) });
    return {
      url: server.url,
      bus,
      async close() {
        await server.close();
        await store?.close();
        await bus.close();
      },
    };
  } catch (err) {
    await store?.close();
    await bus.close();
    throw err;
  }
}

/** The last `limit` lines of the log topic (each message holds one flush of lines). */
async function readLogTail(bus: NatsBus, topic: string, limit: number): Promise<LogLine[]> {
  if (!(await bus.topic(topic))) return [];
  const end = await bus.lastSeq(topic, 0);
  if (end === 0) return [];
  const reader = bus.read(topic, 0, { afterSeq: Math.max(0, end - limit) });
  const lines: LogLine[] = [];
  try {
    let seq = 0;
    while (seq < end) {
      const messages = await reader.fetch(256, 1_000);
      if (messages.length === 0) break;
      for (const m of messages) {
        seq = m.seq;
        const f = decodeFrame(m.data);
        if (f.kind === 'data') for (const r of f.records) lines.push(JSON.parse(readUtf8(r.value)) as LogLine);
      }
    }
  } finally {
    await reader.close();
  }
  return lines.slice(-limit);
}
