import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The planner service's entry point, as a container starts it: configured by the environment.
const exec = promisify(execFile);
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

async function planner(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', tsx, main, ...args], { timeout: 30_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

describe('planner main', () => {
  it('planner main - --help lists its environment and exits 0 without starting', async () => {
    const r = await planner('--help');
    expect(r.out).toContain('Usage: ssdk planner');
    for (const name of ['NATS_URL', 'DATABASE_URL', 'SSDK_SUBJECT_PREFIX', 'SSDK_CONTROL_SCHEMA']) expect(r.out).toContain(name);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('planner main - an argument is a usage error (exit 2), not a planner started with it ignored', async () => {
    const r = await planner('--nats', 'nats://elsewhere:4222');
    expect(r.code).toBe(2);
    expect(r.err).toContain('the planner is configured by the environment');
  });
});
