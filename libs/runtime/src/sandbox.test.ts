import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { isolationFromEnv } from './operator.ts';
import { buildComponents, unitRunsSandboxed } from './sandbox.ts';

const FILE = fileURLToPath(new URL('../../../examples/word-count/services.yaml', import.meta.url));
// The machine's component cache of the tests: word-count's component is built once per machine.
const CACHE = process.env['SSDK_COMPONENT_CACHE'] ?? join(tmpdir(), 'ssdk-test-components');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ssdk-sandbox-test-'));
  dirs.push(d);
  return d;
}

describe('runtime - sandbox', () => {
  it('runtime - a unit runs sandboxed unless the plan or the choice says native; a unit without functions never does', async () => {
    const { plan } = await planOrThrow(FILE);
    const op = plan.operators.find((o) => o.id === 'count-words.split-sentence')!;
    const native = { ...op, steps: op.steps.map((s) => ({ ...s, settings: { ...s.settings, isolation: 'native' as const } })) };
    const none = { ...op, steps: [] };
    expect([unitRunsSandboxed(op, 'plan'), unitRunsSandboxed(op, 'native'), unitRunsSandboxed(op, 'sandbox')]).toEqual([true, false, true]);
    expect([unitRunsSandboxed(native, 'plan'), unitRunsSandboxed(native, 'native'), unitRunsSandboxed(native, 'sandbox')]).toEqual([false, false, true]);
    expect([unitRunsSandboxed(none, 'plan'), unitRunsSandboxed(none, 'sandbox')]).toEqual([false, false]);
    expect([isolationFromEnv({}), isolationFromEnv({ SSDK_ISOLATION: 'native' }), isolationFromEnv({ SSDK_ISOLATION: 'sandbox' })]).toEqual(['plan', 'native', 'sandbox']);
    expect(() => isolationFromEnv({ SSDK_ISOLATION: 'wasm-ish' })).toThrow(/SSDK_ISOLATION takes plan, native or sandbox/);
  });

  it('runtime - a build waits while a live process holds the lock, and takes over one whose process is gone', async () => {
    const { dataflow } = await planOrThrow(FILE);
    const lines: string[] = [];
    const build = async (dir: string) => buildComponents({ dataflow, stateDir: dir, componentCache: CACHE, onBuild: (l) => lines.push(l) });

    // A holder that died (kill -9 mid-build): its lock is stale.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = await stateDir();
    await writeFile(join(stale, 'build.lock'), JSON.stringify({ host: hostname(), pid: dead, incarnation: 'gone' }));
    const first = await build(stale);
    expect(first.components.map((c) => c.kind)).toEqual(['javascript']);
    expect(existsSync(join(stale, 'build.lock'))).toBe(false);
    // (Another test's build may hold the shared cache's lock meanwhile: only the dead holder matters.)
    expect(lines).not.toContain(`waiting for process ${dead} to finish building the components`);

    // A live holder (the test runner's parent): the build waits until it lets go.
    const held = await stateDir();
    await writeFile(join(held, 'build.lock'), JSON.stringify({ host: hostname(), pid: process.ppid, incarnation: 'other' }));
    let done = false;
    const second = build(held).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(done).toBe(false);
    expect(lines).toContain(`waiting for process ${process.ppid} to finish building the components`);
    await rm(join(held, 'build.lock'));
    expect((await second).components.map((c) => c.hash)).toEqual(first.components.map((c) => c.hash));
  }, 120_000);
});
