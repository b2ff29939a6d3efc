/**
 * Asynchronous JetStream publishing: a message is a plain NATS publish whose reply subject is
 * one token under a single inbox subscription, and JetStream's ack (`{stream, seq, duplicate}`
 * or `{error}`) resolves it. One subscription and one timeout sweep serve every message, instead
 * of a request object, a timer and captured stacks per message (`js.publish`): it takes about a
 * third of the client CPU per message, which is what bounds one-record messages.
 *
 * An ack that does not come within the timeout (a lost server, a dropped connection) fails the
 * message with a `TimeoutError`: whether it was stored is unknown, so the caller republishes it
 * with the same `Nats-Msg-Id` and JetStream drops it if it was.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { NoRespondersError, TimeoutError, createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { BusClosedError } from './errors.ts';

export interface JetStreamAck {
  seq: number;
  duplicate: boolean;
}

interface Pending {
  resolve(ack: JetStreamAck): void;
  reject(error: Error): void;
  deadline: number;
}

interface AckReply {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code: number; err_code?: number; description?: string };
}

export class JetStreamPublisher {
  private readonly nc: NatsConnection;
  private readonly timeoutMs: number;
  private readonly inbox = createInbox();
  private readonly pending = new Map<number, Pending>();
  private sub: Subscription | undefined;
  private next = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.nc = nc;
    this.timeoutMs = timeoutMs;
  }

  /** Publishes one message; it is on its way when this returns (the ack comes later). */
  send(subject: string, data: Uint8Array, msgId: string | undefined, userHeaders: Record<string, string> | undefined): Promise<JetStreamAck> {
    if (this.closed) return Promise.reject(new BusClosedError('the bus is closed'));
    this.sub ??= this.nc.subscribe(`${this.inbox}.*`, { callback: (_error, msg) => this.onReply(msg) });
    const id = this.next++;
    let h;
    if (msgId !== undefined || userHeaders) {
      h = natsHeaders();
      if (userHeaders) for (const [k, v] of Object.entries(userHeaders)) h.set(k, v);
      if (msgId !== undefined) h.set('Nats-Msg-Id', msgId);
    }
    const acked = new Promise<JetStreamAck>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: Date.now() + this.timeoutMs });
    });
    try {
      this.nc.publish(subject, data, h ? { reply: `${this.inbox}.${id}`, headers: h } : { reply: `${this.inbox}.${id}` });
    } catch (error) {
      this.pending.delete(id);
      return Promise.reject(error);
    }
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(10, Math.min(250, this.timeoutMs / 4)));
    return acked;
  }

  close(): void {
    this.closed = true;
    this.sub?.unsubscribe();
    this.fail(() => new BusClosedError('the bus was closed before JetStream acknowledged the message'));
  }

  private onReply(msg: Msg): void {
    const id = Number(msg.subject.slice(this.inbox.length + 1));
    const p = this.pending.get(id);
    if (!p) return; // timed out already: the republish has its own reply subject
    this.pending.delete(id);
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      p.reject(new NoRespondersError(msg.subject));
      return;
    }
    let reply: AckReply;
    try {
      reply = msg.json<AckReply>();
    } catch (error) {
      p.reject(new Error(`JetStream sent an ack that is not JSON`, { cause: error }));
      return;
    }
    if (reply.error) {
      p.reject(new JetStreamApiError({ code: reply.error.code, err_code: reply.error.err_code ?? 0, description: reply.error.description ?? 'publish refused' }));
    } else if (typeof reply.seq !== 'number') {
      p.reject(new Error('JetStream sent an ack without a sequence'));
    } else {
      p.resolve({ seq: reply.seq, duplicate: reply.duplicate === true });
    }
  }

  /** Ids grow with time, so the oldest, first to expire, come first in the map. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.deadline > now) break;
      this.pending.delete(id);
      p.reject(new TimeoutError());
    }
    if (this.pending.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private fail(error: () => Error): void {
    for (const p of this.pending.values()) p.reject(error());
    this.pending.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
