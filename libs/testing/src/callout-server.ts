/**
 * A local HTTP server for `ctx.http` tests: real sockets, on a port the caller picks (each
 * helper of a shared machine has its own range). It runs on a thread of its own: a native
 * function's `ctx.http` blocks the test's main thread while it waits for the answer. Routes:
 * - `/echo`: 200 with `{method, path, body, header}` (`header`: the request's `x-probe` header)
 * - `/slow?ms=N`: answers after N ms
 * - `/big?bytes=N`: N bytes of `x`
 * - `/flaky?fail=N&id=ID`: 503 for the first N requests of ID, then 200 `ok after N`
 * - `/moved`: 302 to `/echo`
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

export interface CalloutServer {
  readonly url: string;
  /** Requests seen so far, by path. */
  hits(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const SERVER = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const hits = {};
const flaky = new Map();
const server = createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://localhost');
  hits[url.pathname] = (hits[url.pathname] || 0) + 1;
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    switch (url.pathname) {
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ method: req.method, path: url.pathname + url.search, body, header: req.headers['x-probe'] || null }));
      case '/slow':
        return void setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms') || 1000));
      case '/big':
        return res.end('x'.repeat(Number(url.searchParams.get('bytes') || 0)));
      case '/flaky': {
        const id = url.searchParams.get('id') || '';
        const seen = (flaky.get(id) || 0) + 1;
        flaky.set(id, seen);
        if (seen <= Number(url.searchParams.get('fail') || 0)) {
          res.writeHead(503);
          return res.end('try again');
        }
        return res.end('ok after ' + (seen - 1));
      }
      case '/moved':
        res.writeHead(302, { location: '/echo' });
        return res.end();
      default:
        res.writeHead(404);
        res.end('no such route');
    }
  });
});
server.on('error', (e) => parentPort.postMessage({ error: String(e.message) }));
server.listen(workerData.port, '127.0.0.1', () => parentPort.postMessage({ listening: true }));
parentPort.on('message', (m) => {
  if (m === 'hits') parentPort.postMessage({ hits });
  if (m === 'close') { server.closeAllConnections(); server.close(() => process.exit(0)); }
});
`;

export async function startCalloutServer(port: number): Promise<CalloutServer> {
  const worker = new Worker(SERVER, { eval: true, workerData: { port } });
  const [first] = (await once(worker, 'message')) as [{ listening?: boolean; error?: string }];
  if (first.error) {
    await worker.terminate();
    throw new Error(`the callout server cannot listen on 127.0.0.1:${port}: ${first.error}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async hits() {
      worker.postMessage('hits');
      const [m] = (await once(worker, 'message')) as [{ hits: Record<string, number> }];
      return m.hits;
    },
    async close() {
      worker.postMessage('close');
      await once(worker, 'exit');
    },
  };
}
