/**
 * Just enough of the PostgreSQL wire protocol (v3) to check a server and create or drop a test
 * schema: startup, trust / cleartext / md5 / SCRAM-SHA-256 authentication, optional TLS, simple
 * queries. It exists so this lib needs neither `pg` (only libs/state may import it) nor
 * `@ssdk/state` (whose tests use this lib). Not a general client: no results beyond row counts.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  sslmode: string;
}

/** A server-side error (with its SQLSTATE) or a connection failure (with the socket's code). */
export class PgWireError extends Error {
  override name = 'PgWireError';
  readonly code: string | undefined;
  constructor(message: string, code?: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export function parseConnectionString(connectionString: string): PgTarget {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch (cause) {
    throw new PgWireError('not a postgres:// connection string', undefined, { cause });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new PgWireError(`not a postgres:// connection string: ${url.protocol}`);
  }
  const socketHost = url.searchParams.get('host');
  return {
    host: socketHost ?? (decodeURIComponent(url.hostname) || 'localhost'),
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || process.env.PGUSER || 'postgres',
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username) || 'postgres',
    sslmode: url.searchParams.get('sslmode') ?? 'disable',
  };
}

/** Runs the statements in order on one connection; rejects with the first error. */
export async function pgExec(connectionString: string, statements: string[], timeoutMs = 3_000): Promise<void> {
  const target = parseConnectionString(connectionString);
  const session = await PgSession.open(target, timeoutMs);
  try {
    for (const sql of statements) await session.query(sql);
  } finally {
    session.end();
  }
}

type Message = { type: string; body: Buffer };

class PgSession {
  #socket: Socket;
  #buffer = Buffer.alloc(0);
  #queue: Message[] = [];
  #waiting: { resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#listen(socket);
  }

  static async open(target: PgTarget, timeoutMs: number): Promise<PgSession> {
    let socket = await connectSocket(target, timeoutMs);
    const timer = setTimeout(() => socket.destroy(new PgWireError(`no answer from ${target.host}:${target.port} within ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
    try {
      if (target.sslmode !== 'disable' && !target.host.startsWith('/')) socket = await startTls(socket, target);
      const session = new PgSession(socket);
      await session.#startup(target);
      return session;
    } catch (error) {
      socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async query(sql: string): Promise<void> {
    this.#send('Q', cstring(sql));
    let error: Error | undefined;
    for (;;) {
      const m = await this.#next();
      if (m.type === 'E') error ??= errorFrom(m.body);
      if (m.type === 'Z') break;
    }
    if (error) throw error;
  }

  end(): void {
    if (!this.#socket.destroyed) this.#socket.end(frame('X', Buffer.alloc(0)));
  }

  async #startup(target: PgTarget): Promise<void> {
    const params = Buffer.concat([
      cstring('user'), cstring(target.user),
      cstring('database'), cstring(target.database),
      cstring('application_name'), cstring('ssdk-testing'),
      Buffer.from([0]),
    ]);
    const header = Buffer.alloc(8);
    header.writeInt32BE(8 + params.length, 0);
    header.writeInt32BE(196608, 4); // protocol 3.0
    this.#socket.write(Buffer.concat([header, params]));
    let scram: Scram | undefined;
    for (;;) {
      const m = await this.#next();
      if (m.type === 'E') throw errorFrom(m.body);
      if (m.type === 'Z') return;
      if (m.type !== 'R') continue; // ParameterStatus, BackendKeyData, notices
      const code = m.body.readInt32BE(0);
      const password = () => {
        if (target.password === undefined) throw new PgWireError(`the server asks a password for user "${target.user}"; put it in the connection string`, '28P01');
        return target.password;
      };
      if (code === 0) continue;
      if (code === 3) this.#send('p', cstring(password()));
      else if (code === 5) {
        const inner = md5(password() + target.user);
        this.#send('p', cstring('md5' + md5(Buffer.concat([Buffer.from(inner), m.body.subarray(4, 8)]))));
      } else if (code === 10) {
        const mechanisms = m.body.subarray(4).toString('utf8').split('\0');
        if (!mechanisms.includes('SCRAM-SHA-256')) throw new PgWireError(`unsupported SASL mechanisms: ${mechanisms.join(', ')}`);
        scram = new Scram(password());
        const first = Buffer.from(scram.clientFirst());
        const length = Buffer.alloc(4);
        length.writeInt32BE(first.length, 0);
        this.#send('p', Buffer.concat([cstring('SCRAM-SHA-256'), length, first]));
      } else if (code === 11) {
        this.#send('p', Buffer.from(scram!.clientFinal(m.body.subarray(4).toString('utf8'))));
      } else if (code === 12) {
        scram!.verifyServer(m.body.subarray(4).toString('utf8'));
      } else throw new PgWireError(`unsupported authentication method ${code}`);
    }
  }

  #send(type: string, body: Buffer): void {
    this.#socket.write(frame(type, body));
  }

  #listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 5) {
        const length = this.#buffer.readInt32BE(1);
        if (this.#buffer.length < 1 + length) break;
        this.#push({ type: String.fromCharCode(this.#buffer[0]!), body: this.#buffer.subarray(5, 1 + length) });
        this.#buffer = this.#buffer.subarray(1 + length);
      }
    });
    const fail = (error: Error) => {
      this.#failure ??= error;
      this.#waiting?.reject(this.#failure);
      this.#waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new PgWireError('the server closed the connection', 'ECONNRESET')));
  }

  #push(message: Message): void {
    if (this.#waiting) {
      this.#waiting.resolve(message);
      this.#waiting = undefined;
    } else this.#queue.push(message);
  }

  #next(): Promise<Message> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }
}

function connectSocket(target: PgTarget, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.host.startsWith('/')
      ? netConnect({ path: `${target.host}/.s.PGSQL.${target.port}` })
      : netConnect({ host: target.host, port: target.port });
    const timer = setTimeout(() => socket.destroy(new PgWireError(`connect to ${target.host}:${target.port} timed out`, 'ETIMEDOUT')), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function startTls(socket: Socket, target: PgTarget): Promise<Socket> {
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80877103, 4);
  socket.write(request);
  const answer = await new Promise<string>((resolve, reject) => {
    socket.once('data', (b: Buffer) => resolve(String.fromCharCode(b[0]!)));
    socket.once('error', reject);
  });
  if (answer !== 'S') {
    if (target.sslmode === 'prefer' || target.sslmode === 'allow') return socket;
    throw new PgWireError(`the server at ${target.host}:${target.port} does not accept TLS (sslmode=${target.sslmode})`);
  }
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername: target.host, rejectUnauthorized: target.sslmode.startsWith('verify') }, () => resolve(tls as unknown as Socket));
    tls.once('error', reject);
  });
}

/** SCRAM-SHA-256 (RFC 7677) client side; PostgreSQL ignores the user name in it. */
export class Scram {
  readonly #password: string;
  readonly #nonce: string;
  readonly #user: string;
  #clientFirstBare = '';
  #authMessage = '';
  #saltedPassword: Buffer = Buffer.alloc(0);

  constructor(password: string, nonce = randomBytes(18).toString('base64'), user = '*') {
    this.#password = password;
    this.#nonce = nonce;
    this.#user = user;
  }

  clientFirst(): string {
    this.#clientFirstBare = `n=${this.#user},r=${this.#nonce}`;
    return `n,,${this.#clientFirstBare}`;
  }

  clientFinal(serverFirst: string): string {
    const attrs = new Map(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
    const nonce = attrs.get('r') ?? '';
    if (!nonce.startsWith(this.#nonce)) throw new PgWireError('SCRAM: the server nonce does not extend ours');
    this.#saltedPassword = pbkdf2Sync(this.#password.normalize('NFKC'), Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i')), 32, 'sha256');
    const clientKey = hmac(this.#saltedPassword, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    this.#authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(createHash('sha256').update(clientKey).digest(), this.#authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verifyServer(serverFinal: string): void {
    const expected = hmac(hmac(this.#saltedPassword, 'Server Key'), this.#authMessage);
    const got = Buffer.from(serverFinal.replace(/^v=/, '').split(',')[0] ?? '', 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new PgWireError('SCRAM: the server signature does not match');
  }
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function md5(input: string | Buffer): string {
  return createHash('md5').update(input).digest('hex');
}

function cstring(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

function frame(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function errorFrom(body: Buffer): PgWireError {
  const fields = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const end = body.indexOf(0, i + 1);
    fields.set(String.fromCharCode(body[i]!), body.subarray(i + 1, end).toString('utf8'));
    i = end + 1;
  }
  return new PgWireError(fields.get('M') ?? 'PostgreSQL error', fields.get('C'));
}
