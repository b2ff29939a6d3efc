import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

/** A bench script run with `args`: its exit code and what it wrote. */
async function bench(script: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', `tools/bench/${script}`, ...args], { cwd: repo });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout, err: failed.stderr };
  }
}

describe('bench scripts - command line', () => {
  it('an unknown option or a missing value: what was wrong and the usage, exit 2, no stack trace', async () => {
    for (const args of [['--bogus'], ['--records']]) {
      const r = await bench('engine.ts', ...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^error: (Unknown option '--bogus'|Option '--records <value>' argument missing)/);
      expect(r.err).toContain('usage: npx tsx tools/bench/engine.ts [options]');
      expect(r.err).toContain('--records <value> (default 1000000)');
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it('--help lists the options with their defaults and runs nothing', async () => {
    const r = await bench('nexmark.ts', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--events <value> (default 500000)');
    expect(r.out).toContain('--no-sandbox\n');
    expect(r.out).not.toContain('events per CPU second');
  });
});
