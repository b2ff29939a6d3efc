/**
 * `ssdk-dashboard` — the dashboard of a distributed stack, as a service:
 *
 *   ssdk-dashboard services.yaml \
 *     --scrape http://op-a:9464/metrics,http://op-b:9464/metrics [--port 8080]
 *
 * (`ssdk-dashboard` is the package's command; in the workspace `node --import tsx apps/dashboard/src/main.ts`.)
 *
 * Flags first, then the environment: SSDK_SCRAPE_TARGETS (comma-separated), SSDK_DASHBOARD_PORT
 * (default 8080), SSDK_DASHBOARD_HOST / --host (default 127.0.0.1: the dashboard has no login;
 * 0.0.0.0 in a container behind a published 127.0.0.1 port), NATS_URL, DATABASE_URL,
 * SSDK_SUBJECT_PREFIX, SSDK_PARTITIONS, JAEGER_URL.
 */
import { parseArgs } from 'node:util';
import { redactedMessage } from '@ssdk/records';
import { compileStackSettings, SettingsError, STACK_ENV } from '@ssdk/settings';

const USAGE = `Usage: ssdk-dashboard FILE --scrape URL[,URL...] [OPTIONS]

The dashboard of a distributed ssdk stack: the dataflow's graph with each operator's rates, lag,
watermarks and dead letters (scraped from the operators' Prometheus endpoints), its state and logs.

Options (each falls back on the environment variable shown):
  --scrape URL[,URL...]    operators' metrics endpoints ($SSDK_SCRAPE_TARGETS)
  --port N                 HTTP port ($SSDK_DASHBOARD_PORT, default 8080)
  --host ADDR              address to listen on ($SSDK_DASHBOARD_HOST, default 127.0.0.1: no login, keep it local)
  --nats URL               NATS server ($NATS_URL, default nats://127.0.0.1:4222)
  --postgres URL           PostgreSQL server, for state ($DATABASE_URL)
  --subject-prefix PREFIX  subject prefix of the stack ($SSDK_SUBJECT_PREFIX, default ssdk)
  --partitions N           partitions of the dataflow's topics ($SSDK_PARTITIONS)
  --schema NAME            PostgreSQL schema of the dataflow's state
  -h, --help               this help
FILE may also come from $SSDK_FILE. Traces link to $JAEGER_URL when set.

Example:
  ssdk-dashboard services.yaml --scrape http://127.0.0.1:9464/metrics,http://127.0.0.1:9465/metrics
`;

/** A mistake on the command line: the message and where to look, exit 2, no stack. */
function usageError(message: string): never {
  process.stderr.write(`ssdk-dashboard: error: ${message}\n  hint: run \`ssdk-dashboard --help\` for usage\n`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
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
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
})();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const env = process.env;
const file = positionals[0] ?? env['SSDK_FILE'];
if (!file) usageError('no services file: give FILE (or $SSDK_FILE)');
const scrape = (values.scrape ?? [env['SSDK_SCRAPE_TARGETS'] ?? '']).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
// The stack's settings by its one rule (@ssdk/settings); a bad one is a usage error.
const stack = (() => {
  try {
    return compileStackSettings({ natsUrl: values.nats, subjectPrefix: values['subject-prefix'], partitions: values.partitions }, env);
  } catch (err) {
    if (err instanceof SettingsError) usageError(err.message);
    throw err;
  }
})();
// State is shown when a server is named: a dashboard starts without PostgreSQL, so it does not
// reach for the local server the way the other commands do.
const databaseUrl = values.postgres ?? env[STACK_ENV.databaseUrl];
// Loaded once the arguments are sound: `--help` and a usage error need none of it.
const { serveDistributedDashboard } = await import('./serve.ts');
let dashboard: Awaited<ReturnType<typeof serveDistributedDashboard>>;
try {
  dashboard = await serveDistributedDashboard({
    file,
    scrape,
    natsUrl: stack.natsUrl,
    subjectPrefix: stack.subjectPrefix,
    ...(stack.partitions !== undefined ? { partitions: stack.partitions } : {}),
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(values.schema ? { schema: values.schema } : {}),
    port: Number(values.port ?? env['SSDK_DASHBOARD_PORT'] ?? 8080),
    host: values.host ?? env['SSDK_DASHBOARD_HOST'] ?? '127.0.0.1',
  });
} catch (err) {
  if ((err as { domain?: string }).domain === 'user') usageError((err as Error).message);
  process.stderr.write(`ssdk-dashboard: failed: ${redactedMessage(err)}\n`);
  if (process.env['SSDK_DEBUG'] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
process.stderr.write(`ssdk dashboard at ${dashboard.url} (${scrape.length} scrape target${scrape.length === 1 ? '' : 's'})\n`);
const stop = () => void dashboard.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
