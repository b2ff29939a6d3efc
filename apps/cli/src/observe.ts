/**
 * Observability of an embedded run (`ssdk run`): tracing (`--trace`, or the `OTEL_*`
 * variables), the Prometheus endpoint (`SSDK_METRICS_PORT`), the functions' log lines (stored in
 * `.ssdk/logs/functions.jsonl` for `ssdk log FILE`, printed by the shell) and the dashboard
 * (`--ui`), fed by the runtime in this process.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RuntimeTelemetry, runtimeDashboardSource, type LogLine } from '@ssdk/runtime';
import { startDashboard, type DashboardServer } from '@ssdk/telemetry/dashboard';
import { UsageError, type ParsedCommand } from './args.ts';
import type { Session } from './embedded-session.ts';
import { paint, type CliIo } from './io.ts';
import { stateDir } from './state-dir.ts';

/** Lines the dashboard keeps in memory. */
const RECENT_LOG_LINES = 500;

export function embeddedLogFile(servicesFile: string, stateDirOption?: string): string {
  return join(stateDir(servicesFile, stateDirOption), 'logs', 'functions.jsonl');
}

export function formatLogLine(l: LogLine): string {
  return `${new Date(l.time).toISOString()} ${l.operator} partition ${l.partition} offset ${l.offset}: ${l.message}`;
}

export interface RunObservability {
  telemetry: RuntimeTelemetry;
  /** Starts the dashboard when `--ui` was given; prints its URL. */
  attach(session: Session): Promise<void>;
  close(): Promise<void>;
}

export async function openRunObservability(
  cmd: ParsedCommand,
  io: CliIo,
  o: { file: string; fresh: boolean; ephemeral: boolean; printLogs: boolean },
): Promise<RunObservability> {
  const ui = cmd.values['ui'] === true;
  const uiPortText = cmd.values['ui-port'];
  if (uiPortText !== undefined && !ui) throw new UsageError('--ui-port goes with --ui', 'run');
  const uiPort = uiPortText === undefined ? 0 : Number(uiPortText);
  if (!Number.isInteger(uiPort) || uiPort < 0 || uiPort > 65535) throw new UsageError(`--ui-port takes a port number (0 for any free one), got \`${String(uiPortText)}\``, 'run');
  const stateDirOption = typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined;
  const logFile = o.ephemeral ? undefined : embeddedLogFile(o.file, stateDirOption);
  if (logFile) {
    mkdirSync(dirname(logFile), { recursive: true });
    if (o.fresh) writeFileSync(logFile, '');
  }
  const recent: LogLine[] = [];
  const telemetry = await RuntimeTelemetry.open({
    serviceName: 'ssdk-run',
    trace: cmd.values['trace'] === true,
    collect: ui,
    warn: (m) => io.err(`ssdk run: ${m}\n`),
    logs: {
      write(lines) {
        recent.push(...lines);
        if (recent.length > RECENT_LOG_LINES) recent.splice(0, recent.length - RECENT_LOG_LINES);
        if (logFile) appendFileSync(logFile, lines.map((l) => JSON.stringify(l) + '\n').join(''));
        if (o.printLogs || !logFile) for (const l of lines) io.err(paint(io, 'dim', `log: ${formatLogLine(l)}`) + '\n');
      },
    },
  });
  // Logs are always on, so `open` always returns.
  const t = telemetry!;
  if (t.tracing) io.err(`tracing on: spans go to ${t.tracing.endpoint}\n`);
  if (t.metrics?.url) io.err(`metrics at ${t.metrics.url}\n`);
  let dashboard: DashboardServer | undefined;
  return {
    telemetry: t,
    async attach(session) {
      if (!ui) return;
      const metrics = t.metrics!;
      dashboard = await startDashboard({
        port: uiPort,
        source: runtimeDashboardSource({
          plan: session.plan,
          mode: 'embedded',
          bus: session.df.bus,
          operators: () => metrics.collect(),
          ...(session.store ? { store: session.store } : { checkpoints: session.checkpoints }),
          logs: async (limit) => recent.slice(-limit),
        }),
      });
      io.err(`dashboard at ${dashboard.url}\n`);
    },
    async close() {
      await dashboard?.close();
      await t.close();
    },
  };
}
