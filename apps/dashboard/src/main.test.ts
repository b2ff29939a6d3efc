import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The service's entry point as it is started: its own process, its own argument parsing.
const exec = promisify(execFile);
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

async function dashboard(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', tsx, main, ...args], { timeout: 30_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

describe('dashboard main', () => {
  it('dashboard main - --help prints the usage with every option and exits 0', async () => {
    const r = await dashboard('--help');
    expect(r.err).toBe('');
    expect(r.out).toContain('Usage: ssdk-dashboard FILE --scrape URL[,URL...]');
    for (const option of ['--scrape', '--port', '--host', '--nats', '--postgres', '--subject-prefix', '--partitions', '--schema']) expect(r.out).toContain(option);
    expect(r.code).toBe(0);
  });

  it('dashboard main - an unknown flag or no file is a usage error: exit 2, a hint, no stack', async () => {
    const unknown = await dashboard('--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("ssdk-dashboard: error: Unknown option '--bogus'");
    expect(unknown.err).toContain('hint: run `ssdk-dashboard --help`');
    expect(unknown.err).not.toMatch(/^\s+at /m);
    const none = await dashboard();
    expect(none.code).toBe(2);
    expect(none.err).toContain('no services file');
  });
});
