import { hostname } from 'node:os';
import { connectControl, type ControlConnection } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { deploymentHash, heartbeatSubject, lifecycleSubject, loadDeployedDataflow, loadDeployedRecord, startHeartbeat, watchDeployment, type DeployedUnitSource, type Heartbeat, type OperatorEvent } from '@ssdk/control-plane';
import { isolationFromEnv, PlanNotTrustedError, runOperator, trustedKeysFrom, type UnitMetrics } from '@ssdk/runtime';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { isolationOf, isolationOptions, serverFlags, serverOptions } from '../distributed.ts';
import { controlSchemaOf, controlSchemaOption, deployedDataflowOf, postgresUrlOf } from '../distributed-control.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { stateDir } from '../state-dir.ts';
import { reportBuildError } from './build.ts';

export const operatorSpec: CommandSpec = {
  name: 'operator',
  summary: 'Run one operator of a dataflow as a service, over NATS JetStream and PostgreSQL (foreground; SIGTERM drains).',
  usage: 'ssdk operator (FILE | --dataflow NS/NAME) --operator ID [--nats URL] [--postgres URL] [--subject-prefix PREFIX] [--partitions N] [--reset-offsets] [--native | --sandbox]',
  options: {
    operator: { type: 'string', valueName: 'ID', description: 'the operator to run, as `ssdk plan FILE` lists it (default: $SSDK_OPERATOR)' },
    postgres: { type: 'string', valueName: 'URL', description: 'PostgreSQL server holding the state (default: $DATABASE_URL, else the local server as psql finds it)' },
    schema: { type: 'string', valueName: 'NAME', description: 'state schema (default: ssdk_<namespace>_<name>; under another subject prefix, one of its own)' },
    'reset-offsets': { type: 'boolean', description: 'when the committed offsets do not match the input streams (a stream made again), read the streams from their start, keeping the state, instead of stopping' },
    'metrics-port': { type: 'string', valueName: 'N', description: 'serve Prometheus metrics on http://HOST:N/metrics (default: $SSDK_METRICS_PORT; 0 or none: off)' },
    'metrics-host': { type: 'string', valueName: 'HOST', description: 'interface of the metrics endpoint, 0.0.0.0 for every one (default: $SSDK_METRICS_HOST, else 127.0.0.1)' },
    'trusted-key': { type: 'string', multiple: true, valueName: 'KEY', description: 'run only deployments signed by this public nkey (repeatable; also $SSDK_TRUSTED_KEYS, comma-separated)' },
    dataflow: { type: 'string', valueName: 'NS/NAME', description: 'run an operator of this deployed dataflow (`ssdk deploy`): its plan, code and options come from the planner\'s tables, no FILE (default: $SSDK_DATAFLOW)' },
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
  const dataflowRef = deployedDataflowOf(cmd.values);
  const fileArg = cmd.positionals[0];
  if (fileArg !== undefined && dataflowRef !== undefined) throw new UsageError('give FILE or --dataflow NS/NAME, not both', 'operator');
  if (fileArg === undefined && dataflowRef === undefined) throw new UsageError('give FILE, or --dataflow NS/NAME of a deployed dataflow', 'operator');
  // A deployed dataflow runs with the options it was deployed with, from its stored bundle.
  const controlSchema = controlSchemaOf(cmd.values, flags.subjectPrefix);
  const trustedKeys = trustedKeysFrom(process.env, Array.isArray(cmd.values['trusted-key']) ? (cmd.values['trusted-key'] as string[]) : []);
  const loadDeployed = () =>
    loadDeployedDataflow({ databaseUrl: postgres, natsUrl: flags.natsUrl, dataflow: dataflowRef!, operatorId, isolation: isolation ?? isolationFromEnv(), trustedKeys, ...(controlSchema ? { controlSchema } : {}) });
  // A version this process will not run (unsigned, untrusted, turning code native): it says so
  // in its log and heartbeats, keeps what it runs, and waits for the next version.
  let refused: NonNullable<PlanNotTrustedError['refused']> & { reason: string } | undefined;
  const tryLoad = async (): Promise<DeployedUnitSource | undefined> => {
    try {
      const loaded = await loadDeployed();
      refused = undefined;
      return loaded;
    } catch (err) {
      if (!(err instanceof PlanNotTrustedError) || !err.refused) throw err;
      refused = { ...err.refused, reason: err.message };
      return undefined;
    }
  };
  let deployed = dataflowRef === undefined ? undefined : await tryLoad();
  const abort = new AbortController();
  const log = (line: string) => io.err(`${new Date().toISOString()} ${line}\n`);
  const dataflowName = deployed
    ? Promise.resolve(`${deployed.deployment.namespace}/${deployed.deployment.name}`)
    : refused
      ? Promise.resolve(refused.dataflow)
      : planOrThrow(fileArg!, { subjectPrefix: flags.subjectPrefix }).then(({ plan }) => `${plan.dataflow.namespace}/${plan.dataflow.name}`, () => '');
  const told = deployed?.deployment.artifacts && deploymentHash(deployed.deployment.artifacts);
  if (told) log(`${operatorId}: running deployment ${told.slice(0, 12)} from its artifacts (plan ${deployed!.deployment.hash.slice(0, 12)})`);
  const heartbeat = heartbeats(flags.natsUrl, deployed?.subjectPrefix ?? refused?.subjectPrefix ?? flags.subjectPrefix, operatorId, dataflowName);
  const announceRefusal = () => {
    log(`${operatorId}: refusing version ${refused!.version} of ${refused!.dataflow}: ${refused!.reason}`);
    heartbeat.refuse({ version: refused!.version, reason: refused!.reason });
  };
  const waitForChange = (r: NonNullable<typeof refused>) =>
    new Promise<'redeployed' | 'undeployed' | 'stopped'>((resolve) => {
      const onAbort = () => void watch.stop().then(() => resolve('stopped'));
      const watch = watchDeployment({
        databaseUrl: postgres,
        dataflow: dataflowRef!,
        ...(controlSchema ? { controlSchema } : {}),
        hash: r.hash,
        version: r.version,
        ...(r.artifacts ? { artifacts: r.artifacts } : {}),
        onChange: () => {
          abort.signal.removeEventListener('abort', onAbort);
          void watch.stop().then(() => resolve(watch.change() ?? 'stopped'));
        },
      });
      if (abort.signal.aborted) onAbort();
      else abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    log(`${operatorId}: ${sig}, draining`);
    abort.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    // Nothing trusted to run yet: wait for a version that is.
    while (!deployed && refused) {
      announceRefusal();
      const waited = await waitForChange(refused);
      if (waited !== 'redeployed') return EXIT_OK;
      deployed = await tryLoad();
    }
    heartbeat.refuse(undefined);
    // A deployed unit follows its deployment: a redeploy drains it (the batch in hand is
    // committed) and it starts over on the new version from the committed offsets, as a
    // Kubernetes rollout would restart it; an undeploy stops it.
    for (;;) {
      const run = new AbortController();
      const stopRun = () => run.abort();
      abort.signal.addEventListener('abort', stopRun, { once: true });
      // After a refusal, the refused version is the one to look past.
      const watching = refused ?? deployed?.deployment;
      const watchingArtifacts = refused ? refused.artifacts : deployed?.deployment.artifacts && deploymentHash(deployed.deployment.artifacts);
      const watch = deployed
        ? watchDeployment({
            databaseUrl: postgres,
            dataflow: dataflowRef!,
            ...(controlSchema ? { controlSchema } : {}),
            hash: watching!.hash,
            version: watching!.version,
            ...(watchingArtifacts ? { artifacts: watchingArtifacts } : {}),
            onChange: stopRun,
          })
        : undefined;
      try {
        await runOperator({
          ...(deployed
            ? { deployed: { plan: deployed.plan, functions: deployed.functions } }
            : { file: fileArg!, stateDir: stateDir(fileArg!, typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined) }),
          operatorId,
          // The front door: settings not given by flags come from this process's environment.
          env: process.env,
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
      const nextSource = await tryLoad();
      if (!nextSource) {
        announceRefusal();
        log(`${operatorId}: keeps running version ${from.version}`);
        continue;
      }
      deployed = nextSource;
      heartbeat.refuse(undefined);
      const artifacts = deployed.deployment.artifacts ? `, artifacts ${deploymentHash(deployed.deployment.artifacts).slice(0, 12)}` : '';
      log(`${operatorId}: ${dataflowRef} redeployed (version ${from.version} → ${deployed.deployment.version}, plan ${deployed.deployment.hash.slice(0, 12)}${artifacts}); restarting on it`);
    }
  } catch (err) {
    // A function that does not build: like `ssdk build` says it.
    if (err instanceof PlanNotTrustedError) {
      io.err(`error: ${err.message}\n`);
      return EXIT_USER_ERROR;
    }
    const code = reportBuildError(err, io);
    if (code !== undefined) return code;
    throw err;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await heartbeat.stop();
  }
}

/** An operator event before the dataflow's name is known (it is added as the event goes out). */
type Unsourced = WithoutDataflow<OperatorEvent>;
// Distributes over the union: each kind keeps its own fields.
type WithoutDataflow<E> = E extends unknown ? Omit<E, 'dataflow'> : never;

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
  let unsubscribe: (() => void) | undefined;
  let refusal: Heartbeat['refused'];
  // Events wait here until the control connection is up, then go out in order.
  const pending: Unsourced[] = [];
  let sendEvent: ((e: Unsourced) => void) | undefined;
  const source = { operator: operatorId, process: processId, pid: process.pid };
  const lifecycle = (e: Unsourced) => (sendEvent ? sendEvent(e) : pending.push(e));
  const begin = () => {
    control = connectControl({ servers: natsUrl, name: `ssdk-operator ${operatorId} heartbeat` }).catch(() => undefined);
    void Promise.all([control, dataflowName]).then(([c, dataflow]) => {
      if (!c || stopped) return;
      sendEvent = (e) => c.publish(lifecycleSubject(subjectPrefix), { dataflow, ...e } satisfies OperatorEvent);
      for (const e of pending.splice(0)) sendEvent(e);
      const subject = heartbeatSubject(subjectPrefix);
      stopBeat = startHeartbeat((hb) => c.publish(subject, hb), () => ({
        dataflow,
        operator: operatorId,
        process: processId,
        pid: process.pid,
        host: hostname(),
        startedAt,
        ...(current ? { metrics: current.snapshot() } : {}),
        ...(refusal ? { refused: refusal } : {}),
      }));
    });
  };
  return {
    /** Starts beating with `metrics`; a restarted unit's new metrics replace the old ones. */
    start(metrics: UnitMetrics) {
      const first = current === undefined && control === undefined;
      unsubscribe?.();
      // A restarted unit (a redeploy) starts over: its first state is an event too.
      lifecycle({ kind: 'state', ...source, state: metrics.state, from: current?.state ?? metrics.state, at: Date.now() });
      current = metrics;
      let lastState = metrics.state;
      const offState = metrics.onState((state, reason) => {
        lifecycle({ kind: 'state', ...source, state, from: lastState, ...(reason ? { reason } : {}), at: Date.now() });
        lastState = state;
      });
      const offPartitions = metrics.onPartitions((e) => lifecycle({ ...e, ...source, at: Date.now() }));
      unsubscribe = () => {
        offState();
        offPartitions();
      };
      if (first) begin();
    },
    /** Says in every heartbeat that this process refuses a version (undefined: it refuses none). */
    refuse(r: Heartbeat['refused']) {
      refusal = r;
      if (r && control === undefined) begin();
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      const c = await control;
      stopBeat?.();
      // close() drains: the last events (stopping, stopped) reach the server first.
      await c?.close();
    },
  };
}

function metricsPort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--metrics-port takes a port number (0: off), got \`${text}\``, 'operator');
  return port;
}
