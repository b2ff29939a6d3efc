/**
 * How a process reaches a NATS server that asks who it is: the server URL(s) and one way to
 * authenticate — user and password, a token, an nkey seed file, or a creds file (a user JWT and
 * its seed, as `nsc` writes them) — and TLS (a CA to trust, a client certificate and key).
 *
 * Each field has the environment variable of the `nats` CLI (`NATS_URL`, `NATS_USER`,
 * `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_NKEY`, `NATS_CREDS`, `NATS_CA`, `NATS_CERT`, `NATS_KEY`),
 * so one environment serves `nats` and every ssdk process, and a child process gets its
 * credentials by inheriting the environment (`natsConnectionEnv`), never on its command line.
 * Every message that names a server goes through `redact`.
 */
import { DEFAULT_NATS_URL } from '@ssdk/settings';
import { readFileSync } from 'node:fs';
import { AuthorizationError, UserAuthenticationExpiredError, connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { redact, redactedMessage } from '@ssdk/records';
import { BusAuthError, BusConfigError, BusUnavailableError } from './errors.ts';
import { parseSplitMessagesOnce } from './nats-parser.ts';
import { writeLargePayloadsAsTheyAre } from './nats-writes.ts';

export interface NatsConnectionOptions {
  /** Server URL(s), comma-separated or a list. @default process.env.NATS_URL, else 'nats://127.0.0.1:4222' */
  servers?: string | string[];
  /** User name (with `password`). @default process.env.NATS_USER */
  user?: string;
  /** Password of `user`. @default process.env.NATS_PASSWORD */
  password?: string;
  /** Authentication token. @default process.env.NATS_TOKEN */
  token?: string;
  /** Path of a file holding an nkey seed (`SU…`). @default process.env.NATS_NKEY */
  nkeyFile?: string;
  /** Path of a creds file (user JWT + seed, decentralized auth). @default process.env.NATS_CREDS */
  credsFile?: string;
  /** Path of the CA certificate(s) to trust (PEM); turns TLS on. @default process.env.NATS_CA */
  caFile?: string;
  /** Path of the client certificate (PEM, with `keyFile`); turns TLS on. @default process.env.NATS_CERT */
  certFile?: string;
  /** Path of the client certificate's private key (PEM). @default process.env.NATS_KEY */
  keyFile?: string;
}

/** The options with the environment's values filled in: what a connection uses. */
export interface CompiledNatsConnection {
  servers: string[];
  user: string | undefined;
  password: string | undefined;
  token: string | undefined;
  nkeyFile: string | undefined;
  credsFile: string | undefined;
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
}

export { DEFAULT_NATS_URL };

/** Option → environment variable (the `nats` CLI's names). */
export const NATS_ENV = {
  servers: 'NATS_URL',
  user: 'NATS_USER',
  password: 'NATS_PASSWORD',
  token: 'NATS_TOKEN',
  nkeyFile: 'NATS_NKEY',
  credsFile: 'NATS_CREDS',
  caFile: 'NATS_CA',
  certFile: 'NATS_CERT',
  keyFile: 'NATS_KEY',
} as const satisfies Record<keyof NatsConnectionOptions, string>;

type Field = Exclude<keyof NatsConnectionOptions, 'servers'>;
const FIELDS = Object.keys(NATS_ENV).filter((k) => k !== 'servers') as Field[];

/** Fills each missing option from its environment variable and checks they fit together. */
export function compileNatsConnection(options: NatsConnectionOptions = {}, env: Record<string, string | undefined> = process.env): CompiledNatsConnection {
  const value = (field: Field): string | undefined => {
    const v = options[field] ?? env[NATS_ENV[field]];
    return v === undefined || v === '' ? undefined : v;
  };
  const c: CompiledNatsConnection = {
    servers: toServers(options.servers ?? env[NATS_ENV.servers] ?? DEFAULT_NATS_URL),
    user: value('user'),
    password: value('password'),
    token: value('token'),
    nkeyFile: value('nkeyFile'),
    credsFile: value('credsFile'),
    caFile: value('caFile'),
    certFile: value('certFile'),
    keyFile: value('keyFile'),
  };
  const ways = [c.user !== undefined || c.password !== undefined ? 'user/password' : '', c.token ? 'token' : '', c.nkeyFile ? 'nkey' : '', c.credsFile ? 'creds' : ''].filter(Boolean);
  if (ways.length > 1) {
    throw new BusConfigError(`NATS credentials: give one way to authenticate, got ${ways.join(' and ')} (NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY or NATS_CREDS)`);
  }
  if (c.password !== undefined && c.user === undefined) throw new BusConfigError('NATS credentials: a password needs a user (NATS_USER or --nats-user)');
  if ((c.certFile === undefined) !== (c.keyFile === undefined)) {
    throw new BusConfigError('NATS TLS: a client certificate needs its key and a key its certificate (NATS_CERT and NATS_KEY, or --nats-cert and --nats-key)');
  }
  return c;
}

/**
 * The `connect()` options of a compiled connection: files read now, so a missing or unreadable
 * one is a `BusConfigError` naming the file (never its content) before anything connects.
 */
export function natsConnectOptions(c: CompiledNatsConnection): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = { servers: c.servers };
  if (c.user !== undefined) {
    out.user = c.user;
    if (c.password !== undefined) out.pass = c.password;
  }
  if (c.token !== undefined) out.token = c.token;
  if (c.nkeyFile !== undefined) {
    const seed = readSecretFile(c.nkeyFile, 'nkey seed').trim();
    out.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (c.credsFile !== undefined) out.authenticator = credsAuthenticator(new TextEncoder().encode(readSecretFile(c.credsFile, 'creds')));
  if (c.caFile !== undefined || c.certFile !== undefined) {
    out.tls = {
      ...(c.caFile !== undefined ? { ca: readSecretFile(c.caFile, 'CA certificate') } : {}),
      ...(c.certFile !== undefined ? { cert: readSecretFile(c.certFile, 'client certificate') } : {}),
      ...(c.keyFile !== undefined ? { key: readSecretFile(c.keyFile, 'client key') } : {}),
    };
  }
  return out;
}

/**
 * The connection as environment variables for a child process (`spawn(…, {env})`): credentials
 * travel by environment, never on a command line where `ps` shows them.
 */
export function natsConnectionEnv(options: NatsConnectionOptions): Record<string, string> {
  const env: Record<string, string> = {};
  if (options.servers !== undefined) env[NATS_ENV.servers] = Array.isArray(options.servers) ? options.servers.join(',') : options.servers;
  for (const field of FIELDS) {
    const v = options[field];
    if (v !== undefined && v !== '') env[NATS_ENV[field]] = v;
  }
  return env;
}

/** The servers for a message: passwords and tokens in URLs hidden. */
export function describeServers(servers: string | readonly string[]): string {
  return redact(typeof servers === 'string' ? servers : servers.join(', '));
}

/** How to authenticate, for the hint of a refused connection. */
export const NATS_AUTH_HINT =
  'give credentials by environment (NATS_USER + NATS_PASSWORD, NATS_TOKEN, NATS_NKEY=seed file or NATS_CREDS=creds file; NATS_CA / NATS_CERT / NATS_KEY for TLS) or the matching --nats-* flags';

/**
 * Connects with the compiled connection plus the caller's own `connect()` settings (timeouts,
 * reconnects). A refusal of the credentials is a `BusAuthError` with the hint; no server is a
 * `BusUnavailableError`; both name the servers redacted. A message split over socket reads is
 * copied once (nats-parser.ts); a large payload goes to the socket without a copy (nats-writes.ts).
 */
export async function connectNats(c: CompiledNatsConnection, settings: Partial<ConnectionOptions>): Promise<NatsConnection> {
  const options = { ...settings, ...natsConnectOptions(c) };
  parseSplitMessagesOnce();
  writeLargePayloadsAsTheyAre();
  try {
    return await connect(options);
  } catch (cause) {
    if (isAuthRefusal(cause)) {
      throw new BusAuthError(`the NATS server at ${describeServers(c.servers)} refused the connection (${redactedMessage(cause).toLowerCase()}): ${NATS_AUTH_HINT}`, { cause });
    }
    if (/certificate|self.signed|tls|ssl/i.test(errorMessage(cause))) {
      throw new BusAuthError(`TLS with the NATS server at ${describeServers(c.servers)} failed: ${redactedMessage(cause)} (${TLS_HINT})`, { cause });
    }
    if (c.caFile !== undefined || c.certFile !== undefined) {
      // A server that wants a client certificate closes the handshake: the client sees a timeout.
      throw new BusUnavailableError(`cannot connect to NATS at ${describeServers(c.servers)} over TLS: ${redactedMessage(cause)} (is it up? ${TLS_HINT})`, { cause });
    }
    throw new BusUnavailableError(`cannot connect to NATS at ${describeServers(c.servers)}: ${redactedMessage(cause)}. Start a server with JetStream (nats-server -js) or set NATS_URL.`, { cause });
  }
}

/**
 * Closes a NATS connection without nats.js's close trace. Its `close()` keeps
 * `new Error('close trace').stack` (where the connection was closed from, for its own messages);
 * with source maps on (tsx, `--enable-source-maps`) formatting that stack parses the maps of the
 * files on it: 10–20 ms of an operator process's CPU at its end, for a trace nothing here reads.
 * The trace is made synchronously, before `close()` first waits, so no frames are taken then.
 */
export function closeWithoutTrace(nc: NatsConnection): Promise<void> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return nc.close();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

const TLS_HINT = 'check NATS_CA (the CA that signed the server), and NATS_CERT / NATS_KEY when the server verifies clients';

/** The server refused the credentials (or there were none and it wants some). */
export function isAuthRefusal(error: unknown): boolean {
  if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError) return true;
  return /authorization violation|authentication (expired|timeout)|user authentication/i.test(errorMessage(error));
}

function errorMessage(error: unknown): string {
  const own = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` ${error.cause.message}` : '';
  return own + cause;
}

function toServers(value: string | string[]): string[] {
  const list = (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new BusConfigError('servers is empty: give a NATS URL such as nats://127.0.0.1:4222 (or set NATS_URL)');
  return list;
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new BusConfigError(`cannot read the NATS ${what} file ${path} (${reason})`, { cause });
  }
}
