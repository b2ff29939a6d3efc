/**
 * `ssdk connector run FILE`: one connector as its own process against NATS JetStream — a source
 * writes its topic, a sink reads it — until SIGTERM / SIGINT. Secrets come from the environment
 * or `--secrets FILE` (`NAME=value` lines) and never reach the command line or the log.
 */
import { createNatsBus } from '@ssdk/bus';
import { connectorMetrics, runConnector, readSecretsFile, Secrets, type ConnectorStats } from '@ssdk/connectors';
import { compileTelemetryOptions, MetricsRegistry, Tracing } from '@ssdk/telemetry';
import { readFile } from 'node:fs/promises';
import { inlineConnectors, loadConnectorFile, loadServicesFile, looksLikeConnectorFile, type Connector, type Diagnostic } from '@ssdk/spec';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { printDiagnostics, countBySeverity } from '../diagnostics.ts';
import { serverFlags, serverOptions } from '../distributed.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export const connectorSpec: CommandSpec = {
  name: 'connector',
  summary: 'Run a connector file (http-source/sink, mqtt-source/sink, sql-sink, postgres-source) as its own process against NATS.',
  usage: 'ssdk connector run FILE [--connector NAME] [--secrets PATH] [--metrics-port N] [--nats URL] [--subject-prefix PREFIX] [--partitions N]',
  options: {
    connector: { type: 'string', valueName: 'NAME', description: 'with a services file: the inline connector (of a source or sink) to run' },
    secrets: { type: 'string', valueName: 'PATH', description: 'a secrets file, `NAME=value` per line (else secrets come from the environment)' },
    'status-every': { type: 'string', valueName: 'SECONDS', description: 'print a status line (records, dead letters, retries) this often; 0 = never', default: '10' },
    replica: { type: 'string', valueName: 'I/N', description: 'run as replica I of N (from 0): a sink reads the partitions p with p mod N = I, an mqtt-source with `shared_group` joins the share under a client id of its own' },
    'metrics-port': { type: 'string', valueName: 'N', description: 'serve Prometheus metrics (records in/out, dead letters, retries, a sink\'s lag) on http://HOST:N/metrics, as operators do (default: $SSDK_METRICS_PORT; 0 or none: off)' },
    'metrics-host': { type: 'string', valueName: 'HOST', description: 'interface of the metrics endpoint, 0.0.0.0 for every one (default: $SSDK_METRICS_HOST, else 127.0.0.1)' },
    ...serverOptions,
  },
  minPositionals: 2,
  maxPositionals: 2,
  examples: [
    'ssdk connector run connectors/sensors.yaml',
    'MQTT_URL=mqtt://127.0.0.1:1883 ssdk connector run fixtures/connectors/fluvio/mqtt-source-secret-json.yaml',
    'ssdk connector run connectors/rows.yaml --secrets .secrets',
    'ssdk connector run examples/shout/services.yaml --connector lines-in',
  ],
};

export async function runConnectorCommand(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const [action, file] = cmd.positionals as [string, string];
  if (action !== 'run') throw new UsageError(`unknown action \`${action}\`: \`ssdk connector run FILE\` runs a connector (\`ssdk validate FILE\` checks one)`, 'connector');
  const flags = serverFlags(cmd, 'connector');
  const every = Number(cmd.values['status-every']);
  if (!Number.isFinite(every) || every < 0) throw new UsageError(`--status-every takes seconds, got \`${String(cmd.values['status-every'])}\``, 'connector');
  const { connector, diagnostics } = await connectorOf(file, cmd.values['connector']);
  printDiagnostics(io, diagnostics);
  if (countBySeverity(diagnostics).errors > 0 || connector === undefined) return EXIT_USER_ERROR;
  const secretsPath = cmd.values['secrets'];
  const secrets = new Secrets(typeof secretsPath === 'string' ? { values: await readSecretsFile(secretsPath) } : {});

  const warn = (m: string) => io.err(`[${connector.name}] ${m}\n`);
  const replica = typeof cmd.values['replica'] === 'string' ? replicaOf(cmd.values['replica']) : undefined;
  const telemetry = compileTelemetryOptions({
    warn,
    ...(typeof cmd.values['metrics-port'] === 'string' ? { metricsPort: metricsPortOf(cmd.values['metrics-port']) } : {}),
    ...(typeof cmd.values['metrics-host'] === 'string' ? { metricsHost: cmd.values['metrics-host'] } : {}),
  });

  // Traced as operators are, by the standard OTEL_* environment: a source opens its records'
  // traces, a sink continues them (service `ssdk-connector-NAME` unless OTEL_SERVICE_NAME says).
  const tracing = telemetry.tracing ? new Tracing({ ...telemetry.tracing, warn }) : undefined;
  const bus = await createNatsBus({ servers: flags.natsUrl, subjectPrefix: flags.subjectPrefix, name: `ssdk connector ${connector.name}` });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const stats: ConnectorStats = { records: 0, deadLetters: 0, retries: 0 };
  const log = (line: string) => io.err(`[${connector.name}] ${line}\n`);
  const status = () => log(`${stats.records} record${stats.records === 1 ? '' : 's'}, ${stats.deadLetters} dead-lettered, ${stats.retries} retr${stats.retries === 1 ? 'y' : 'ies'}`);
  const timer = every > 0 ? setInterval(status, every * 1000) : undefined;
  log(`${connector.type} ${connector.type.endsWith('-source') ? 'into' : 'from'} topic \`${connector.topic}\``);
  const metrics = telemetry.metrics ? await MetricsRegistry.start({ serviceName: connector.name, port: telemetry.metrics.port, host: telemetry.metrics.host }) : undefined;
  metrics?.register(connectorMetrics(connector, stats, bus));
  if (metrics?.url) log(`metrics at ${metrics.url}`);
  try {
    await runConnector(connector, { bus, secrets, signal: stop.signal, stats, log, ...(tracing ? { tracer: tracing.tracer(`ssdk-connector-${connector.name}`) } : {}), ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}), ...(replica ? { replica } : {}) });
    status();
    return EXIT_OK;
  } finally {
    if (timer) clearInterval(timer);
    await metrics?.close();
    await tracing?.shutdown(warn);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await bus.close();
  }
}

function replicaOf(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new UsageError(`--replica takes I/N with 0 ≤ I < N (e.g. 0/3), got \`${text}\``, 'connector');
  return { index, count };
}

function metricsPortOf(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--metrics-port takes a port number (0: off), got \`${text}\``, 'connector');
  return port;
}

/** A connector file's connector, or the inline connector NAME of a services file's sources and sinks. */
async function connectorOf(file: string, name: unknown): Promise<{ connector: Connector | undefined; diagnostics: Diagnostic[] }> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined || looksLikeConnectorFile(text)) {
    if (typeof name === 'string') throw new UsageError('--connector picks an inline connector of a services file; a connector file holds one', 'connector');
    return loadConnectorFile(file);
  }
  const { dataflow, diagnostics } = await loadServicesFile(file);
  const inline = inlineConnectors(dataflow);
  if (typeof name !== 'string') {
    const names = inline.map((c) => `\`${c.name}\``).join(', ');
    throw new UsageError(inline.length > 0 ? `give --connector NAME: ${file} has the connectors ${names}` : `${file} has no inline connector`, 'connector');
  }
  const connector = inline.find((c) => c.name === name);
  if (!connector) throw new UsageError(`${file} has no connector \`${name}\`${inline.length ? `: its connectors are ${inline.map((c) => `\`${c.name}\``).join(', ')}` : ''}`, 'connector');
  return { connector, diagnostics };
}
