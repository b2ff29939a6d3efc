/**
 * Connectors written inline in a services file's sources and sinks run beside the embedded
 * dataflow (`ssdk run`), on its bus: POSTed lines in through a webhook, through a service,
 * out to an HTTP endpoint.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { freePort, until, writeServicesFile } from '@ssdk/testing';
import { openTestSession } from './session.testkit.ts';

describe('inline connectors', () => {
  it('inline connectors - a webhook source and an http-sink run with the embedded dataflow', async () => {
    const hook = await freePort();
    const received: unknown[] = [];
    const target = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(...(JSON.parse(body) as unknown[]));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', () => resolve()));
    const port = (target.address() as { port: number }).port;
    const lines: string[] = [];
    const s = await openTestSession(
      `apiVersion: 0.5.0
meta: {name: shout, namespace: examples, version: 0.1.0}
config: {isolation: native}
topics:
  lines: {schema: {value: {type: string}}}
  loud: {schema: {value: {type: string}}}
services:
  shout:
    sources:
      - type: topic
        id: lines
        connector:
          meta: {name: lines-in, type: http-source}
          http: {mode: webhook, listen: "127.0.0.1:${hook}", split: lines}
    transforms:
      - operator: map
        run: |
          function shout(line: string): string { return line.toUpperCase(); }
    sinks:
      - type: topic
        id: loud
        connector:
          meta: {name: loud-out, type: http-sink}
          http: {endpoint: "http://127.0.0.1:${port}/", body: array}
`,
      { isolation: 'native', connectors: { log: (l) => lines.push(l) } },
    );
    try {
      await until('the webhook', () => lines.some((l) => l.includes('webhook listening')), 30_000, () => lines.join('\n'));
      const res = await fetch(`http://127.0.0.1:${hook}/`, { method: 'POST', body: 'hello there\ngeneral kenobi\n' });
      expect(res.status).toBe(200);
      await until('the loud lines at the endpoint', () => received.length === 2, 30_000, () => lines.join('\n'));
      expect(received.sort()).toEqual(['GENERAL KENOBI', 'HELLO THERE']);
    } finally {
      await s.close();
      target.close();
    }
  }, 120_000);
});

describe('ssdk connector run', () => {
  it('ssdk connector run - a services file needs --connector NAME, and says which it has', async () => {
    const { main } = await import('./main.ts');
    const { bufferIo } = await import('./io.ts');
    const { dir, file } = await writeServicesFile(`apiVersion: 0.5.0
meta: {name: pass, namespace: examples, version: 0.1.0}
topics:
  a: {schema: {value: {type: string}}}
  b: {schema: {value: {type: string}}}
services:
  pass:
    sources:
      - {type: topic, id: a, connector: {meta: {name: a-in, type: mqtt-source}, mqtt: {url: "mqtt://127.0.0.1:1", topic: a}}}
    transforms:
      - operator: map
        run: |
          function same(v: string): string { return v; }
    sinks:
      - {type: topic, id: b}
`);
    const io = bufferIo(dir);
    expect(await main(['connector', 'run', file], io)).toBe(2);
    expect(io.stderr()).toContain('give --connector NAME: ' + file + ' has the connectors `a-in`');
    const io2 = bufferIo(dir);
    expect(await main(['connector', 'run', file, '--connector', 'b-out'], io2)).toBe(2);
    expect(io2.stderr()).toContain('has no connector `b-out`: its connectors are `a-in`');
  });
});
