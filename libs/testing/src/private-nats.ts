/**
 * A private nats-server (its own port and store directory under the OS temp dir) for tests that
 * stop and restart the server mid-stream: the machine's shared server, and every other test on
 * it, never see the outage — or that need a server of their own configuration (users and
 * permissions, TLS): `new PrivateNatsServer('name', {config})`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNatsInfo } from './nats.ts';

const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PrivateNatsServer {
  readonly dir: string;
  port = 0;
  private child: ChildProcess | undefined;
  private readonly configFile: string | undefined;
  private readonly env: Record<string, string>;

  /**
   * `config`: a nats-server configuration file's text (authorization, TLS…), or a function of the
   * server's folder that returns it (for files kept there); the port and store are this server's.
   * `env`: variables the configuration refers to (`$NAME`), such as passwords.
   */
  constructor(name = 'ssdk-nats', options: { config?: string | ((dir: string) => string); env?: Record<string, string> } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), `${name}-`));
    this.env = options.env ?? {};
    if (options.config !== undefined) {
      this.configFile = join(this.dir, 'server.conf');
      writeFileSync(this.configFile, typeof options.config === 'string' ? options.config : options.config(this.dir));
    }
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, on the same port and store) and waits until JetStream answers. */
  async start(): Promise<void> {
    if (!NATS_SERVER) throw new Error('no nats-server binary (apt-get install nats-server): this test starts a private one');
    if (this.port === 0) this.port = await freePort();
    const config = this.configFile ? ['-c', this.configFile] : [];
    const child = spawn(NATS_SERVER, [...config, '-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', join(this.dir, 'store')], {
      stdio: 'ignore',
      env: { ...process.env, ...this.env },
    });
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await readNatsInfo(this.url, 500)).jetstream) return;
      } catch {
        // not up yet
      }
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server on port ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** SIGTERM, as `start-stop-daemon --stop` does: the server flushes its store and exits. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A TCP port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
