import type * as ContainerModuleNs from '@testcontainers/nats';
import { connect, type Socket } from 'node:net';
import { TestServerUnavailableError } from './errors.ts';
import { uniqueName } from './names.ts';
import { describeError } from './postgres.ts';

export interface TestNats {
  /** Server URL, with credentials when the server needs them. */
  url: string;
  /** A subject (and stream-name) prefix unique to this call, e.g. `ssdk_test_m1x2_3f_9a0b1c2d`. */
  prefix: string;
  source: 'env' | 'local' | 'container';
  /**
   * Nothing to drop on a shared server from here (this lib has no NATS client): streams made
   * under `prefix` belong to the test, whose bus adapter removes them. Stops nothing either;
   * see `stopTestNats`.
   */
  cleanup(): Promise<void>;
}

export interface TestNatsOptions {
  /** Prefix of the subject prefix. @default 'ssdk_test' */
  prefix?: string;
  /** @internal tests: the environment to read NATS_URL from. @default process.env */
  env?: Record<string, string | undefined>;
  /** @internal tests: the local server tried second. @default LOCAL_NATS_URL */
  localUrl?: string;
  /** Try testcontainers (needs Docker) when nothing else answers. @default true */
  containers?: boolean;
}

export const LOCAL_NATS_URL = 'nats://127.0.0.1:4222';
export const NATS_IMAGE = 'nats:2.10-alpine';
export const START_NATS =
  'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log';

type ContainerModule = typeof ContainerModuleNs;
type Base = { url: string; source: TestNats['source'] };
const resolved = new Map<string, Promise<Base>>();
let container: Promise<{ url: string; stop(): Promise<void> }> | undefined;

/**
 * A NATS server with JetStream for an integration test: `NATS_URL` when set, else the local
 * server at 127.0.0.1:4222 when it answers (a TCP connect that reads the server's INFO line),
 * else a testcontainers container (when Docker is there), else an error that says how to start one.
 *
 * @example
 * const nats = await testNats();
 * const bus = await createNatsBus({ servers: nats.url, prefix: nats.prefix });
 */
export async function testNats(options: TestNatsOptions = {}): Promise<TestNats> {
  const env = options.env ?? process.env;
  const localUrl = options.localUrl ?? LOCAL_NATS_URL;
  const cacheKey = JSON.stringify([env.NATS_URL ?? null, localUrl, options.containers !== false]);
  let base = resolved.get(cacheKey);
  if (!base) {
    base = findNats(env.NATS_URL, localUrl, options.containers !== false);
    resolved.set(cacheKey, base);
    base.catch(() => resolved.delete(cacheKey));
  }
  const { url, source } = await base;
  return { url, prefix: uniqueName(options.prefix ?? 'ssdk_test'), source, cleanup: async () => {} };
}

/** Stops the container testNats started, if any (testcontainers' reaper does it at exit too). */
export async function stopTestNats(): Promise<void> {
  const started = container;
  container = undefined;
  resolved.clear();
  if (started) await (await started).stop();
}

export interface NatsInfo {
  server_id?: string;
  version?: string;
  jetstream?: boolean;
  auth_required?: boolean;
}

/** Connects over TCP and reads the `INFO {...}` line every NATS server sends first. */
export function readNatsInfo(url: string, timeoutMs = 2_000): Promise<NatsInfo> {
  const first = url.split(',')[0]!.trim();
  const parsed = new URL(first.includes('://') ? first : `nats://${first}`);
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = parsed.port ? Number(parsed.port) : 4222;
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port });
    let text = '';
    const done = (error: Error | undefined, info?: NatsInfo) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(info!);
    };
    const timer = setTimeout(() => done(Object.assign(new Error(`no INFO from ${host}:${port} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      const line = text.slice(0, end);
      if (!line.startsWith('INFO ')) return done(new Error(`${host}:${port} is not a NATS server (it said ${JSON.stringify(line.slice(0, 40))})`));
      try {
        done(undefined, JSON.parse(line.slice(5)) as NatsInfo);
      } catch (error) {
        done(error as Error);
      }
    });
    socket.on('error', (error) => done(error));
  });
}

async function check(url: string): Promise<void> {
  const info = await readNatsInfo(url);
  if (info.jetstream !== true) {
    throw new Error(`the NATS server at ${url} runs without JetStream: start it with -js`);
  }
}

async function findNats(envUrl: string | undefined, localUrl: string, containers: boolean): Promise<Base> {
  if (envUrl) {
    try {
      await check(envUrl);
      return { url: envUrl, source: 'env' };
    } catch (cause) {
      throw new TestServerUnavailableError(`NATS_URL is set but no NATS JetStream server answers there: ${describeError(cause)}`, { cause });
    }
  }
  const tried: string[] = [];
  try {
    await check(localUrl);
    return { url: localUrl, source: 'local' };
  } catch (cause) {
    tried.push(`${localUrl}: ${describeError(cause)}`);
  }
  if (containers) {
    try {
      container ??= startContainer();
      return { url: (await container).url, source: 'container' };
    } catch (cause) {
      container = undefined;
      tried.push(`testcontainers (${NATS_IMAGE}): ${describeError(cause)}`);
    }
  }
  throw new TestServerUnavailableError(
    `no NATS JetStream server for integration tests. Tried:\n  - ${tried.join('\n  - ')}\n` +
      `Start the local server with:\n  ${START_NATS}\n` +
      'or set NATS_URL=nats://host:4222, or install Docker for testcontainers.',
  );
}

async function startContainer(): Promise<{ url: string; stop(): Promise<void> }> {
  let module: ContainerModule;
  try {
    module = await import('@testcontainers/nats');
  } catch (cause) {
    throw new Error('@testcontainers/nats is not installed', { cause });
  }
  const started = await new module.NatsContainer(NATS_IMAGE).withJetStream().start();
  const options = started.getConnectionOptions();
  const server = Array.isArray(options.servers) ? options.servers[0]! : options.servers!;
  const url = new URL(server.includes('://') ? server : `nats://${server}`);
  if (options.user) url.username = encodeURIComponent(options.user);
  if (options.pass) url.password = encodeURIComponent(options.pass);
  return { url: url.toString().replace(/\/$/, ''), stop: async () => void (await started.stop()) };
}
