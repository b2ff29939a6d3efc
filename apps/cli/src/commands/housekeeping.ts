/**
 * The commands SDF users reach for first: `ssdk version` (what runs), `ssdk setup` (what this
 * machine has, what is missing and how to get it) and `ssdk clean` (remove what ssdk wrote for a
 * dataflow: state, builds, logs).
 */
import { compileStackSettings } from '@ssdk/settings';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { SUPPORTED_API_VERSIONS } from '@ssdk/spec';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';
import { ssdkVersion } from '../installation.ts';
import { paint, type CliIo } from '../io.ts';
import { stateDir } from '../state-dir.ts';
import { readStackFile } from '../stack-file.ts';

export const versionSpec: CommandSpec = {
  name: 'version',
  summary: 'Print the version of ssdk, of Node, and the services-file versions it reads.',
  usage: 'ssdk version',
  options: {},
  maxPositionals: 0,
  examples: ['ssdk version', 'ssdk version > versions.txt   # for a bug report'],
};

export async function runVersion(_cmd: ParsedCommand, io: CliIo): Promise<number> {
  io.out(`ssdk ${ssdkVersion()}\nnode ${process.versions.node}\nservices files: apiVersion ${SUPPORTED_API_VERSIONS.join(', ')}\n`);
  return EXIT_OK;
}

export const cleanSpec: CommandSpec = {
  name: 'clean',
  summary: 'Remove what ssdk wrote for a dataflow (.ssdk/ beside its services file: embedded state, builds, logs).',
  usage: 'ssdk clean [FILE]',
  options: {
    'state-dir': { type: 'string', valueName: 'DIR', description: 'the folder to remove (default: .ssdk/ beside the services file, or $SSDK_HOME)' },
    'dry-run': { type: 'boolean', short: 'n', description: 'say what would be removed, remove nothing' },
  },
  maxPositionals: 1,
  examples: ['ssdk clean', 'ssdk clean examples/word-count/services.yaml', 'ssdk clean --dry-run'],
};

/** What ssdk writes into a state folder; a folder holding anything else is not removed. */
const OWN_ENTRIES = new Set(['state', 'build', 'logs', 'wit', 'components', 'history', 'stack.json', 'bundle', 'deploy', 'tmp', 'locks']);

export async function runClean(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = resolve(io.cwd, cmd.positionals[0] ?? 'services.yaml');
  const override = typeof cmd.values['state-dir'] === 'string' ? resolve(io.cwd, cmd.values['state-dir']) : undefined;
  const dir = stateDir(file, override);
  const shown = relative(io.cwd, dir) || '.';
  if (!existsSync(dir)) {
    io.out(`nothing to clean: ${shown} does not exist\n`);
    return EXIT_OK;
  }
  if (!(await stat(dir)).isDirectory()) throw new UsageError(`${shown} is not a folder`, 'clean');
  const entries = await readdir(dir);
  const foreign = entries.filter((e) => !OWN_ENTRIES.has(e) && !e.startsWith('.') && !e.endsWith('.lock') && !e.endsWith('.tmp'));
  if (foreign.length > 0) {
    throw new UsageError(
      `${shown} holds files ssdk did not write (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}): not removing it; remove it yourself if it is really ssdk's`,
      'clean',
    );
  }
  const stack = entries.includes('stack.json') ? await readStackFile(join(dir, 'stack.json')).catch(() => undefined) : undefined;
  if (stack && [stack.supervisor, stack.planner, ...Object.values(stack.operators)].some((pid) => pid !== undefined && isAlive(pid))) {
    throw new UsageError(`a stack started by \`ssdk up\` still runs from ${shown}: stop it with \`ssdk down ${relative(io.cwd, stack.file) || stack.file}\` first`, 'clean');
  }
  if (cmd.values['dry-run']) {
    io.out(`would remove ${shown} (${entries.length ? entries.sort().join(', ') : 'empty'})\n`);
    return EXIT_OK;
  }
  await rm(dir, { recursive: true, force: true });
  io.out(`removed ${shown}\n`);
  return EXIT_OK;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const setupSpec: CommandSpec = {
  name: 'setup',
  summary: 'Check this machine for what ssdk uses (Node, NATS, PostgreSQL, Docker) and say how to get what is missing.',
  usage: 'ssdk setup',
  options: {},
  maxPositionals: 0,
  examples: ['ssdk setup', 'ssdk setup || echo "the lines marked missing say how to get it"', 'NATS_URL=nats://nats.example:4222 DATABASE_URL=postgres://... ssdk setup'],
};

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** How to get it, when missing. */
  fix?: string;
  /** What needs it. */
  usedBy: string;
}

/** Exit 0 when everything is there, 1 when something is missing (embedded mode needs only Node). */
export async function runSetup(_cmd: ParsedCommand, io: CliIo): Promise<number> {
  const checks = await Promise.all([checkNode(), checkNats(), checkPostgres(), checkDocker()]);
  for (const c of checks) {
    const mark = c.ok ? paint(io, 'green', 'ok     ') : paint(io, 'red', 'missing');
    io.out(`${mark} ${c.name.padEnd(11)} ${c.detail}\n`);
    if (!c.ok && c.fix) io.out(`        ${''.padEnd(11)} ${c.fix}\n`);
  }
  const missing = checks.filter((c) => !c.ok);
  if (missing.length === 0) {
    io.out('everything ssdk uses is here: `ssdk run` (embedded) and `ssdk up` (distributed) both work\n');
    return EXIT_OK;
  }
  const node = checks[0]!;
  io.out(
    node.ok
      ? `embedded mode works (\`ssdk run FILE\`: no server needed); missing: ${missing.map((c) => `${c.name}, for ${c.usedBy}`).join('; ')}\n`
      : 'ssdk cannot run here until Node is upgraded\n',
  );
  return EXIT_FAILURE;
}

function checkNode(): Check {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const ok = major > 20 || (major === 20 && minor >= 11);
  return { name: 'Node', ok, detail: `${process.versions.node}${ok ? '' : ' (ssdk needs 20.11 or newer)'}`, fix: 'install Node 20.11+ (https://nodejs.org, or your package manager)', usedBy: 'everything' };
}

async function checkNats(): Promise<Check> {
  // Where every distributed command would look (the stack's one rule, @ssdk/settings).
  const url = compileStackSettings({}, process.env).natsUrl;
  const { host, port } = hostPort(url, 4222);
  const reached = await reachable(host, port);
  return {
    name: 'NATS',
    ok: reached,
    detail: reached ? `${url} answers` : `nothing answers at ${url}${process.env['NATS_URL'] ? '' : ' (NATS_URL unset)'}`,
    fix: 'run nats-server with JetStream (`nats-server -js`; Debian: apt-get install nats-server) or `docker compose up nats`, and set NATS_URL',
    usedBy: 'the distributed stack (`ssdk up`, `--nats`/`--postgres` runs)',
  };
}

async function checkPostgres(): Promise<Check> {
  const url = compileStackSettings({}, process.env).databaseUrl;
  const { host, port } = hostPort(url, 5432);
  const reached = await reachable(host, port);
  return {
    name: 'PostgreSQL',
    ok: reached,
    // The URL may carry a password: only where it points is printed.
    detail: reached ? `${host}:${port} answers` : `nothing answers at ${host}:${port}${process.env['DATABASE_URL'] ? '' : ' (DATABASE_URL unset)'}`,
    fix: 'run PostgreSQL 15+ (Debian: apt-get install postgresql) or `docker compose up postgres`, and set DATABASE_URL',
    usedBy: 'the distributed stack (`ssdk up`, `--nats`/`--postgres` runs)',
  };
}

async function checkDocker(): Promise<Check> {
  const version = await new Promise<string | undefined>((done) => {
    execFile('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 5000 }, (err, stdout) => done(err ? undefined : stdout.trim()));
  });
  const client = version === undefined ? await new Promise<boolean>((done) => execFile('docker', ['--version'], { timeout: 5000 }, (err) => done(!err))) : true;
  return {
    name: 'Docker',
    ok: version !== undefined,
    detail: version !== undefined ? `engine ${version}` : client ? 'the docker command is here, but no engine answers (DOCKER_HOST?)' : 'no docker command',
    fix: client ? 'start the Docker engine (dockerd), or point DOCKER_HOST at one' : 'install Docker (Debian: apt-get install docker.io docker-compose); only `ssdk compose` stacks need it',
    usedBy: 'container stacks (`ssdk compose`, `docker compose up`)',
  };
}

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  try {
    const u = new URL(url);
    return { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : defaultPort };
  } catch {
    return { host: '127.0.0.1', port: defaultPort };
  }
}

function reachable(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
