/**
 * A TCP proxy to a real server, for tests of what happens when it goes away: `down()` cuts every
 * connection and refuses new ones until `up()`; `onClientBytes` sees what clients send (a test
 * can act at a given statement). It listens on a port the OS finds free unless `port` is set.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './private-nats.ts';

export class TcpProxy {
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly target: { host: string; port: number };
  private readonly onClientBytes: ((text: string) => void) | undefined;

  constructor(target: { host: string; port: number }, options: { onClientBytes?: (text: string) => void } = {}) {
    this.target = target;
    this.onClientBytes = options.onClientBytes;
  }

  /** A proxy to the server `url` names (`postgres://…` or `postgresql://…` without a port: 5432). */
  static to(url: string, options: { onClientBytes?: (text: string) => void } = {}): TcpProxy {
    const u = new URL(url);
    const port = Number(u.port || (u.protocol.startsWith('postgres') ? 5432 : NaN));
    if (!Number.isInteger(port)) throw new Error(`TcpProxy.to: ${u.protocol}// URLs need a port, got ${url}`);
    return new TcpProxy({ host: u.hostname, port }, options);
  }

  /** `host:port` of the real server in `url` replaced by this proxy's (after `up()`). */
  via(url: string): string {
    const u = new URL(url);
    u.host = `127.0.0.1:${this.port}`;
    return u.toString();
  }

  async up(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const seen = this.onClientBytes;
      if (seen) client.on('data', (chunk: Buffer) => seen(chunk.toString('latin1')));
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.server = server;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
