import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;

async function run(argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('cli', () => {
  it('cli - lists every command with an example', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/validate\s+Check services files/);
    expect(r.out).toMatch(/plan\s+Show the physical plan/);
  });

  it('cli - every command has --help with usage, options and an example', async () => {
    const overview = (await run(['--help'])).out;
    const names = [...overview.split('Commands:')[1]!.split('\n\n')[0]!.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!);
    expect(names).toEqual(expect.arrayContaining(['validate', 'plan', 'run', 'test']));
    for (const name of names) {
      const r = await run([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: ssdk ${name}`);
      expect(r.out).toContain('Examples:');
      expect(r.out).toMatch(new RegExp(`^  ssdk ${name} `, 'm'));
    }
  });

  it('cli - an unknown command is a usage error with a suggestion', async () => {
    const r = await run(['valdate', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command `valdate` (did you mean `validate`?)');
  });

  it('cli - an unknown flag is a usage error, not a stack trace', async () => {
    const r = await run(['plan', 'x.yaml', '--formt', 'json']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ssdk plan: error: Unknown option '--formt'/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('cli - validate without a file says what is missing', async () => {
    const r = await run(['validate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('missing argument: ssdk validate FILE...');
  });

  it('cli - a missing file is reported at its path with exit 2', async () => {
    const r = await run(['validate', 'no/such/services.yaml']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^no\/such\/services\.yaml:1:1: error: /m);
  });

  it('cli - plan rejects an unknown format', async () => {
    const r = await run(['plan', 'examples/word-count/services.yaml', '--format', 'svg']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown format `svg`: use one of text, json, dot, mermaid');
  });

  it('cli - the installed binary validates a broken file with exit 2 and file:line:col, no stack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-cli-'));
    const file = join(dir, 'services.yaml');
    await writeFile(file, 'apiVersion: 0.5.0\nmeta:\n  name: x\n  namespace: y\n  version: 0.1.0\nservices:\n  s:\n    sourcse: []\n');
    const bin = join(repo, 'bin/ssdk.js');
    const err = await promisify(execFile)(process.execPath, [bin, 'validate', file]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain(`${file}:8:5: error: `);
    expect(err?.stderr).not.toMatch(/\n\s+at /);
  });
  it('cli - a command that plans a broken file (compose) prints every error at FILE:LINE:COL, exit 2, no stack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-cli-'));
    const file = join(dir, 'services.yaml');
    const text = (await readFile(join(repo, 'examples/word-count/services.yaml'), 'utf8')).replace('id: sentences', 'id: sentencez').replace(/(type: topic\n\s+id: )top-words/, '$1top-wordz');
    await writeFile(file, text);
    const item = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle));
    const r = await run(['compose', file, '--output', join(dir, 'docker-compose.yml')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}:${item('sentencez')}:9: error: `);
    expect(r.err).toContain(`${file}:${item('top-wordz')}:9: error: `);
    expect(r.err).toContain('ssdk compose: error: 2 errors in the services file');
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
