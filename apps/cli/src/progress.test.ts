import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { UnitMetricsSnapshot } from '@ssdk/runtime';
import { bufferIo, type CliIo } from './io.ts';
import { main } from './main.ts';
import { formatProgress, progressWanted, startProgress, type ProgressScope } from './progress.ts';

const repo = new URL('../../../', import.meta.url).pathname;

const unit = (operator: string, counts: Partial<UnitMetricsSnapshot> = {}): UnitMetricsSnapshot => ({
  operator,
  state: 'running',
  recordsIn: 0,
  recordsOut: 0,
  failed: 0,
  late: 0,
  batches: 0,
  commits: 0,
  batchLatencyMs: { p50: 0, p99: 0, max: 0 },
  ...counts,
});
const scope: ProgressScope = { entries: new Set(['split']), exits: new Set(['top']) };
const terminalIo = (columns?: number): CliIo & { stderr(): string } => ({ ...bufferIo(), terminal: { columns: () => columns } });

describe('cli - progress line', () => {
  it('cli - progress: rate over the last interval, records into the inputs and out of the outputs, the lowest window watermark', () => {
    const before = { at: 1_000, metrics: [unit('split', { recordsIn: 1_000 }), unit('top', { recordsIn: 9_000, recordsOut: 2 })] };
    const now = {
      at: 1_500,
      metrics: [
        unit('split', { recordsIn: 251_000, failed: 1 }),
        unit('count', { recordsIn: 99, watermark: Date.UTC(2025, 0, 6, 9, 0, 20) }),
        unit('top', { recordsIn: 1_500_000, recordsOut: 12, watermark: Date.UTC(2025, 0, 6, 9, 0, 0), late: 3 }),
      ],
    };
    expect(formatProgress(scope, now, before, 0)).toBe('500,000 records/s · in 251,000 · out 12 · watermark 2025-01-06T09:00:00Z · 1 dead letter · 3 late · 1.5 s');
  });

  it('cli - progress: from the start without an earlier sample; no watermark without window operators; end of input', () => {
    const first = { at: 2_000, metrics: [unit('split', { recordsIn: 500, failed: 2 })] };
    expect(formatProgress(scope, first, undefined, 1_000)).toBe('500 records/s · in 500 · out 0 · 2 dead letters · 1.0 s');
    const ended = { at: 2_000, metrics: [unit('top', { watermark: Number.POSITIVE_INFINITY })] };
    expect(formatProgress(scope, ended, undefined, 1_000)).toContain('watermark end of input');
    const early = { at: 2_000, metrics: [unit('top', { watermark: Number.NEGATIVE_INFINITY })] };
    expect(formatProgress(scope, early, undefined, 1_000)).toContain('watermark not yet');
  });

  it('cli - progress: cut to the terminal width so that it never wraps', () => {
    const line = formatProgress(scope, { at: 1_000, metrics: [unit('split', { recordsIn: 123_456_789 })] }, undefined, 0, 30);
    expect(line).toHaveLength(29);
    expect(line.endsWith('…')).toBe(true);
  });

  it('cli - progress: shown on a terminal, not when piped; --progress and --no-progress decide otherwise', () => {
    expect(progressWanted({}, bufferIo())).toBe(false);
    expect(progressWanted({}, terminalIo(80))).toBe(true);
    expect(progressWanted({ progress: true }, bufferIo())).toBe(true);
    expect(progressWanted({ 'no-progress': true }, terminalIo(80))).toBe(false);
  });

  it('cli - progress: redraws one line in place and erases it once when stopped', async () => {
    const io = terminalIo(200);
    let t = 0;
    let n = 0;
    const line = startProgress(io, scope, () => [unit('split', { recordsIn: (n += 100) })], { enabled: true, intervalMs: 5, now: () => (t += 100) });
    await new Promise((r) => setTimeout(r, 40));
    line.stop();
    line.stop();
    const err = io.stderr();
    const draws = err.split('\r').filter(Boolean);
    expect(draws.length).toBeGreaterThan(2);
    expect(draws.slice(0, -1).every((d) => /^[\d,]+ records\/s · in [\d,]+ · out 0 · 0 dead letters · [\d.]+ s\u001b\[K$/.test(d))).toBe(true);
    expect(draws.at(-1)).toBe('\u001b[K');
    expect(err.includes('\n')).toBe(false);
  });

  it('cli - progress: nothing at all when not enabled', async () => {
    const io = bufferIo();
    const line = startProgress(io, scope, () => [], { enabled: false, intervalMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    line.stop();
    expect(io.stderr()).toBe('');
  });

  it('cli - progress: `ssdk run --until-idle` writes no status line when stderr is not a terminal', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ssdk-progress-'));
    const ex = join(repo, 'examples/word-count');
    const io = bufferIo(repo);
    const code = await main(['run', join(ex, 'services.yaml'), '--input', `sentences=${join(ex, 'input/sentences.jsonl')}`, '--records', '--output-dir', out, '--until-idle', '--ephemeral', '--native'], io);
    expect(code).toBe(0);
    expect(io.stderr()).toMatch(/^ran \d+ operators in \d+ ms/m);
    expect(io.stderr()).not.toMatch(/\r|\u001b\[K|records\/s/);
    expect((await readFile(join(out, 'top-words.jsonl'), 'utf8')).length).toBeGreaterThan(0);
  });
});
