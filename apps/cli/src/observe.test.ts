import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const FILE = 'examples/word-count/services.yaml';
const INPUT = 'sentences=examples/word-count/input/sentences.jsonl';
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function ssdk(...argv: string[]) {
  const io = bufferIo();
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

async function outDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-observe-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('ssdk run tracing and --ui', () => {
  it('run - OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on: one service per operator at that endpoint', async () => {
    const services = new Set<string>();
    let spans = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const doc = JSON.parse(body) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: unknown[] }> }> };
        for (const rs of doc.resourceSpans) {
          services.add(rs.resource.attributes.find((a) => a.key === 'service.name')!.value.stringValue!);
          for (const ss of rs.scopeSpans) spans += ss.spans.length;
        }
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const before = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const r = await ssdk('run', FILE, '--native', '--ephemeral', '--input', INPUT, '--records', '--output-dir', await outDir(), '--until-idle');
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/^tracing on: spans go to http:\/\/127\.0\.0\.1:\d+\/v1\/traces$/m);
    } finally {
      if (before === undefined) delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
      else process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = before;
    }
    // Embedded runs fuse stateless steps: two units, each its own service.
    expect([...services].sort()).toEqual(['count-words.split-sentence', 'top-words.use-record-time']);
    expect(spans).toBeGreaterThan(2);
  }, 60_000);

  it('run - --ui prints the dashboard URL', async () => {
    const r = await ssdk('run', FILE, '--native', '--ephemeral', '--ui', '--input', INPUT, '--records', '--output-dir', await outDir(), '--until-idle');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^dashboard at http:\/\/127\.0\.0\.1:\d+\/$/m);
  }, 60_000);

  it('run - --ui-port alone is a usage error', async () => {
    const r = await ssdk('run', FILE, '--ui-port', '8080', '--input', INPUT, '--output-dir', 'x', '--until-idle');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--ui-port goes with --ui/);
  });
});
