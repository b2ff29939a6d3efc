import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../io.ts';
import { main } from '../main.ts';

async function run(argv: string[], cwd: string) {
  const io = bufferIo(cwd);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('cli - init', () => {
  it('init - a new folder gets a dataflow that validates, whose test cases pass and whose input runs', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ssdk-init-'));
    const made = await run(['init', 'my-flow'], cwd);
    expect(made.code).toBe(0);
    expect(made.err).toBe('wrote my-flow/services.yaml, my-flow/services.test.yaml, my-flow/input/sentences.jsonl\n');
    expect(made.out).toContain('  ssdk test my-flow/services.yaml\n');
    const file = join(cwd, 'my-flow/services.yaml');
    expect(await readFile(file, 'utf8')).toContain('  name: my-flow\n');
    const valid = await run(['validate', file], cwd);
    expect(valid.out).toContain('valid — local/my-flow@0.1.0');
    expect(valid.code).toBe(0);
    const tested = await run(['test', file, '--native'], cwd);
    expect(tested.out).toContain('1 passed, 0 failed');
    expect(tested.code).toBe(0);
    const ran = await run(['run', file, '--input', `sentences=${join(cwd, 'my-flow/input/sentences.jsonl')}`, '--output-dir', join(cwd, 'out'), '--until-idle', '--ephemeral', '--native'], cwd);
    expect(ran.code).toBe(0);
    expect((await readFile(join(cwd, 'out/words.jsonl'), 'utf8')).split('\n').slice(0, 3)).toEqual(['"the"', '"river"', '"flows"']);
  });

  it('init - overwrites nothing: a folder holding one of its files is exit 2 and left as it was', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ssdk-init-'));
    await writeFile(join(cwd, 'services.yaml'), 'mine\n');
    const r = await run(['init'], cwd);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${join(cwd, 'services.yaml')} already exists: nothing was written`);
    expect(await readFile(join(cwd, 'services.yaml'), 'utf8')).toBe('mine\n');
    await expect(readFile(join(cwd, 'services.test.yaml'))).rejects.toThrow();
  });

  it('init - a folder name that is no dataflow name asks for --name', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ssdk-init-'));
    const r = await run(['init', '42'], cwd);
    expect(r.code).toBe(2);
    expect(r.err).toContain('give one with --name');
    expect((await run(['init', '42', '--name', 'orders'], cwd)).code).toBe(0);
  });
});
