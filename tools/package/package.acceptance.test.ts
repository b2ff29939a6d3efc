import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackage } from './build.ts';

// `npm run test:acceptance:package`: the packed tarball installed with npm into an empty folder
// gives a working `npx ssdk` there, on a dataflow copied outside the repository, with functions
// sandboxed (the default: the guest sources and the worker must be in the package).
const exec = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;
const example = join(repo, 'examples', 'word-count');
let folder: string;

async function npx(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await exec('npx', ['--no-install', ...args], {
      cwd: folder,
      // The component cache the other tests share: the package builds the same component (same
      // content hash) as the workspace, so a warm cache proves that too.
      env: { ...process.env, SSDK_COMPONENT_CACHE: process.env['SSDK_COMPONENT_CACHE'] ?? join(tmpdir(), 'ssdk-test-components') },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

describe('package', () => {
  beforeAll(async () => {
    const { tarball } = await buildPackage();
    folder = await mkdtemp(join(tmpdir(), 'ssdk-package-'));
    await writeFile(join(folder, 'package.json'), JSON.stringify({ name: 'uses-ssdk', private: true }));
    await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: folder, maxBuffer: 64 * 1024 * 1024 });
    await cp(example, join(folder, 'word-count'), { recursive: true, filter: (src) => !src.includes('.ssdk') });
  }, 600_000);

  it('package - installs compiled JavaScript with its docs, and no TypeScript loader', async () => {
    const installed = join(folder, 'node_modules', 'ssdk');
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { private?: boolean; exports: Record<string, string>; dependencies: Record<string, string> };
    expect(manifest.private).toBeUndefined();
    expect(manifest.exports['.']).toBe('./lib/cli.js');
    expect(Object.keys(manifest.dependencies)).not.toContain('tsx');
    expect(existsSync(join(folder, 'node_modules', 'tsx'))).toBe(false);
    // TypeScript only where it is data: the sources every WebAssembly guest is built from.
    expect((await readdir(join(installed, 'lib'))).filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect((await readdir(join(installed, 'docs'))).sort()).toEqual(expect.arrayContaining(['architecture.md', 'cli.md', 'decisions.md', 'services-file.md']));
    expect(await readFile(join(installed, 'README.md'), 'utf8')).not.toContain('../shared');
  });

  it('package - `npx ssdk validate` checks a dataflow outside the repository', async () => {
    const r = await npx('ssdk', 'validate', 'word-count/services.yaml');
    expect(r.err).toBe('');
    expect(r.out).toContain('word-count/services.yaml: valid');
    expect(r.code).toBe(0);
    const bad = await npx('ssdk', 'validate', 'nowhere/services.yaml');
    expect(bad.code).toBe(2);
  });

  it('package - `npx ssdk run --until-idle` reproduces the golden outputs, functions sandboxed', async () => {
    const out = join(folder, 'out');
    await rm(out, { recursive: true, force: true });
    const r = await npx('ssdk', 'run', 'word-count/services.yaml', '--input', 'sentences=word-count/input/sentences.jsonl', '--records', '--output-dir', 'out', '--until-idle');
    expect(r.err).toContain('ran 2 operators');
    expect(r.code).toBe(0);
    expect(await readFile(join(out, 'top-words.jsonl'), 'utf8')).toBe(await readFile(join(example, 'expected/top-words.jsonl'), 'utf8'));
    const sorted = async (p: string) => (await readFile(p, 'utf8')).trim().split('\n').sort();
    expect(await sorted(join(out, 'words.jsonl'))).toEqual(await sorted(join(example, 'expected/words.jsonl')));
    expect(await sorted(join(out, 'top-words.late-events.jsonl'))).toEqual(await sorted(join(example, 'expected/top-words.late-events.jsonl')));
  }, 300_000);

  it('package - the distributed dashboard and the other programs start from the package', async () => {
    const dashboard = await npx('ssdk-dashboard', '--help');
    expect(dashboard.out).toContain('Usage: ssdk-dashboard');
    expect(dashboard.code).toBe(0);
    const up = await npx('ssdk', 'up', '--help');
    expect(up.code).toBe(0);
  });
});
