/**
 * The dashboard's HTTP server (node:http, no framework): the page, and the JSON it polls.
 *
 * - `GET /` the page (graph, live operator table, dead letters and late events, state browser, logs)
 * - `GET /api/overview` title, graph (and its SVG), states, the Jaeger URL
 * - `GET /api/metrics` per-operator numbers and the problem topics, with the time they were read
 * - `GET /api/state?state=NAME&key=KEY` one key of a state
 * - `GET /api/logs?limit=N` the latest function log lines
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphSvg } from './graph.ts';
import { dashboardPage } from './page.ts';
import type { DashboardSource } from './source.ts';

export interface DashboardOptions {
  source: DashboardSource;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** @default 127.0.0.1 (the dashboard reads state: keep it local unless asked) */
  host?: string;
  /** Jaeger's UI, for the links from each operator to its traces. @default JAEGER_URL, else http://localhost:16686 */
  jaegerUrl?: string;
}

export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

export async function startDashboard(o: DashboardOptions): Promise<DashboardServer> {
  const jaegerUrl = (o.jaegerUrl ?? process.env['JAEGER_URL'] ?? 'http://localhost:16686').replace(/\/+$/, '');
  const svg = renderGraphSvg(o.source.graph);
  const page = dashboardPage(o.source.title);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: err instanceof Error ? err.message : String(err) }));
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET') return send(res, 405, { error: 'only GET' });
    switch (url.pathname) {
      case '/':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(page);
        return;
      case '/api/overview':
        return send(res, 200, { title: o.source.title, mode: o.source.mode, graph: o.source.graph, svg, states: o.source.states, jaegerUrl });
      case '/api/metrics': {
        const [operators, problems] = await Promise.all([o.source.operators(), o.source.problems()]);
        return send(res, 200, { time: Date.now(), operators, problems });
      }
      case '/api/state': {
        const state = url.searchParams.get('state') ?? '';
        const key = url.searchParams.get('key') ?? '';
        if (!o.source.states.includes(state)) return send(res, 404, { error: `unknown state \`${state}\`: this dataflow has ${o.source.states.join(', ') || 'no state'}` });
        return send(res, 200, await o.source.lookup(state, key));
      }
      case '/api/logs': {
        const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
        return send(res, 200, { lines: o.source.logs ? await o.source.logs(limit) : [] });
      }
      default:
        return send(res, 404, { error: `no such page: ${url.pathname}` });
    }
  }
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new Error(`the dashboard port ${o.port} is in use`, { cause: e }) : e));
    server.listen(o.port ?? 0, host, () => resolve());
  });
  // The address really bound (0.0.0.0 says every interface), never a friendlier one.
  const bound = server.address() as AddressInfo;
  return {
    url: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  // Watermarks are ±Infinity at the edges: JSON has no Infinity.
  res.end(JSON.stringify(body, (_k, v: unknown) => (v === Infinity ? '+Infinity' : v === -Infinity ? '-Infinity' : v)));
}
