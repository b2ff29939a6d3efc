/**
 * `ssdk up` / `ssdk down`: the distributed topology as local processes, for machines without a
 * Docker engine — what `docker compose up` does with the file `ssdk compose` writes. `up`
 * starts a planner (unless one already answers on the subject prefix), deploys the services
 * file through it, then starts one `ssdk operator --dataflow NS/NAME` process per operator unit
 * (one replica each, or `--replicas N`). Before anything starts it checks that the functions
 * compile and builds the dataflow's WebAssembly component into a cache the operator processes
 * share (`SSDK_COMPONENT_CACHE`, else `components/` in the state dir), so they start warm
 * instead of each compiling it. A process that dies is restarted with backoff, as
 * compose's restart policy would; an operator that exits 0 has seen the end of its inputs and
 * stays down. The PIDs are kept in `.ssdk/stack.json`; `down` stops them: SIGTERM (they drain),
 * SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { planOrThrow, type CodeLeft } from '@ssdk/plan';
import { type DeployReply, type DeployRequest } from '@ssdk/control-plane';
import { buildComponents, isolationFromEnv, publicKeyOf, signingSeedFromEnv, stackSigningKey, trustedKeysFrom, unitRunsSandboxed, type IsolationChoice } from '@ssdk/runtime';
import { scalingRefusal } from '@ssdk/connectors';
import { inlineConnectors, loadServicesFile, type Connector, type Dataflow } from '@ssdk/spec';
import { durationOption, UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { isolationOf, isolationOptions, serverArgs, serverFlags, serverOptions, type ServerFlags } from '../distributed.ts';
import { askPlanner, checkFunctions, controlSchemaOf, controlSchemaOption, postgresUrlOf, readServicesBundle, reportPlannerRefusal, shipArtifacts, signDeploy, spawnPlanner, waitForPlanner } from '../distributed-control.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { SSDK_BIN } from '../installation.ts';
import { readStackFile, stackFileWriter, type StackFile } from '../stack-file.ts';
import { stateDir } from '../state-dir.ts';
import { reportBuildError } from './build.ts';

const stackOptions = {
  'state-dir': { type: 'string', valueName: 'DIR', description: 'where stack.json and the build are kept (default: .ssdk/ beside the services file, or $SSDK_HOME)' },
  grace: { type: 'string', valueName: 'DURATION', description: 'how long a stopped process may drain before SIGKILL', default: '10s' },
} as const;

export const upSpec: CommandSpec = {
  name: 'up',
  summary: 'Deploy a dataflow and run it as local processes: a planner and one `ssdk operator` per operator (foreground supervisor: restarts a process that dies; Ctrl-C or `ssdk down` stops them).',
  usage: 'ssdk up FILE [--nats URL] [--postgres URL] [--subject-prefix PREFIX] [--partitions N] [--replicas N] [--scale connector-NAME=N...] [--reset-state | --reset-offsets] [--native | --sandbox]',
  options: {
    postgres: { type: 'string', valueName: 'URL', description: 'PostgreSQL server holding the plans and the state (default: $DATABASE_URL, else the local server as psql finds it)' },
    'metrics-port': { type: 'string', valueName: 'N', description: 'serve each operator process\'s Prometheus metrics, on N, N+1, … (default: $SSDK_METRICS_PORT; none: off)' },
    replicas: { type: 'string', valueName: 'N', description: 'processes (replicas) per operator', default: '1' },
    scale: { type: 'string', multiple: true, valueName: 'connector-NAME=N', description: 'processes of an inline connector, each --replica I/N (where the endpoint divides its work: sinks, an mqtt-source with shared_group); repeatable' },
    'reset-state': { type: 'boolean', description: 'deploy with --reset-state (a changed state layout drops the old state)' },
    'reset-offsets': { type: 'boolean', description: 'deploy with --reset-offsets (the operators read their input streams from the start, state kept)' },
    schema: { type: 'string', valueName: 'NAME', description: 'state schema (default: the deployed one, else ssdk_<namespace>_<name>)' },
    ...isolationOptions,
    ...serverOptions,
    ...controlSchemaOption,
    ...stackOptions,
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: ['ssdk up examples/word-count/services.yaml &', 'ssdk up examples/word-count/services.yaml --native &   # trusted functions: no build', 'ssdk status examples/word-count', 'ssdk down examples/word-count/services.yaml'],
};

export const downSpec: CommandSpec = {
  name: 'down',
  summary: 'Stop the processes `ssdk up` started (SIGTERM, then SIGKILL after the grace period).',
  usage: 'ssdk down FILE [--grace DURATION]',
  options: { ...stackOptions },
  minPositionals: 1,
  maxPositionals: 1,
  examples: ['ssdk down examples/word-count/services.yaml'],
};

/** A connector process of the stack: `connector:NAME`, or `connector:NAME#I` (from 0) as replica I of N. */
export interface ConnectorProcess {
  name: string;
  connector: string;
  replica?: { index: number; count: number };
}

/**
 * One process per inline connector, N for one scaled with `--scale connector-NAME=N` — each told
 * its index (`--replica I/N`), as compose does — or a usage error (exit 2) naming why a connector
 * cannot be scaled (the connectors' own rule, which a replica checks again).
 */
export function connectorProcesses(connectors: readonly Connector[], scale: readonly string[]): ConnectorProcess[] {
  const counts = new Map<string, number>();
  for (const spec of scale) {
    const m = /^connector-(.+)=(\d+)$/.exec(spec);
    if (!m) throw new UsageError(`--scale takes connector-NAME=N (operators: --replicas N), got \`${spec}\``, 'up');
    if (!connectors.some((c) => c.name === m[1])) {
      throw new UsageError(`--scale: no connector \`${m[1]}\`; ${connectors.length ? `they are ${connectors.map((c) => c.name).join(', ')}` : 'the file has no inline connectors'}`, 'up');
    }
    const count = Number(m[2]);
    if (!Number.isSafeInteger(count) || count < 1) throw new UsageError(`--scale ${spec}: at least 1 process`, 'up');
    counts.set(m[1]!, count);
  }
  const out: ConnectorProcess[] = [];
  for (const c of connectors) {
    const count = counts.get(c.name) ?? 1;
    if (count === 1) {
      out.push({ name: `connector:${c.name}`, connector: c.name });
      continue;
    }
    // Replicas of a webhook need a port each behind a balancer; on one machine they would share one.
    const webhook = c.settings.type === 'http-source' && c.settings.mode === 'webhook';
    const why = webhook ? 'its processes would all listen on one port of this machine; scale it behind a load balancer with `ssdk compose`' : scalingRefusal(c);
    if (why !== undefined) throw new UsageError(`--scale connector-${c.name}=${count}: connector \`${c.name}\` cannot run as several replicas: ${why}`, 'up');
    for (let index = 0; index < count; index++) out.push({ name: `connector:${c.name}#${index}`, connector: c.name, replica: { index, count } });
  }
  return out;
}

/** One process of the stack per operator unit and replica; with a metrics port, each its own. */
export interface OperatorProcess {
  /** `<operator>`, or `<operator>#<replica>` with several replicas. */
  name: string;
  operator: string;
  metricsPort?: number;
}

/**
 * The operator processes of a stack. Metrics ports count up from `metricsBase`, one per
 * process: processes of one machine cannot share a port (compose gives each container its own
 * network, so there the same port serves in every container).
 */
export function operatorProcesses(operators: readonly string[], replicas: number, metricsBase: number | undefined): OperatorProcess[] {
  const out: OperatorProcess[] = [];
  for (const operator of operators) {
    for (let r = 1; r <= replicas; r++) {
      out.push({ name: replicas === 1 ? operator : `${operator}#${r}`, operator, ...(metricsBase ? { metricsPort: metricsBase + out.length } : {}) });
    }
  }
  return out;
}

/**
 * What an operator process of the stack is told through its environment: the PostgreSQL URL
 * (not on its command line, where `ps` shows it), the component cache and isolation `up` built
 * for. `SSDK_METRICS_PORT` is not passed on: each process gets its own `--metrics-port`.
 */
export function operatorEnvironment(env: NodeJS.ProcessEnv, o: { databaseUrl: string; natsUrl?: string; componentCache: string; isolation: IsolationChoice }): NodeJS.ProcessEnv {
  // The deployer's signing key stays with the deployer: a process that runs code never holds it.
  const { SSDK_METRICS_PORT: _shared, SSDK_SIGNING_KEY: _seed, SSDK_SIGNING_KEY_FILE: _seedFile, ...rest } = env;
  // The servers by environment, never argv, where `ps` would show a password in a URL.
  return { ...rest, DATABASE_URL: o.databaseUrl, ...(o.natsUrl ? { NATS_URL: o.natsUrl } : {}), SSDK_COMPONENT_CACHE: o.componentCache, SSDK_ISOLATION: o.isolation };
}

function metricsBaseOf(cmd: ParsedCommand): number | undefined {
  const text = typeof cmd.values['metrics-port'] === 'string' ? cmd.values['metrics-port'] : process.env['SSDK_METRICS_PORT'];
  if (text === undefined || text === '' || text === '0') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--metrics-port (or SSDK_METRICS_PORT) takes a port number, got \`${text}\``, 'up');
  return port;
}

function stackPath(cmd: ParsedCommand): string {
  const dir = typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined;
  return join(stateDir(cmd.positionals[0]!, dir), 'stack.json');
}

function graceMs(cmd: ParsedCommand, command: string): number {
  return durationOption(cmd, 'grace', command, '10s')!;
}

interface Supervised {
  name: string;
  args: () => ChildProcess;
  child: ChildProcess | undefined;
  /** Exited 0: its work is done (an operator whose inputs ended); it stays down. */
  done: boolean;
  restarts: number;
  startedAt: number;
}

/** The stack's signing key (an nkey seed, mode 0600) in its state dir, when SSDK_SIGNING_KEY(_FILE) gives none. */
export const SIGNING_KEY_FILE = 'signing-key.nk';

export async function runUp(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = resolve(io.cwd, cmd.positionals[0]!);
  const flags = serverFlags(cmd, 'up');
  const postgres = postgresUrlOf(cmd.values);
  const replicas = Number(cmd.values['replicas']);
  if (!Number.isSafeInteger(replicas) || replicas < 1) throw new UsageError(`--replicas takes a whole number of 1 or more, got \`${String(cmd.values['replicas'])}\``, 'up');
  // Checked before anything starts: a connector that cannot be scaled is the user's mistake.
  const connectors = connectorProcesses(await inlineConnectorsOf(file), (cmd.values['scale'] as string[] | undefined) ?? []);
  const grace = graceMs(cmd, 'up');
  const controlSchema = controlSchemaOf(cmd.values, flags.subjectPrefix);
  const path = stackPath(cmd);
  await mkdir(dirname(path), { recursive: true });
  const bundle = await readServicesBundle(file, 'up');
  const isolation = isolationOf(cmd, 'up') ?? isolationFromEnv();
  const checked = await checkFunctions(file, io);
  if (typeof checked === 'number') return checked;
  const componentCache = process.env['SSDK_COMPONENT_CACHE'] ?? join(dirname(path), 'components');
  if (checked.dataflow) {
    const built = await buildOnce(file, checked.dataflow, { isolation, stateDir: dirname(path), componentCache }, io);
    if (built !== undefined) return built;
  }
  // Signed plans are on by default: the stack's own key (made once, 0600, in the state dir)
  // unless SSDK_SIGNING_KEY(_FILE) names one; the planner and operators trust its public key.
  const seed = (await signingSeedFromEnv()) ?? (await stackSigningKey(join(dirname(path), SIGNING_KEY_FILE))).seed;
  process.env['SSDK_TRUSTED_KEYS'] = trustedKeysFrom(process.env, [publicKeyOf(seed)]).join(',');
  const operatorEnv = operatorEnvironment(process.env, { databaseUrl: postgres, natsUrl: flags.natsUrl, componentCache, isolation });
  const metricsBase = metricsBaseOf(cmd);

  const procs = new Map<string, Supervised>();
  let stopping = false;
  let wake: () => void = () => {};
  let dataflow = '';
  const metrics: Record<string, number> = {};
  const stackFile = stackFileWriter(path);
  const save = () =>
    stackFile.save({
      file,
      dataflow,
      supervisor: process.pid,
      ...(procs.get('planner')?.child?.pid !== undefined ? { planner: procs.get('planner')!.child!.pid! } : {}),
      operators: Object.fromEntries([...procs].filter(([name, p]) => name !== 'planner' && p.child?.pid !== undefined && !p.done).map(([name, p]) => [name, p.child!.pid!])),
      ...(Object.keys(metrics).length ? { metrics } : {}),
    });
  const start = (p: Supervised) => {
    const child = p.args();
    p.child = child;
    p.startedAt = Date.now();
    createInterface({ input: child.stderr! }).on('line', (line) => io.err(`[${p.name}] ${line}\n`));
    child.on('exit', (code, signal) => {
      if (stopping) return wake();
      if (code === 0) {
        p.done = true;
        io.err(`[${p.name}] exited: ${p.name === 'planner' ? 'stopped' : 'its inputs ended'}\n`);
        void save();
        return wake();
      }
      // Backoff 1 s, doubling to 30 s; a process that ran a minute starts over at 1 s.
      if (Date.now() - p.startedAt > 60_000) p.restarts = 0;
      const delay = Math.min(30_000, 1_000 * 2 ** p.restarts++);
      io.err(`[${p.name}] died (${signal ?? `exit ${code}`}); restarting in ${delay} ms\n`);
      setTimeout(() => {
        if (stopping) return wake();
        start(p);
        void save();
      }, delay).unref();
    });
  };
  const onSignal = () => {
    stopping = true;
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let failed = false;
  try {
    if (await waitForPlanner(flags.natsUrl, flags.subjectPrefix, 0)) {
      io.err(`a planner already answers on ${flags.subjectPrefix}.planner.*: deploying through it\n`);
    } else {
      const planner: Supervised = {
        name: 'planner',
        args: () => spawnPlanner({ natsUrl: flags.natsUrl, databaseUrl: postgres, subjectPrefix: flags.subjectPrefix, ...(controlSchema ? { controlSchema } : {}), stdio: ['ignore', 'inherit', 'pipe'] }),
        child: undefined,
        done: false,
        restarts: 0,
        startedAt: 0,
      };
      procs.set('planner', planner);
      start(planner);
      await save();
      if (!(await waitForPlanner(flags.natsUrl, flags.subjectPrefix, 30_000, () => stopping || planner.done))) {
        io.err('ssdk up: failed: the planner did not answer within 30 s\n');
        stopping = true;
        return EXIT_FAILURE;
      }
    }
    const artifacts = checked.dataflow ? await shipArtifacts(file, checked.dataflow, flags, { isolation, componentCache, onBuild: (line) => io.err(`${line}\n`) }) : undefined;
    const signature = await signDeploy(seed, file, flags, bundle, artifacts);
    const deployed = await deploy({ bundle, ...(artifacts ? { artifacts } : {}), signature }, file, cmd, flags, io, checked.left);
    if (typeof deployed === 'number') {
      stopping = true;
      return deployed;
    }
    dataflow = deployed.dataflow;
    const operators = operatorProcesses(deployed.operators, replicas, metricsBase);
    for (const op of operators) {
      const args = ['operator', '--dataflow', deployed.dataflow, '--operator', op.operator, ...(controlSchema ? ['--control-schema', controlSchema] : [])];
      if (op.metricsPort !== undefined) {
        args.push('--metrics-port', String(op.metricsPort));
        metrics[op.name] = op.metricsPort;
      }
      const p: Supervised = {
        name: op.name,
        args: () => spawn(process.execPath, [SSDK_BIN, ...args], { stdio: ['ignore', 'inherit', 'pipe'], env: operatorEnv }),
        child: undefined,
        done: false,
        restarts: 0,
        startedAt: 0,
      };
      procs.set(op.name, p);
      start(p);
    }
    // Connectors written inline in sources and sinks: a process each (or N, scaled), supervised like operators.
    connectors.forEach((c, i) => {
      // Metrics ports go on after the operators': the dashboard scrapes connectors as it does operators.
      const metricsPort = metricsBase === undefined ? undefined : metricsBase + operators.length + i;
      if (metricsPort !== undefined) metrics[c.name] = metricsPort;
      const replica = c.replica ? ['--replica', `${c.replica.index}/${c.replica.count}`] : [];
      const p: Supervised = {
        name: c.name,
        args: () =>
          spawn(process.execPath, [SSDK_BIN, 'connector', 'run', file, '--connector', c.connector, ...replica, ...serverArgs(flags), ...(metricsPort !== undefined ? ['--metrics-port', String(metricsPort)] : [])], { stdio: ['ignore', 'inherit', 'pipe'], env: operatorEnv }),
        child: undefined,
        done: false,
        restarts: 0,
        startedAt: 0,
      };
      procs.set(p.name, p);
      start(p);
    });
    if (connectors.length) io.err(`started ${connectors.length} connector process${connectors.length === 1 ? '' : 'es'}: ${connectors.map((c) => c.name.slice('connector:'.length)).join(', ')}\n`);
    await save();
    io.err(`started ${operators.length} operator processes of ${deployed.dataflow} (version ${deployed.version}); PIDs in ${path}\n`);
    if (metricsBase !== undefined) io.err(`metrics: ${Object.entries(metrics).map(([name, port]) => `${name} http://127.0.0.1:${port}/metrics`).join(', ')}\n`);
    // Connectors feed and drain the stack as long as it runs; they do not end with the input.
    const operatorsDone = () => [...procs].every(([name, p]) => name === 'planner' || name.startsWith('connector:') || p.done);
    const plannerGone = () => !procs.has('planner') || procs.get('planner')!.done;
    let told = false;
    // Like compose, the stack stays up while the planner runs; with someone else's planner, up
    // is done once every operator ended its input.
    while (!stopping && !(operatorsDone() && plannerGone())) {
      if (operatorsDone() && !told) {
        told = true;
        io.err('every operator ended its input; the planner keeps running (`ssdk down` stops it)\n');
      }
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    if (stopping) failed = !(await stopAll([...procs.values()].map((p) => p.child).filter((c): c is ChildProcess => c !== undefined), grace, io));
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await stackFile.remove();
  }
  io.err(stopping ? 'stopped every process\n' : 'every operator ended its input\n');
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/**
 * Builds the component the operators will need (none when every unit runs natively), with a
 * progress line; returns an exit code when a function does not build.
 */
async function buildOnce(file: string, dataflow: Dataflow, o: { isolation: IsolationChoice; stateDir: string; componentCache: string }, io: CliIo): Promise<number | undefined> {
  const { plan } = await planOrThrow(file);
  if (!plan.operators.some((op) => unitRunsSandboxed(op, o.isolation))) return undefined;
  const started = performance.now();
  try {
    const built = await buildComponents({ dataflow, stateDir: o.stateDir, componentCache: o.componentCache, sandboxAll: o.isolation === 'sandbox', onBuild: (line) => io.err(`${line}\n`) });
    io.err(`components ready in ${Math.round(performance.now() - started)} ms (${built.components.map((c) => `${c.hash} ${c.status}`).join(', ')}), cached in ${o.componentCache}\n`);
    return undefined;
  } catch (err) {
    const code = reportBuildError(err, io);
    if (code !== undefined) return code;
    throw err;
  }
}

async function deploy(
  what: Pick<DeployRequest, 'bundle' | 'artifacts' | 'signature'>,
  file: string,
  cmd: ParsedCommand,
  flags: ServerFlags,
  io: CliIo,
  left?: CodeLeft,
): Promise<DeployReply | number> {
  const request: DeployRequest = {
    ...what,
    displayPath: cmd.positionals[0]!,
    ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}),
    ...(cmd.values['reset-state'] ? { resetState: true } : {}),
    ...(cmd.values['reset-offsets'] ? { resetOffsets: true } : {}),
    ...(typeof cmd.values['schema'] === 'string' ? { schema: cmd.values['schema'] } : {}),
  };
  try {
    const reply = await askPlanner<DeployReply>(flags.natsUrl, flags.subjectPrefix, 'deploy', request);
    io.err(`${reply.dataflow}: ${reply.outcome} (version ${reply.version}, plan ${reply.hash.slice(0, 12)}) from ${file}\n`);
    return reply;
  } catch (err) {
    const code = reportPlannerRefusal(err, io, 'up', left);
    if (code !== undefined) return code;
    throw err;
  }
}

/** SIGTERM, wait up to `grace` ms, then SIGKILL. True when every process went by itself. */
async function stopAll(children: ChildProcess[], grace: number, io: CliIo): Promise<boolean> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exits = alive.map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
  for (const c of alive) c.kill('SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), grace).unref());
  if ((await Promise.race([Promise.all(exits), timer])) === 'timeout') {
    for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    io.err('some processes did not drain in time: killed\n');
    await Promise.all(exits);
    return false;
  }
  return true;
}

export async function runDown(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const path = stackPath(cmd);
  const grace = graceMs(cmd, 'down');
  const stack = await readStackFile(path);
  if (!stack) {
    io.err(`nothing to stop: no ${path}\n`);
    return EXIT_OK;
  }
  // The supervisor first: it stops what it runs now (PIDs of restarts included), drains them
  // and removes the file. Whatever is left after that (a supervisor gone or stuck) is stopped
  // here from the file: the newest one it left, and the one read before.
  const listed = (s: StackFile) => [...(s.planner !== undefined ? [s.planner] : []), ...Object.values(s.operators)];
  signalPid(stack.supervisor, 'SIGTERM');
  await waitForExit([stack.supervisor], grace + 5_000);
  const latest = await readStackFile(path).catch(() => undefined);
  const children = [...new Set([...listed(stack), ...(latest ? listed(latest) : [])])].filter(isAlive);
  for (const pid of children) signalPid(pid, 'SIGTERM');
  await waitForExit(children, grace);
  const left = [stack.supervisor, ...children].filter(isAlive);
  for (const pid of left) signalPid(pid, 'SIGKILL');
  await waitForExit(left, 5_000);
  await rm(path, { force: true });
  const stopped = 1 + listed(latest ?? stack).length;
  io.err(`stopped ${stopped} process${stopped === 1 ? '' : 'es'}${left.length ? ` (${left.length} killed after ${grace} ms)` : ''}\n`);
  const still = left.filter(isAlive);
  if (still.length) {
    io.err(`ssdk down: failed: still running after SIGKILL: ${still.join(', ')}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 100));
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The inline connectors of a services file's sources and sinks (none from a file that cannot be read: the deploy reports it). */
async function inlineConnectorsOf(file: string): Promise<Connector[]> {
  try {
    return inlineConnectors((await loadServicesFile(file)).dataflow);
  } catch {
    return [];
  }
}
