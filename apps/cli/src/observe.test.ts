import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver } from '@ssdk/testing';
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
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const before = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = receiver.url;
    try {
      const r = await ssdk('run', FILE, '--native', '--ephemeral', '--input', INPUT, '--records', '--output-dir', await outDir(), '--until-idle');
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/^tracing on: spans go to http:\/\/127\.0\.0\.1:\d+\/v1\/traces$/m);
    } finally {
      if (before === undefined) delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
      else process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = before;
    }
    // Embedded runs fuse stateless steps: two units, each its own service.
    expect([...new Set(receiver.spans.map((s) => s.service))].sort()).toEqual(['count-words.split-sentence', 'top-words.use-record-time']);
    expect(receiver.spans.length).toBeGreaterThan(2);
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
