/**
 * The control channel of the distributed runtime: plain NATS request/reply and publish/subscribe
 * with JSON bodies, beside JetStream's topics. The planner serves `ssdk.planner.<verb>` on it;
 * clients (`ssdk deploy`, `ssdk status`, …) ask there; operator processes publish heartbeats on
 * it. Nothing here is durable: what must survive lives in PostgreSQL or a stream.
 */
import { PermissionViolationError, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { BusAuthError, BusError, BusUnavailableError } from './errors.ts';
import { closeWithoutTrace, compileNatsConnection, connectNats, type NatsConnectionOptions } from './nats-connection.ts';
import { isNoResponders, isTransientNatsError } from './retry.ts';
import { errorText } from './nats-reader.ts';

/** The connection (servers, credentials, TLS from the options or `NATS_*`), then the control channel's own. */
export interface ControlOptions extends NatsConnectionOptions {
  /** Connection name shown by the server's monitoring. */
  name?: string;
  /** @default 5000 */
  connectTimeoutMs?: number;
}

/** Nobody serves the subject of a request (e.g. no planner runs for this subject prefix). */
export class NoResponderError extends BusError {
  override name = 'NoResponderError';
  readonly code = 'bus-no-responder';
  readonly domain = 'external';
  override readonly retryable = true;
  readonly subject: string;
  constructor(subject: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.subject = subject;
  }
}

/** A responder answered with an error: its message, code and domain travel in the reply. */
export class RemoteError extends BusError {
  override name = 'RemoteError';
  readonly code: string;
  readonly domain: 'user' | 'external' | 'internal';
  /** Whatever else the responder attached (e.g. diagnostics). */
  readonly details: unknown;
  constructor(message: string, code: string, domain: 'user' | 'external' | 'internal', details: unknown) {
    super(message);
    this.code = code;
    this.domain = domain;
    this.details = details;
  }
}

export interface ControlRequestOptions {
  /** How long to wait for the reply. @default 10000 */
  timeoutMs?: number;
}

export interface Served {
  stop(): Promise<void>;
}

export interface ControlConnection {
  /** Sends a JSON body and returns the JSON reply; a reply `{error: {...}}` throws `RemoteError`. */
  request<T = unknown>(subject: string, body: unknown, options?: ControlRequestOptions): Promise<T>;
  /**
   * Answers requests on `subject` (wildcards allowed) with what `handler` returns; a throw becomes
   * an error reply carrying the error's message, `code`, `domain` and `details`. Requests are
   * handled one at a time, in arrival order, so a handler never races itself. With `queue`,
   * several servers share the subject and each request goes to one of them.
   */
  serve(subject: string, handler: (body: unknown, subject: string) => Promise<unknown>, options?: { queue?: string }): Served;
  /** Fire and forget (heartbeats). */
  publish(subject: string, body: unknown): void;
  subscribe(subject: string, handler: (body: unknown, subject: string) => void): Served;
  close(): Promise<void>;
}

/** How long a request waits for its reply unless told otherwise. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 10_000;

export async function connectControl(options: ControlOptions = {}): Promise<ControlConnection> {
  const nc = await connectNats(compileNatsConnection(options), {
    name: options.name ?? 'ssdk control',
    timeout: options.connectTimeoutMs ?? 5_000,
    maxReconnectAttempts: -1,
    noAsyncTraces: true,
  });
  return new NatsControl(nc);
}

/** The permission violation behind a failed request (nats.js wraps it in a RequestError). */
function permissionViolation(error: unknown): PermissionViolationError | undefined {
  for (let e = error; e instanceof Error; e = e.cause) if (e instanceof PermissionViolationError) return e;
  return undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (body: unknown) => encoder.encode(JSON.stringify(body ?? null));
function decode(data: Uint8Array): unknown {
  if (data.byteLength === 0) return null;
  return JSON.parse(decoder.decode(data)) as unknown;
}

class NatsControl implements ControlConnection {
  private readonly nc: NatsConnection;
  private readonly subscriptions = new Set<Subscription>();

  constructor(nc: NatsConnection) {
    this.nc = nc;
  }

  async request<T>(subject: string, body: unknown, options: ControlRequestOptions = {}): Promise<T> {
    const data = encode(body);
    const limit = this.nc.info?.max_payload ?? 1024 * 1024;
    if (data.byteLength > limit) {
      throw new RemoteError(`the request to ${subject} is ${data.byteLength} bytes, over the NATS server's max_payload of ${limit}`, 'bus-payload-too-large', 'user', undefined);
    }
    let reply: Msg;
    try {
      reply = await this.nc.request(subject, data, { timeout: options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS });
    } catch (cause) {
      const denied = permissionViolation(cause);
      if (denied) {
        throw new BusAuthError(`the NATS server does not let these credentials ${denied.operation === 'publish' ? 'publish to' : 'subscribe to'} ${denied.subject}: ask with a role that may (docs/security.md)`, { cause });
      }
      if (isNoResponders(cause)) throw new NoResponderError(subject, `nothing answers on ${subject}`, { cause });
      if (isTransientNatsError(cause)) throw new BusUnavailableError(`no reply on ${subject} within ${options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS} ms: ${errorText(cause)}`, { cause });
      throw cause;
    }
    const answer = decode(reply.data) as { ok?: unknown; error?: { message: string; code?: string; domain?: string; details?: unknown } } | null;
    if (answer && typeof answer === 'object' && answer.error) {
      const e = answer.error;
      const domain = e.domain === 'user' || e.domain === 'external' ? e.domain : 'internal';
      throw new RemoteError(e.message, e.code ?? 'remote', domain, e.details);
    }
    return (answer as { ok: T } | null)?.ok as T;
  }

  serve(subject: string, handler: (body: unknown, subject: string) => Promise<unknown>, options: { queue?: string } = {}): Served {
    const sub = this.nc.subscribe(subject, options.queue ? { queue: options.queue } : {});
    this.subscriptions.add(sub);
    const done = (async () => {
      for await (const msg of sub) {
        let reply: unknown;
        try {
          reply = { ok: await handler(decode(msg.data), msg.subject) };
        } catch (err) {
          const e = err as { message?: string; code?: unknown; domain?: unknown; details?: unknown; diagnostics?: unknown };
          reply = {
            error: {
              message: e?.message ?? String(err),
              code: typeof e?.code === 'string' ? e.code : 'internal',
              domain: e?.domain === 'user' || e?.domain === 'external' ? e.domain : 'internal',
              ...(e?.details !== undefined ? { details: e.details } : {}),
            },
          };
        }
        if (msg.reply) msg.respond(encode(reply));
      }
    })();
    return {
      stop: async () => {
        this.subscriptions.delete(sub);
        await sub.drain().catch(() => {});
        await done;
      },
    };
  }

  publish(subject: string, body: unknown): void {
    // A heartbeat lost while the server is away is replaced by the next one.
    try {
      this.nc.publish(subject, encode(body));
    } catch {
      // closed or draining: nothing to tell
    }
  }

  subscribe(subject: string, handler: (body: unknown, subject: string) => void): Served {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          handler(decode(msg.data), msg.subject);
        } catch {
          // a malformed message is ignored: heartbeats are advisory
        }
      },
    });
    this.subscriptions.add(sub);
    return {
      stop: async () => {
        this.subscriptions.delete(sub);
        await sub.drain().catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    // What `nc.drain()` does, but its close would keep nats.js's close trace (`closeWithoutTrace`):
    // what this channel serves and hears finishes the messages it has, what was sent goes out.
    await Promise.all([...this.subscriptions].map((sub) => sub.drain().catch(() => {})));
    await this.nc.flush().catch(() => {});
    await closeWithoutTrace(this.nc).catch(() => {});
  }
}
