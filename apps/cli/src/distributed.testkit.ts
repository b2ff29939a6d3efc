/** What the distributed CLI tests share: reading the JSON-lines files `ssdk consume` writes, a planner to deploy to. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsBus } from '@ssdk/bus';
import { testNats, testPostgres, type TestNats, type TestPostgres } from '@ssdk/testing';
import { spawnPlanner, waitForPlanner } from './distributed-control.ts';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

// `ssdk deploy` builds the component it ships: the tests share one cache per machine (as the
// examples' tests do), so a deploy of an unchanged dataflow is a cache hit.
process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');

/** Runs `ssdk ARGS` in this process: its exit code and what it printed. */
export async function ssdk(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo();
  const code = await main(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** Every non-blank line of a JSON-lines file, parsed. */
export const readJsonLines = async (path: string): Promise<unknown[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);

/** Values as sorted JSON text: compares outputs whose order across partitions is not fixed. */
export const sortedJson = (xs: unknown[]): string[] => xs.map((x) => JSON.stringify(x)).sort();

/**
 * A planner process on the test servers with its own subject prefix, control schema and state
 * schema (so runs and files do not collide), and a scratch folder; `stop` takes it all down.
 */
export class TestPlanner {
  readonly nats: TestNats;
  readonly control: TestPostgres;
  readonly state: TestPostgres;
  readonly dir: string;
  private readonly process: ChildProcess;
  private output = '';

  private constructor(nats: TestNats, control: TestPostgres, state: TestPostgres, dir: string, process: ChildProcess) {
    this.nats = nats;
    this.control = control;
    this.state = state;
    this.dir = dir;
    this.process = process;
    process.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  static async start(prefix: string): Promise<TestPlanner> {
    const nats = await testNats({ prefix });
    const control = await testPostgres({ prefix });
    const state = await testPostgres({ prefix: `${prefix}_state` });
    const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
    const child = spawnPlanner({ natsUrl: nats.url, databaseUrl: control.connectionString, subjectPrefix: nats.prefix, controlSchema: control.schema, stdio: ['ignore', 'pipe', 'pipe'] });
    const planner = new TestPlanner(nats, control, state, dir, child);
    if (!(await waitForPlanner(nats.url, nats.prefix, 30_000))) throw new Error(`the planner did not answer: ${planner.log}`);
    return planner;
  }

  /** What the planner logged so far. */
  get log(): string {
    return this.output;
  }

  /** `--nats` and `--subject-prefix` of this planner's servers, for the client commands. */
  server(): string[] {
    return ['--nats', this.nats.url, '--subject-prefix', this.nats.prefix];
  }

  async stop(): Promise<void> {
    const p = this.process;
    p.kill('SIGTERM');
    await new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
    const bus = await createNatsBus({ servers: this.nats.url, subjectPrefix: this.nats.prefix });
    await bus.destroy();
    await this.control.cleanup();
    await this.state.cleanup();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * `ssdk up ARGS` as a child process of the repository's bin, with `env`: what it printed so far
 * (`log()`), its exit, and a cleanup (SIGTERM unless it ended) pushed to `cleanups`.
 */
export function startUp(args: string[], env: NodeJS.ProcessEnv, cleanups: Array<() => Promise<unknown>>): { up: ChildProcess; log: () => string; exit: Promise<number | null> } {
  const up = spawn(process.execPath, ['bin/ssdk.js', 'up', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let log = '';
  up.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exit = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (up.exitCode === null) up.kill('SIGTERM');
    await exit;
  });
  return { up, log: () => log, exit };
}
