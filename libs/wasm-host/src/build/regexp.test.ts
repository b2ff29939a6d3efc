import { describe, expect, it } from 'vitest';
import { FunctionCompileError } from '@ssdk/functions';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDataflow } from '@ssdk/plan';
import { loadServicesFile } from '@ssdk/spec';
import { TEST_COMPONENT_CACHE } from '../testing/fixture.ts';
import { buildDataflow } from './build.ts';
import { lowerUnicodePropertyEscapes } from './regexp.ts';

describe('wasm-host - Unicode property escapes for the sandbox', () => {
  it('wasm-host - `\\p{…}` literals become code point classes that match the same strings', async () => {
    const js = 'const isAlnum = (w) => /^[\\p{L}\\p{N}]+$/u.test(w); const half = 6 / 2; const plain = /a\\/b/g;';
    const out = await lowerUnicodePropertyEscapes(js);
    expect(out).not.toMatch(/\\p\{/);
    expect(out).toContain('const half = 6 / 2; const plain = /a\\/b/g;');
    const isAlnum = new Function(`${out}; return isAlnum;`)() as (w: string) => boolean;
    for (const w of ['Straße', 'naïve2', 'δέκα', '北京', 'x1']) expect(isAlnum(w)).toBe(true);
    for (const w of ['a b', 'a-b', '', '!']) expect(isAlnum(w)).toBe(false);
  });

  it('wasm-host - code without property escapes is left as it is', async () => {
    const js = 'export const f = (s) => /\\d+/u.test(s);';
    expect(await lowerUnicodePropertyEscapes(js)).toBe(js);
  });
});

describe('wasm-host - sandboxed functions that fail to load speak of the user\'s code', () => {
  it('wasm-host - a top-level throw is a build error at the services file\'s line and column, and nothing is left to run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-load-'));
    const file = join(dir, 'services.yaml');
    await writeFile(
      file,
      `apiVersion: 0.6.0
meta: {name: loads, namespace: test, version: 0.1.0}
topics:
  words: {schema: {value: {type: string}}}
  kept: {schema: {value: {type: string}}}
services:
  keep:
    sources: [{type: topic, id: words}]
    transforms:
      - operator: filter
        run: |
          const table = JSON.parse('{broken');
          function isWord(w: string): boolean {
            return table[w] === undefined;
          }
    sinks: [{type: topic, id: kept}]
`,
    );
    const { dataflow } = await loadServicesFile(file);
    const stateDir = join(dir, '.ssdk');
    const err = await buildDataflow({ dataflow, graph: checkDataflow(dataflow).graph, stateDir, componentCache: TEST_COMPONENT_CACHE }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionCompileError);
    expect((err as FunctionCompileError).location).toEqual({ file, line: 12, col: 30 });
    expect((err as Error).message).toMatch(/^.*services\.yaml:12:30: SyntaxError: JSON\.parse: .* \(while loading the sandboxed functions\)$/);
    expect((await readdir(join(stateDir, 'build'))).filter((f) => f.endsWith('.functions.js'))).toEqual([]);
  }, 300_000);
});
