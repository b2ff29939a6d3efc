import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileNative, FunctionCompileError } from './native.ts';

const inline = `function splitSentence(sentence: string): string[] {
  const words: string[] = sentence.split(' ');
  if (words.length > 3) {
    throw new Error('too long');
  }
  return words;
}`;

describe('functions - native (trusted) functions', () => {
  it('functions - compiles inline TypeScript and calls it', async () => {
    const f = await compileNative({ id: 'wc.split-sentence', code: { inline, exportName: 'splitSentence' }, resolveDir: tmpdir() });
    expect(f.fn('a b c')).toEqual(['a', 'b', 'c']);
  });

  it('functions - an error points at the line of the services file', async () => {
    const f = await compileNative({
      id: 'wc.split-sentence',
      code: { inline, exportName: 'splitSentence' },
      origin: { file: 'services.yaml', line: 40, col: 11 },
      resolveDir: tmpdir(),
    });
    let err: unknown;
    try {
      f.fn('a b c d');
    } catch (e) {
      err = e;
    }
    // `new Error` is on the code's 4th line at column 11: file line 40 + 3, column 11 + 10.
    expect(f.locate(err)).toEqual({ file: 'services.yaml', line: 43, col: 21 });
  });

  it('functions - loads a module function by its export name and maps errors into the module', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-fn-'));
    await mkdir(join(dir, 'functions'));
    await writeFile(join(dir, 'functions', 'helper.ts'), 'export const twice = (n: number): number => n * 2;\n');
    await writeFile(
      join(dir, 'functions', 'double-it.ts'),
      "import { twice } from './helper.js';\n\nexport function doubleIt(n: number): number {\n  if (n < 0) throw new RangeError('negative');\n  return twice(n);\n}\n",
    );
    const f = await compileNative({ id: 'x.double-it', code: { module: 'functions/double-it.ts', exportName: 'doubleIt' }, resolveDir: dir });
    expect(f.fn(21)).toBe(42);
    let err: unknown;
    try {
      f.fn(-1);
    } catch (e) {
      err = e;
    }
    expect(f.locate(err)).toEqual({ file: join(dir, 'functions', 'double-it.ts'), line: 4, col: 20 });
  });

  it('functions - a syntax error is a compile error at the user line', async () => {
    const p = compileNative({
      id: 'wc.bad',
      code: { inline: 'function bad(x: string): string {\n  return x +;\n}', exportName: 'bad' },
      origin: { file: 'services.yaml', line: 10, col: 9 },
      resolveDir: tmpdir(),
    });
    await expect(p).rejects.toThrow(FunctionCompileError);
    await expect(p).rejects.toMatchObject({ location: { file: 'services.yaml', line: 11 } });
  });

  it('functions - a missing export is reported by name', async () => {
    await expect(
      compileNative({ id: 'wc.nope', code: { inline: 'function a() { return 1 }', exportName: 'a' }, resolveDir: tmpdir() }),
    ).resolves.toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-fn-'));
    await writeFile(join(dir, 'm.ts'), 'export const notAFunction = 1;\n');
    await expect(compileNative({ id: 'x.m', code: { module: 'm.ts', exportName: 'missing' }, resolveDir: dir })).rejects.toThrow(
      'x.m: `missing` is not an exported function',
    );
  });
});
