/**
 * `ssdk up` / `ssdk down`: the distributed topology as local processes, for machines without a
 * Docker engine. `up` starts one `ssdk operator` process per operator unit (one replica each),
 * restarts one that dies (with backoff, as compose's restart policy would; an operator that
 * exits 0 has seen the end of its inputs and stays down), and keeps the PIDs in
 * `.ssdk/stack.json`; `down` stops them: SIGTERM (they drain), SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { loadPlan } from '@ssdk/runtime';
import { parseDuration } from '@ssdk/spec';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { serverArgs, serverFlags, serverOptions } from '../distributed.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { stateDir } from '../state-dir.ts';

const BIN = fileURLToPath(new URL('../../../../bin/ssdk.js', import.meta.url));

const stackOptions = {
  'state-dir': { type: 'string', valueName: 'DIR', description: 'where stack.json is kept (default: .ssdk/ beside the services file, or $SSDK_HOME)' },
  grace: { type: 'string', valueName: 'DURATION', description: 'how long a stopped operator may drain before SIGKILL', default: '10s' },
} as const;

export const upSpec: CommandSpec = {
  name: 'up',
  summary: 'Start one local `ssdk operator` process per operator unit (foreground supervisor: restarts a process that dies; Ctrl-C or `ssdk down` stops them).',
  usage: 'ssdk up FILE [--nats URL] [--postgres URL] [--subject-prefix PREFIX] [--partitions N]',
  options: {
    postgres: { type: 'string', valueName: 'URL', description: 'PostgreSQL server holding the state (default: $DATABASE_URL)' },
    ...serverOptions,
    ...stackOptions,
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: ['ssdk up examples/word-count/services.yaml &', 'ssdk down examples/word-count/services.yaml'],
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

interface StackFile {
  file: string;
  supervisor: number;
  operators: Record<string, number>;
}

function stackPath(cmd: ParsedCommand): string {
  const dir = typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined;
  return join(stateDir(cmd.positionals[0]!, dir), 'stack.json');
}

function graceMs(cmd: ParsedCommand, command: string): number {
  const ms = parseDuration(String(cmd.values['grace']));
  if (ms === undefined) throw new UsageError(`--grace takes a duration such as 10s, got \`${String(cmd.values['grace'])}\``, command);
  return ms;
}

export async function runUp(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = resolve(io.cwd, cmd.positionals[0]!);
  const flags = serverFlags(cmd, 'up');
  const postgres = typeof cmd.values['postgres'] === 'string' ? cmd.values['postgres'] : process.env['DATABASE_URL'];
  if (!postgres) throw new UsageError('give --postgres URL (or set DATABASE_URL)', 'up');
  const grace = graceMs(cmd, 'up');
  const { plan } = await loadPlan(file, { subjectPrefix: flags.subjectPrefix, ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}) });
  const path = stackPath(cmd);
  await mkdir(dirname(path), { recursive: true });
  const procs = new Map<string, { child: ChildProcess | undefined; done: boolean; restarts: number; startedAt: number }>();
  let stopping = false;
  let failed = false;
  let wake: () => void = () => {};
  const save = () =>
    writeFile(
      path,
      JSON.stringify({ file, supervisor: process.pid, operators: Object.fromEntries([...procs].filter(([, p]) => p.child?.pid !== undefined && !p.done).map(([id, p]) => [id, p.child!.pid!])) } satisfies StackFile, null, 2) + '\n',
    );
  const start = (id: string) => {
    const p = procs.get(id)!;
    const child = spawn(process.execPath, [BIN, 'operator', file, '--operator', id, '--postgres', postgres, ...serverArgs(flags)], { stdio: ['ignore', 'inherit', 'pipe'], env: process.env });
    p.child = child;
    p.startedAt = Date.now();
    createInterface({ input: child.stderr! }).on('line', (line) => io.err(`[${id}] ${line}\n`));
    child.on('exit', (code, signal) => {
      if (stopping) return wake();
      if (code === 0) {
        p.done = true;
        io.err(`[${id}] exited: its inputs ended\n`);
        void save();
        return wake();
      }
      // Backoff 1 s, doubling to 30 s; a process that ran a minute starts over at 1 s.
      if (Date.now() - p.startedAt > 60_000) p.restarts = 0;
      const delay = Math.min(30_000, 1_000 * 2 ** p.restarts++);
      io.err(`[${id}] died (${signal ?? `exit ${code}`}); restarting in ${delay} ms\n`);
      setTimeout(() => {
        if (stopping) return wake();
        start(id);
        void save();
      }, delay);
    });
  };
  for (const op of plan.operators) procs.set(op.id, { child: undefined, done: false, restarts: 0, startedAt: 0 });
  for (const id of procs.keys()) start(id);
  await save();
  io.err(`started ${procs.size} operator processes of ${plan.dataflow.namespace}/${plan.dataflow.name}; PIDs in ${path}\n`);
  const onSignal = () => {
    stopping = true;
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    while (!stopping && ![...procs.values()].every((p) => p.done)) await new Promise<void>((r) => (wake = r));
    if (stopping) failed = !(await stopAll([...procs.values()].map((p) => p.child).filter((c): c is ChildProcess => c !== undefined), grace, io));
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await rm(path, { force: true });
  }
  io.err(stopping ? 'stopped every operator process\n' : 'every operator ended its input\n');
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/** SIGTERM, wait up to `grace` ms, then SIGKILL. True when every process went by itself. */
async function stopAll(children: ChildProcess[], grace: number, io: CliIo): Promise<boolean> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exits = alive.map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
  for (const c of alive) c.kill('SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), grace).unref());
  if ((await Promise.race([Promise.all(exits), timer])) === 'timeout') {
    for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    io.err('some operators did not drain in time: killed\n');
    await Promise.all(exits);
    return false;
  }
  return true;
}

export async function runDown(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const path = stackPath(cmd);
  const grace = graceMs(cmd, 'down');
  let stack: StackFile;
  try {
    stack = JSON.parse(await readFile(path, 'utf8')) as StackFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      io.err(`nothing to stop: no ${path}\n`);
      return EXIT_OK;
    }
    throw err;
  }
  const pids = [stack.supervisor, ...Object.values(stack.operators)];
  for (const pid of pids) signalPid(pid, 'SIGTERM');
  const deadline = Date.now() + grace;
  while (Date.now() < deadline && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 100));
  const left = pids.filter(isAlive);
  for (const pid of left) signalPid(pid, 'SIGKILL');
  await rm(path, { force: true });
  io.err(`stopped ${pids.length} process${pids.length === 1 ? '' : 'es'}${left.length ? ` (${left.length} killed after ${grace} ms)` : ''}\n`);
  return EXIT_OK;
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
