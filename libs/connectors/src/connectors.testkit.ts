/**
 * Helpers for the connectors' integration tests (not part of the lib's surface): connector
 * processes (`ssdk connector run`, killed with SIGKILL), a private Mosquitto and a TCP proxy in
 * front of PostgreSQL, so outages never touch the shared servers, and reading a topic whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createNatsBus, type Bus, type NatsBus } from '@ssdk/bus';
import { decodeFrame, isFrame } from '@ssdk/records';
import { freePort, testNats, until, type TestNats } from '@ssdk/testing';

const repo = new URL('../../../', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A scratch folder for connector files and broker stores. */
export function scratch(name: string): { dir: string; write(file: string, text: string): string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), `ssdk-${name}-`));
  return {
    dir,
    write: (file, text) => {
      const path = join(dir, file);
      writeFileSync(path, text);
      return path;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type Scratch = ReturnType<typeof scratch>;

/** What every connector test file runs against: NATS under a prefix of its own, a bus on it, a scratch folder. */
export interface NatsSuite {
  readonly nats: TestNats;
  readonly bus: NatsBus;
  readonly box: Scratch;
}

/**
 * The file's `NatsSuite`, made before its tests and closed after them (`box` at once); a test
 * file's other servers are its own hooks'. Read `nats` and `bus` inside the tests.
 */
export function natsSuite(name: string): NatsSuite {
  const suite = { box: scratch(name) } as { nats: TestNats; bus: NatsBus; box: Scratch };
  beforeAll(async () => {
    suite.nats = await testNats();
    suite.bus = await createNatsBus({ servers: suite.nats.url, subjectPrefix: suite.nats.prefix });
  });
  afterAll(async () => {
    await suite.bus?.close();
    await suite.nats?.cleanup();
    suite.box.dispose();
  });
  return suite;
}

/** `ssdk connector run FILE` as a child process; its stderr is kept for waits and failures. */
export class ConnectorProcess {
  private child: ChildProcess | undefined;
  output = '';

  private readonly file: string;
  private readonly nats: { url: string; prefix: string };
  private readonly env: Record<string, string>;
  private readonly args: readonly string[];

  constructor(file: string, nats: { url: string; prefix: string }, env: Record<string, string> = {}, args: readonly string[] = []) {
    this.file = file;
    this.nats = nats;
    this.env = env;
    this.args = args;
  }

  start(): void {
    const child = spawn(process.execPath, [join(repo, 'bin/ssdk.js'), 'connector', 'run', this.file, '--nats', this.nats.url, '--subject-prefix', this.nats.prefix, '--status-every', '1', ...this.args], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
    });
    this.child = child;
  }

  async waitFor(text: string | RegExp, timeoutMs = 60_000): Promise<void> {
    await until(`connector output ${String(text)}`, () => (typeof text === 'string' ? this.output.includes(text) : text.test(this.output)), timeoutMs, () => this.output.slice(-2000));
  }

  /** Waits for a connector that ends by itself (a finite source) to exit; its exit code. */
  async exited(timeoutMs = 60_000): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    if (child.exitCode === null && child.signalCode === null) {
      const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await Promise.race([exit, sleep(timeoutMs)]);
    }
    if (child.exitCode === null && child.signalCode === null) throw new Error(`the connector did not exit within ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
    this.child = undefined;
    return child.exitCode;
  }

  /** `kill -9`: nothing is flushed, nothing is acknowledged. */
  async kill9(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<number | null> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      child.kill('SIGKILL');
      return exited;
    }
    return code;
  }
}

/** A Mosquitto of the test's own (port, persistence file), stopped and restarted at will. */
export class PrivateMosquitto {
  port = 0;
  private child: ChildProcess | undefined;
  private readonly box = scratch('mosquitto');

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    // Started as root, mosquitto drops to its own user, which must be able to write its store.
    chmodSync(this.box.dir, 0o777);
    // Persistence, so sessions and their queued messages outlive a restart (SIGTERM saves them).
    const conf = this.box.write('mosquitto.conf', `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${this.box.dir}/\nmax_queued_messages 100000\n`);
    const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
    this.child = child;
    await until(`mosquitto on ${this.port}`, () => canConnect(this.port), 10_000);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.box.dispose();
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A TCP proxy to a real server (`down()` cuts it, `up()` brings it back): the one in @ssdk/testing. */
export { TcpProxy } from '@ssdk/testing';

/** Cuts a server's open connections and closes it: an endpoint that goes away at once. */
export async function closeServer(server: { close(cb: () => void): unknown } | undefined, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Every record value of a topic (all partitions), parsed as JSON. */
export async function readTopic(bus: Bus, topic: string): Promise<unknown[]> {
  return (await readTopicWhole(bus, topic)).records.map((r) => JSON.parse(r.value) as unknown);
}

/**
 * Every record of a topic, partition by partition (a message that is not a frame counts as one
 * record, its text the value, time 0), and whether each partition's input ended.
 */
export async function readTopicWhole(bus: Bus, topic: string): Promise<{ records: Array<{ value: string; timestamp: number }>; ended: boolean[] }> {
  const config = await bus.topic(topic);
  if (!config) return { records: [], ended: [] };
  const records: Array<{ value: string; timestamp: number }> = [];
  const ended: boolean[] = [];
  for (let p = 0; p < config.partitions; p++) {
    const last = await bus.lastSeq(topic, p);
    ended.push(false);
    if (last === 0) continue;
    const reader = bus.read(topic, p);
    try {
      for (let seq = 0; seq < last; ) {
        const messages = await reader.fetch(500, 2_000);
        if (messages.length === 0) break;
        for (const m of messages) {
          seq = m.seq;
          if (!isFrame(m.data)) {
            records.push({ value: Buffer.from(m.data).toString('utf8'), timestamp: 0 });
            continue;
          }
          const frame = decodeFrame(m.data);
          if (frame.kind === 'end') ended[p] = true;
          else if (frame.kind === 'data') for (const r of frame.records) records.push({ value: Buffer.from(r.value).toString('utf8'), timestamp: r.timestamp });
        }
        // Acknowledged as read: a reader stops delivering once `max_ack_pending` messages wait unacknowledged.
        await reader.ack(seq);
      }
    } finally {
      await reader.close();
    }
  }
  return { records, ended };
}

/** How long an endpoint stays down in the outage tests: 10 s in the acceptance run, 2 s in CI. */
export const OUTAGE_MS = Number(process.env['SSDK_CONNECTOR_OUTAGE_MS'] ?? 2_000);
export { sleep };

/**
 * A PostgreSQL cluster of the test's own (initdb in a scratch folder, as the `postgres` user
 * when the test runs as root), with `wal_level = logical`: the shared server has `replica`, and
 * change data capture needs its own.
 */
export class PrivatePostgres {
  port = 0;
  private readonly box = scratch('pg-cdc');
  private readonly bin: string;

  constructor() {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
    this.bin = `/usr/lib/postgresql/${versions[0]}/bin`;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    chmodSync(this.box.dir, 0o777);
    await this.run('initdb', ['-D', `${this.box.dir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await this.run('pg_ctl', ['-D', `${this.box.dir}/data`, '-l', `${this.box.dir}/log`, '-w', '-o', `-p ${this.port} -k ${this.box.dir} -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=4 -c fsync=off`, 'start']);
  }

  async dispose(): Promise<void> {
    if (this.port !== 0) await this.run('pg_ctl', ['-D', `${this.box.dir}/data`, '-m', 'immediate', 'stop']).catch(() => {});
    this.box.dispose();
  }

  private run(tool: string, args: string[]): Promise<void> {
    const asRoot = process.getuid?.() === 0;
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', `${this.bin}/${tool}`, ...args]] : [`${this.bin}/${tool}`, args];
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, argv as string[], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${tool} exited ${code}: ${err.slice(-500)}`))));
    });
  }
}
