import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inlineConnectors, loadServicesFile, type Connector } from '@ssdk/spec';
import { postgresUrlOf } from '../distributed-control.ts';
import { bufferIo } from '../io.ts';
import { main } from '../main.ts';
import { stackFileWriter } from '../stack-file.ts';
import { connectorProcesses, operatorEnvironment, operatorProcesses } from './up.ts';

const started: ChildProcess[] = [];
const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A real process that ignores SIGTERM (a unit that will not drain): only SIGKILL ends it. */
function stubborn(): ChildProcess {
  const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); process.stdout.write('ready\\n');"], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(child);
  return child;
}
const ready = (c: ChildProcess) => new Promise<void>((r) => c.stdout!.once('data', () => r()));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The inline connectors of a small services file: an mqtt-source (with `mqtt` settings given) and a sql-sink. */
async function connectorsOf(mqtt: string): Promise<Connector[] & { file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-up-connectors-'));
  scratch.push(dir);
  const file = join(dir, 'services.yaml');
  await writeFile(
    file,
    `apiVersion: 0.5.0
meta: {name: relay, namespace: acme, version: 0.1.0}
topics:
  readings: {schema: {value: {type: string}}}
  out: {schema: {value: {type: string}}}
services:
  relay:
    sources:
      - type: topic
        id: readings
        connector:
          meta: {name: readings-in, type: mqtt-source}
          mqtt: {url: "mqtt://127.0.0.1:1883", topic: "cars/+"${mqtt}}
    transforms:
      - operator: map
        run: |
          function same(line: string): string { return line; }
    sinks:
      - type: topic
        id: out
        connector:
          meta: {name: out-sql, type: sql-sink}
          sql: {url: "postgres://127.0.0.1/test", table: out}
`,
  );
  return Object.assign(inlineConnectors((await loadServicesFile(file)).dataflow), { file });
}

describe('ssdk up / down', () => {
  it('up - --scale connector-NAME=N runs N connector processes told their index (--replica I/N); one whose endpoint cannot be divided is refused before anything starts', async () => {
    const shared = await connectorsOf(', shared_group: relay');
    expect(connectorProcesses(shared, [])).toEqual([
      { name: 'connector:readings-in', connector: 'readings-in' },
      { name: 'connector:out-sql', connector: 'out-sql' },
    ]);
    expect(connectorProcesses(shared, ['connector-readings-in=2', 'connector-out-sql=3']).map((p) => [p.name, p.replica && `${p.replica.index}/${p.replica.count}`])).toEqual([
      ['connector:readings-in#0', '0/2'],
      ['connector:readings-in#1', '1/2'],
      ['connector:out-sql#0', '0/3'],
      ['connector:out-sql#1', '1/3'],
      ['connector:out-sql#2', '2/3'],
    ]);
    // Without a shared group every replica would receive every message: the connectors' own rule says so.
    const unshared = await connectorsOf('');
    expect(() => connectorProcesses(unshared, ['connector-readings-in=2'])).toThrow(/connector `readings-in` cannot run as several replicas: each replica would receive every message; set `shared_group`/);
    const webhook = Object.assign([{ ...unshared[0]!, settings: { ...unshared[0]!.settings, type: 'http-source', mode: 'webhook' } } as unknown as Connector]);
    expect(() => connectorProcesses(webhook, ['connector-readings-in=2'])).toThrow(/would all listen on one port of this machine/);
    expect(() => connectorProcesses(unshared, ['connector-nope=2'])).toThrow(/no connector `nope`; they are readings-in, out-sql/);
    expect(() => connectorProcesses(unshared, ['readings-in=2'])).toThrow(/--scale takes connector-NAME=N/);
    expect(() => connectorProcesses(unshared, ['connector-out-sql=0'])).toThrow(/at least 1 process/);
    // Through the CLI: the user's mistake, exit 2 with the reason, before a planner or operator starts.
    const io = bufferIo(process.cwd());
    expect(await main(['up', unshared.file, '--scale', 'connector-readings-in=2'], io)).toBe(2);
    expect(io.stderr()).toMatch(/connector `readings-in` cannot run as several replicas/);
    expect(io.stderr()).not.toMatch(/planner|started/);
  });


  it('up - with a metrics port, every operator process gets its own (replicas too), none inherits the shared one', () => {
    const procs = operatorProcesses(['a.split', 'a.count'], 2, 9464);
    expect(procs.map((p) => [p.name, p.metricsPort])).toEqual([
      ['a.split#1', 9464],
      ['a.split#2', 9465],
      ['a.count#1', 9466],
      ['a.count#2', 9467],
    ]);
    expect(operatorProcesses(['a.split'], 1, undefined)).toEqual([{ name: 'a.split', operator: 'a.split' }]);
    const env = operatorEnvironment({ SSDK_METRICS_PORT: '9464', PATH: '/bin' }, { databaseUrl: 'postgres://u@h/db', componentCache: '/c', isolation: 'plan' });
    expect(env['SSDK_METRICS_PORT']).toBeUndefined();
    expect(env).toMatchObject({ PATH: '/bin', DATABASE_URL: 'postgres://u@h/db', SSDK_COMPONENT_CACHE: '/c', SSDK_ISOLATION: 'plan' });
  });

  it('up - without --postgres or DATABASE_URL, the local server as psql finds it (PG* variables, else the login name)', () => {
    expect(postgresUrlOf({ postgres: 'postgres://flag@h/d' }, { DATABASE_URL: 'postgres://env@h/d' })).toBe('postgres://flag@h/d');
    expect(postgresUrlOf({}, { DATABASE_URL: 'postgres://env@h/d' })).toBe('postgres://env@h/d');
    expect(postgresUrlOf({}, { PGHOST: 'db.local', PGPORT: '5433', PGUSER: 'ann', PGDATABASE: 'flows' })).toBe('postgres://ann@db.local:5433/flows');
    expect(postgresUrlOf({}, { PGUSER: 'ann' })).toBe('postgres://ann@127.0.0.1:5432/ann');
    expect(postgresUrlOf({}, { PGHOST: '/var/run/postgresql', PGUSER: 'ann' })).toBe('postgres://ann@%2Fvar%2Frun%2Fpostgresql:5432/ann');
  });

  it('up - without DATABASE_URL it does not stop at a usage error', async () => {
    const saved = process.env['DATABASE_URL'];
    delete process.env['DATABASE_URL'];
    try {
      const io = bufferIo();
      // Before, up stopped at once: `give --postgres URL (or set DATABASE_URL)`. Now it goes on to
      // read the services file, which is not there (exit 2 naming it).
      const code = await main(['up', join(tmpdir(), 'no-such-dir', 'services.yaml'), '--nats', 'nats://127.0.0.1:1', '--state-dir', await mkdtemp(join(tmpdir(), 'ssdk-up-'))], io);
      expect(io.stderr()).not.toContain('give --postgres');
      expect(io.stderr()).toContain('services.yaml');
      expect(code).toBe(2);
    } finally {
      if (saved !== undefined) process.env['DATABASE_URL'] = saved;
    }
  });

  it('down - stops the supervisor and every process of the stack file, those that ignore SIGTERM too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-down-'));
    const file = join(dir, 'services.yaml');
    const [supervisor, planner, a, b] = [stubborn(), stubborn(), stubborn(), stubborn()];
    await Promise.all([supervisor, planner, a, b].map(ready));
    await stackFileWriter(join(dir, 'stack.json')).save({ file, dataflow: 'ns/name', supervisor: supervisor.pid!, planner: planner.pid!, operators: { 'x.a': a.pid!, 'x.b': b.pid! } });
    const io = bufferIo();
    const code = await main(['down', file, '--state-dir', dir, '--grace', '300ms'], io);
    expect(io.stderr()).toContain('stopped 4 processes');
    expect(code).toBe(0);
    for (const c of [supervisor, planner, a, b]) expect(alive(c.pid!)).toBe(false);
    await expect(readFile(join(dir, 'stack.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  }, 30_000);
});
