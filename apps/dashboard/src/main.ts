/**
 * `ssdk-dashboard` — the dashboard of a distributed stack, as a service:
 *
 *   node --import tsx apps/dashboard/src/main.ts services.yaml \
 *     --scrape http://op-a:9464/metrics,http://op-b:9464/metrics [--port 8080]
 *
 * Flags first, then the environment: SSDK_SCRAPE_TARGETS (comma-separated), SSDK_DASHBOARD_PORT
 * (default 8080), SSDK_DASHBOARD_HOST (default 0.0.0.0), NATS_URL, DATABASE_URL,
 * SSDK_SUBJECT_PREFIX, SSDK_PARTITIONS, JAEGER_URL.
 */
import { parseArgs } from 'node:util';
import { serveDistributedDashboard } from './serve.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scrape: { type: 'string', multiple: true },
    port: { type: 'string' },
    host: { type: 'string' },
    nats: { type: 'string' },
    postgres: { type: 'string' },
    'subject-prefix': { type: 'string' },
    partitions: { type: 'string' },
    schema: { type: 'string' },
  },
});
const env = process.env;
const file = positionals[0] ?? env['SSDK_FILE'];
if (!file) {
  process.stderr.write('usage: ssdk-dashboard FILE --scrape URL[,URL...] [--port N] [--nats URL] [--postgres URL]\n');
  process.exit(2);
}
const scrape = (values.scrape ?? [env['SSDK_SCRAPE_TARGETS'] ?? '']).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
const partitions = values.partitions ?? env['SSDK_PARTITIONS'];
const databaseUrl = values.postgres ?? env['DATABASE_URL'];
const dashboard = await serveDistributedDashboard({
  file,
  scrape,
  natsUrl: values.nats ?? env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
  subjectPrefix: values['subject-prefix'] ?? env['SSDK_SUBJECT_PREFIX'] ?? 'ssdk',
  ...(partitions ? { partitions: Number(partitions) } : {}),
  ...(databaseUrl ? { databaseUrl } : {}),
  ...(values.schema ? { schema: values.schema } : {}),
  port: Number(values.port ?? env['SSDK_DASHBOARD_PORT'] ?? 8080),
  host: values.host ?? env['SSDK_DASHBOARD_HOST'] ?? '0.0.0.0',
});
process.stderr.write(`ssdk dashboard at ${dashboard.url} (${scrape.length} scrape target${scrape.length === 1 ? '' : 's'})\n`);
const stop = () => void dashboard.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
