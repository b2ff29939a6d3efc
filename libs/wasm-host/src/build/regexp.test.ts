import { describe, expect, it } from 'vitest';
import { FunctionCompileError } from '@ssdk/functions';
import { inUserCode } from './build.ts';
import { bundleGuest } from './bundle.ts';
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

describe('wasm-host - a failed component build speaks of the user\'s code', () => {
  it('wasm-host - `guest.js:LINE:COL` in componentize\'s error becomes the services file\'s line and column', async () => {
    const origin = { file: '/df/services.yaml', line: 20, col: 11 };
    const code = 'function isWord(w: string): boolean {\n  return /^[a-z]+$/.test(w);\n}';
    const bundle = await bundleGuest({ functions: [{ id: 's.is-word', code: { kind: 'inline', code, exportName: 'isWord', origin } }], root: '/df', exportFlush: false, name: 'guest' });
    const lines = bundle.js.split('\n');
    const line = lines.findIndex((l) => l.includes('/^[a-z]+$/')) + 1;
    const col = lines[line - 1]!.indexOf('/^[a-z]+$/') + 1;
    // The message componentize-js gives when StarlingMonkey rejects a pattern (seen with `\p{L}`).
    const failure = new Error(`Failed to initialize component (wizer):\nException while evaluating top-level script\nguest.js:${line}:${col} SyntaxError: invalid class property name in regular expression:\nguest.js:${line}:${col} ^[a-z]+$`);
    const err = inUserCode(failure, bundle, '/df');
    expect(err).toBeInstanceOf(FunctionCompileError);
    expect((err as FunctionCompileError).location).toEqual({ file: '/df/services.yaml', line: 21, col: 20 });
    expect((err as Error).message).toBe('/df/services.yaml:21:20: SyntaxError: invalid class property name in regular expression: (while building the sandboxed component)');
  });
});
