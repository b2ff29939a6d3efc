import { runEntryPoint } from '@ssdk/testing';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The service's entry point as it is started: its own process, its own argument parsing.
const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const dashboard = (...args: string[]) => runEntryPoint(main, args);

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
