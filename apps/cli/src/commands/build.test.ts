import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bufferIo } from '../io.ts';
import { main } from '../main.ts';

const repo = new URL('../../../../', import.meta.url).pathname;
const examples = (await readdir(join(repo, 'examples'), { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(join(repo, 'examples', d.name, 'services.yaml')))
  .map((d) => d.name)
  .sort();

// Components are shared by content hash with other test files and earlier runs: a clean
// machine builds each once.
beforeAll(() => {
  process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');
});

async function ssdk(cwd: string, ...argv: string[]) {
  const io = bufferIo(cwd);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

async function copyExample(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `ssdk-build-${name}-`));
  await cp(join(repo, 'examples', name), dir, { recursive: true, filter: (src) => !src.includes('.ssdk') });
  return dir;
}

describe('ssdk build', () => {
  it.each(examples)('ssdk build - `%s`: generate, build, and an unchanged second build is a cache hit (its time is bench:edit\'s, not a test\'s)', async (name) => {
    const dir = await copyExample(name);
    const gen = await ssdk(dir, 'generate');
    expect(gen.err).toBe('');
    expect(gen.code).toBe(0);
    const first = await ssdk(dir, 'build');
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^(built |cached) [0-9a-f]{16} /m);
    const manifest = JSON.parse(await readFile(join(dir, '.ssdk', 'build', 'manifest.json'), 'utf8')) as { components: Record<string, { file: string }>; steps: Record<string, { component?: string }> };
    for (const c of Object.values(manifest.components)) expect(existsSync(join(dir, '.ssdk', 'build', c.file))).toBe(true);
    expect(Object.values(manifest.steps).every((s) => s.component !== undefined)).toBe(true);

    const second = await ssdk(dir, 'build');
    expect(second.code).toBe(0);
    expect(second.out).not.toMatch(/^built /m);
    expect(second.out).toMatch(/\(0 built, \d+ cached\)/);
  }, 300_000);

  it('ssdk build - code that does not compile is reported at its line of the services file, exit 2', async () => {
    const dir = await copyExample('word-count');
    const file = join(dir, 'services.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('return word;', 'return word +;'));
    const line = text.split('\n').findIndex((l) => l.includes('return word;')) + 1;
    const r = await ssdk(dir, 'build');
    expect(r.code).toBe(2);
    // The code check (TypeScript) finds it before the bundler would.
    expect(r.err).toMatch(new RegExp(`^services\\.yaml:${line}:\\d+: error: count-words\\.key-by-word: Expression expected \\(TS1109\\)$`, 'm'));
  });

  it('ssdk build - a function importing a Node.js module is refused at build time, naming the file and line', async () => {
    const dir = await copyExample('seed-pipeline');
    const fn = join(dir, 'functions', 'key-by-sku.ts');
    await writeFile(fn, `import { readFileSync } from 'node:fs';\n${await readFile(fn, 'utf8')}\nexport const leak = () => readFileSync('/etc/passwd');\n`);
    const r = await ssdk(dir, 'build');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^functions\/key-by-sku\.ts:1:\d+: error: /m);
    expect(r.err).toContain('`node:fs` is a Node.js module: sandboxed functions have no file system');
  });

  it('ssdk build - --state-dir moves the outputs', async () => {
    const dir = await copyExample('wat-filter');
    const r = await ssdk(dir, 'build', '--state-dir', join(dir, 'elsewhere'));
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'elsewhere', 'build', 'manifest.json'))).toBe(true);
    expect(existsSync(join(dir, '.ssdk'))).toBe(false);
  });
});
