import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workDirFor } from './componentize.ts';

describe('wasm-host - componentize work folder', () => {
  it('wasm-host - a folder whose path merely starts with the current directory\'s text moves to the temporary folder', async () => {
    const base = await mkdtemp(join(tmpdir(), 'ssdk-cwd-'));
    // Run from `<base>/rel` with the services file under `<base>/relwork/rt`: componentize-js would load `ork/rt/…`.
    const moved = await workDirFor(join(base, 'relwork', 'rt', '.ssdk', 'build', '.work-1'), join(base, 'rel'));
    expect(moved.startsWith(join(tmpdir(), 'ssdk-componentize-'))).toBe(true);
    // Inside the current directory, or elsewhere entirely, the folder stays.
    const inside = join(base, 'rel', 'rt', '.work-2');
    expect(await workDirFor(inside, join(base, 'rel'))).toBe(inside);
    const elsewhere = join(base, 'other', '.work-3');
    expect(await workDirFor(elsewhere, join(base, 'rel'))).toBe(elsewhere);
  });
});
