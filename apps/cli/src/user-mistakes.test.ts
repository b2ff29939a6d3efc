/**
 * A new user's slips with the commands the README shows first (`validate`, `run`, `test`): each is
 * one message naming what to fix, exit 2 (the user's input), never a green run or a stack trace.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const WORD_COUNT = join(repo, 'examples/word-count/services.yaml');

async function run(argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('cli - a new user’s mistakes', () => {
  it('cli - `ssdk run --input` with a misspelt topic is exit 2 naming the topic meant, before anything runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const input = join(dir, 'sentences.jsonl');
    await writeFile(input, '"the river flows"\n');
    const r = await run(['run', WORD_COUNT, '--input', `sentence=${input}`, '--output-dir', join(dir, 'out'), '--until-idle', '--ephemeral', '--native']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ssdk run: error: unknown topic `sentence` for input (did you mean `sentences`?)');
    expect(r.err).not.toMatch(/SSDK_DEBUG|\n\s+at /);
    await expect(readFile(join(dir, 'out', 'words.jsonl'))).rejects.toThrow();
  });

  it('cli - `ssdk test --filter` that matches no case is exit 2 listing the cases, not "0 passed"', async () => {
    const r = await run(['test', WORD_COUNT, '--filter', 'golden rn', '--native']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no case of');
    expect(r.err).toContain('`golden run — totals, top words per window, late words`');
    expect(r.out).not.toContain('0 passed');
  });

  it('cli - `ssdk validate` says the functions are type-checked once the file’s own errors are fixed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const text = (await readFile(WORD_COUNT, 'utf8'))
      .replace('- operator: filter', '- operator: filtr')
      .replace('counts.push({ word: String(word), count });', 'counts.push({ wrd: String(word), count });');
    await writeFile(join(dir, 'services.yaml'), text);
    const broken = await run(['validate', join(dir, 'services.yaml')]);
    expect(broken.code).toBe(2);
    expect(broken.err).toContain('unknown operator `filtr`');
    expect(broken.err).toContain('services.yaml: 1 error; the functions are type-checked once these are fixed');
    // Once fixed, the function's own mistake shows, and the summary has nothing to add.
    await writeFile(join(dir, 'services.yaml'), text.replace('- operator: filtr', '- operator: filter'));
    const next = await run(['validate', join(dir, 'services.yaml')]);
    expect(next.code).toBe(2);
    expect(next.err).toContain("'wrd' does not exist in type 'WordCount'");
    expect(next.err).toMatch(/services\.yaml: 1 error\n$/);
  });
});
