/**
 * Crash test of the embedded runtime, on the distributed crash test's input and golden
 * (word-count.testkit.ts): `ssdk run --until-idle` of the word-count example is killed with
 * SIGKILL three times at random moments, each time run again with `--resume` on the same input
 * file; the last run ends. Its sinks (top words per window, late events) and committed state
 * must equal the reference exactly, by the same verdict as the distributed crash test
 * (`expectGolden`): the embedded runtime commits at consistent cuts through the partitioned
 * checkpoint store, with what its sinks got up to the cut; a resumed run publishes that again and
 * skips what was committed (issue 14, part 2).
 *
 * Size: SSDK_CRASH_SENTENCES (default 20 000).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectGolden, FILE, generateInput, reference, ROOT } from './word-count.testkit.ts';

const SENTENCES = Number(process.env['SSDK_CRASH_SENTENCES'] ?? 20_000);
const BIN = join(ROOT, 'bin/ssdk.js');
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Runs `ssdk run`; with `killAfterMs`, kills it with SIGKILL that long after it started processing. */
function ssdkRun(args: string[], killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let armed = false;
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      // The status line shows once records flow: the kill falls inside the processing.
      if (killAfterMs !== undefined && !armed && /records\/s/.test(stderr)) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('embedded crash (kill -9 and --resume)', () => {
  it(`run - killed three times mid-run (${SENTENCES} sentences) and resumed on the same input: state equals golden`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-embedded-crash-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const input = generateInput(SENTENCES, 8);
    const golden = reference(input);
    const lines = [...input.windows.flat(), ...input.late].map((s) => JSON.stringify({ value: s.value, timestamp: s.timestamp }));
    await writeFile(join(dir, 'in.jsonl'), lines.join('\n') + '\n');
    const args = [FILE, '--native', '--input', `sentences=${join(dir, 'in.jsonl')}`, '--records', '--output-dir', join(dir, 'out'), '--until-idle', '--dump-state', '--progress', '--state-dir', join(dir, '.ssdk')];

    const kills: string[] = [];
    for (let k = 0; k < 3; k++) {
      const at = Math.floor(Math.random() * 1_500);
      const r = await ssdkRun(k === 0 ? args : [...args, '--resume'], at);
      kills.push(r.signal === 'SIGKILL' ? `killed ${at} ms in` : `ended before the kill (${r.code})`);
    }
    const last = await ssdkRun([...args, '--resume']);
    console.log(`embedded crash test: ${SENTENCES} sentences; ${kills.join('; ')}`);
    expect(last.code, last.stderr).toBe(0);
    expect(kills.filter((k) => k.startsWith('killed')).length).toBeGreaterThan(0);
    const totals = JSON.parse(await readFile(join(dir, 'out', 'state', 'word-totals.json'), 'utf8')) as Record<string, number>;
    const sink = async (topic: string) => (await readFile(join(dir, 'out', `${topic}.jsonl`), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
    expectGolden({ topWords: await sink('top-words'), late: await sink('top-words.late-events'), totals }, golden);
  }, 600_000);
});
