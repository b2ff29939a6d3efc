import { describe, expect, it } from 'vitest';
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
