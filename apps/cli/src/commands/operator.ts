import { hostname } from 'node:os';
import { connectControl, type ControlConnection } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { deploymentHash, heartbeatSubject, isolationFromEnv, loadDeployedDataflow, loadDeployedRecord, runOperator, startHeartbeat, watchDeployment, type UnitMetrics } from '@ssdk/runtime';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { isolationOf, isolationOptions, serverFlags, serverOptions } from '../distributed.ts';
import { controlSchemaOf, controlSchemaOption, postgresUrlOf } from '../distributed-control.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { stateDir } from '../state-dir.ts';
import { reportBuildError } from './build.ts';

export const operatorSpec: CommandSpec = {
  name: 'operator',
  summary: 'Run one operator unit of a dataflow as a service, over NATS JetStream and PostgreSQL (foreground; SIGTERM drains).',
  usage: 'ssdk operator (FILE | --dataflow NS/NAME) --operator ID [--nats URL] [--postgres URL] [--subject-prefix PREFIX] [--partitions N] [--reset-offsets] [--native | --sandbox]',
  options: {
    operator: { type: 'string', valueName: 'ID', description: 'the operator unit to run, as `ssdk plan FILE` lists it (default: $SSDK_OPERATOR)' },
    postgres: { type: 'string', valueName: 'URL', description: 'PostgreSQL server holding the state (default: $DATABASE_URL, else the local server as psql finds it)' },
    schema: { type: 'string', valueName: 'NAME', description: 'state schema (default: ssdk_<namespace>_<name>; under another subject prefix, one of its own)' },
    'reset-offsets': { type: 'boolean', description: 'when the committed offsets do not match the input streams (a stream made again), read the streams from their start, keeping the state, instead of stopping' },
    'metrics-port': { type: 'string', valueName: 'N', description: 'serve Prometheus metrics on http://HOST:N/metrics (default: $SSDK_METRICS_PORT; 0 or none: off)' },
    'metrics-host': { type: 'string', valueName: 'HOST', description: 'interface of the metrics endpoint, 0.0.0.0 for every one (default: $SSDK_METRICS_HOST, else 127.0.0.1)' },
    dataflow: { type: 'string', valueName: 'NS/NAME', description: 'run a unit of this deployed dataflow (`ssdk deploy`): its plan, code and options come from the planner\'s tables, no FILE (default: $SSDK_DATAFLOW)' },
    'state-dir': { type: 'string', valueName: 'DIR', description: 'where the WebAssembly component is built (default: .ssdk/ beside the services file, or $SSDK_HOME); $SSDK_COMPONENT_CACHE shares built components between state dirs' },
    ...isolationOptions,
    ...controlSchemaOption,
    ...serverOptions,
  },
  maxPositionals: 1,
  examples: [
    'ssdk operator examples/word-count/services.yaml --operator count-words.add-to-total',
    'ssdk operator --dataflow examples/word-count --operator count-words.add-to-total',
    'SSDK_COMPONENT_CACHE=/var/cache/ssdk ssdk operator --dataflow examples/word-count --operator count-words.split-sentence   # N processes, one build',
    'NATS_URL=nats://127.0.0.1:4222 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test ssdk operator services.yaml --operator top-words.count-in-window',
  ],
};

/**
 * One replica of a unit (start more processes for more). Its functions run sandboxed unless the
 * plan, `--native` or `SSDK_ISOLATION` says otherwise; the component is built (or found cached)
 * before the unit starts.
 */
export async function runOperatorCommand(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const flags = serverFlags(cmd, 'operator');
  const isolation = isolationOf(cmd, 'operator');
  const operatorId = typeof cmd.values['operator'] === 'string' ? cmd.values['operator'] : process.env['SSDK_OPERATOR'];
  if (!operatorId) throw new UsageError('give --operator ID (or set SSDK_OPERATOR); `ssdk plan FILE` lists the operators', 'operator');
  const postgres = postgresUrlOf(cmd.values);
  const dataflowRef = typeof cmd.values['dataflow'] === 'string' ? cmd.values['dataflow'] : process.env['SSDK_DATAFLOW'];
  const fileArg = cmd.positionals[0];
  if (fileArg !== undefined && dataflowRef !== undefined) throw new UsageError('give FILE or --dataflow NS/NAME, not both', 'operator');
  if (fileArg === undefined && dataflowRef === undefined) throw new UsageError('give FILE, or --dataflow NS/NAME of a deployed dataflow', 'operator');
  // A deployed dataflow runs with the options it was deployed with, from its stored bundle.
  const controlSchema = controlSchemaOf(cmd.values, flags.subjectPrefix);
  const loadDeployed = () =>
    loadDeployedDataflow({ databaseUrl: postgres, natsUrl: flags.natsUrl, dataflow: dataflowRef!, operatorId, isolation: isolation ?? isolationFromEnv(), ...(controlSchema ? { controlSchema } : {}) });
  let deployed = dataflowRef === undefined ? undefined : await loadDeployed();
  const abort = new AbortController();
  const log = (line: string) => io.err(`${new Date().toISOString()} ${line}\n`);
  const dataflowName = deployed
    ? Promise.resolve(`${deployed.deployment.namespace}/${deployed.deployment.name}`)
    : planOrThrow(fileArg!, { subjectPrefix: flags.subjectPrefix }).then(({ plan }) => `${plan.dataflow.namespace}/${plan.dataflow.name}`, () => '');
  const told = deployed?.deployment.artifacts && deploymentHash(deployed.deployment.artifacts);
  if (told) log(`${operatorId}: running deployment ${told.slice(0, 12)} from its artifacts (plan ${deployed!.deployment.hash.slice(0, 12)})`);
  const heartbeat = heartbeats(flags.natsUrl, deployed?.subjectPrefix ?? flags.subjectPrefix, operatorId, dataflowName);
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    log(`${operatorId}: ${sig}, draining`);
    abort.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    // A deployed unit follows its deployment: a redeploy drains it (the batch in hand is
    // committed) and it starts over on the new version from the committed offsets, as a
    // Kubernetes rollout would restart it; an undeploy stops it.
    for (;;) {
      const run = new AbortController();
      const stopRun = () => run.abort();
      abort.signal.addEventListener('abort', stopRun, { once: true });
      const watch = deployed
        ? watchDeployment({
            databaseUrl: postgres,
            dataflow: dataflowRef!,
            ...(controlSchema ? { controlSchema } : {}),
            hash: deployed.deployment.hash,
            ...(deployed.deployment.artifacts ? { artifacts: deploymentHash(deployed.deployment.artifacts) } : {}),
            onChange: stopRun,
          })
        : undefined;
      try {
        await runOperator({
          ...(deployed
            ? { deployed: { plan: deployed.plan, functions: deployed.functions } }
            : { file: fileArg!, stateDir: stateDir(fileArg!, typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined) }),
          operatorId,
          ...(isolation ? { isolation } : {}),
          natsUrl: flags.natsUrl,
          databaseUrl: postgres,
          ...(deployed
            ? { subjectPrefix: deployed.subjectPrefix, partitions: deployed.partitions, schema: deployed.schema }
            : {
                subjectPrefix: flags.subjectPrefix,
                ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}),
                ...(typeof cmd.values['schema'] === 'string' ? { schema: cmd.values['schema'] } : {}),
              }),
          signal: run.signal,
          ...(cmd.values['reset-offsets'] ? { resetOffsets: true } : {}),
          log,
          ...(typeof cmd.values['metrics-port'] === 'string' || typeof cmd.values['metrics-host'] === 'string'
            ? {
                telemetry: {
                  ...(typeof cmd.values['metrics-port'] === 'string' ? { metricsPort: metricsPort(cmd.values['metrics-port']) } : {}),
                  ...(typeof cmd.values['metrics-host'] === 'string' ? { metricsHost: cmd.values['metrics-host'] } : {}),
                },
              }
            : {}),
          onMetrics: (metrics) => heartbeat.start(metrics),
        });
      } finally {
        abort.signal.removeEventListener('abort', stopRun);
        await watch?.stop();
      }
      const change = watch?.change();
      if (abort.signal.aborted || !deployed || !change) return EXIT_OK;
      if (change === 'undeployed') {
        log(`${operatorId}: ${dataflowRef} was undeployed; stopping`);
        return EXIT_OK;
      }
      const from = deployed.deployment;
      const next = await loadDeployedRecord({ databaseUrl: postgres, dataflow: dataflowRef!, ...(controlSchema ? { controlSchema } : {}) });
      if (!next.plan.operators.some((op) => op.id === operatorId)) {
        log(`${operatorId}: version ${next.version} of ${dataflowRef} has no operator \`${operatorId}\`; stopping (\`ssdk status\` lists its operators)`);
        return EXIT_OK;
      }
      deployed = await loadDeployed();
      const artifacts = deployed.deployment.artifacts ? `, artifacts ${deploymentHash(deployed.deployment.artifacts).slice(0, 12)}` : '';
      log(`${operatorId}: ${dataflowRef} redeployed (version ${from.version} → ${deployed.deployment.version}, plan ${deployed.deployment.hash.slice(0, 12)}${artifacts}); restarting on it`);
    }
  } catch (err) {
    // A function that does not build: like `ssdk build` says it.
    const code = reportBuildError(err, io);
    if (code !== undefined) return code;
    throw err;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await heartbeat.stop();
  }
}

/**
 * Heartbeats with the unit's metrics on `<prefix>.heartbeat`, for the planner's `ssdk status`.
 * Advisory: a NATS server that is away at start only costs the heartbeats, never the operator.
 */
function heartbeats(natsUrl: string, subjectPrefix: string, operatorId: string, dataflowName: Promise<string>) {
  let control: Promise<ControlConnection | undefined> | undefined;
  let stopBeat: (() => void) | undefined;
  let stopped = false;
  const startedAt = Date.now();
  const processId = `${hostname()}:${process.pid}:${startedAt.toString(36)}`;
  let current: UnitMetrics | undefined;
  return {
    /** Starts beating with `metrics`; a restarted unit's new metrics replace the old ones. */
    start(metrics: UnitMetrics) {
      const first = current === undefined;
      current = metrics;
      if (!first) return;
      control = connectControl({ servers: natsUrl, name: `ssdk-operator ${operatorId} heartbeat` }).catch(() => undefined);
      void Promise.all([control, dataflowName]).then(([c, dataflow]) => {
        if (!c || stopped) return;
        const subject = heartbeatSubject(subjectPrefix);
        stopBeat = startHeartbeat((hb) => c.publish(subject, hb), () => ({
          dataflow,
          operator: operatorId,
          process: processId,
          pid: process.pid,
          host: hostname(),
          startedAt,
          metrics: current!.snapshot(),
        }));
      });
    },
    async stop() {
      stopped = true;
      const c = await control;
      stopBeat?.();
      await c?.close();
    },
  };
}

function metricsPort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--metrics-port takes a port number (0: off), got \`${text}\``, 'operator');
  return port;
}
