import { runEntryPoint } from '@ssdk/testing';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The planner service's entry point, as a container starts it: configured by the environment.
const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const planner = (...args: string[]) => runEntryPoint(main, args);

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
