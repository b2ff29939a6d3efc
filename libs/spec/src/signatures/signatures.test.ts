import { describe, expect, test } from 'vitest';
import type { SourcePos } from '../model.ts';
import { detectLanguage } from './language.ts';
import { portedParams, tsSignatureText } from './port.ts';
import { readRustFunction } from './rust.ts';
import { readTsFunction, readTsFunctions } from './typescript.ts';

const at: SourcePos = { file: 'f.yaml', line: 3, col: 7 };

describe('TypeScript signatures', () => {
  test('spec - reads the name, the data parameters and the return type, leaving out ctx', () => {
    const fn = readTsFunction('function filterSentence(sentence: string, ctx: Ctx): boolean {\n  return sentence.length > 0;\n}', at);
    expect(fn).toEqual({
      name: 'filterSentence',
      exported: false,
      isDefault: false,
      signature: { params: [{ name: 'sentence', type: { kind: 'primitive', name: 'string' } }], returns: { kind: 'primitive', name: 'bool' } },
    });
  });

  test('spec - maps TypeScript annotations to model types', () => {
    const fn = readTsFunction(
      [
        'function f(',
        '  a: number, b: bigint, c: Uint8Array, d: string[], e: Array<Car>, f: Car | undefined,',
        '  g?: string, h: KeyValue<string, number>, i: null | Car, j: readonly string[], k: (string | null)[],',
        '  l: "a" | "b", m: string | number, n, o: ns.Thing, p: Promise<boolean>,',
        '): { key: string; value: CarEvent } { return { key: "", value: c } }',
      ].join('\n'),
      at,
    );
    const types = Object.fromEntries(fn?.signature.params.map((p) => [p.name, p.type]) ?? []);
    expect(types).toEqual({
      a: { kind: 'number' },
      b: { kind: 'primitive', name: 'i64' },
      c: { kind: 'primitive', name: 'bytes' },
      d: { kind: 'list', items: { kind: 'primitive', name: 'string' } },
      e: { kind: 'list', items: { kind: 'named', name: 'Car' } },
      f: { kind: 'option', value: { kind: 'named', name: 'Car' } },
      g: { kind: 'option', value: { kind: 'primitive', name: 'string' } },
      h: { kind: 'key-value', key: { kind: 'primitive', name: 'string' }, value: { kind: 'number' } },
      i: { kind: 'option', value: { kind: 'named', name: 'Car' } },
      j: { kind: 'list', items: { kind: 'primitive', name: 'string' } },
      k: { kind: 'list', items: { kind: 'option', value: { kind: 'primitive', name: 'string' } } },
      l: { kind: 'primitive', name: 'string' },
      m: { kind: 'unknown' },
      n: { kind: 'unknown' },
      o: { kind: 'named', name: 'ns.Thing' },
      p: { kind: 'primitive', name: 'bool' },
    });
    expect(fn?.signature.returns).toEqual({
      kind: 'key-value',
      key: { kind: 'primitive', name: 'string' },
      value: { kind: 'named', name: 'CarEvent' },
    });
  });

  test('spec - an object type literal becomes an object type; void and a missing annotation stay what they are', () => {
    const fn = readTsFunction('function f(v: { make: string; speed?: number }): void {}', at);
    expect(fn?.signature.params[0]?.type).toEqual({
      kind: 'object',
      properties: [
        { name: 'make', type: { kind: 'primitive', name: 'string' }, optional: false, pos: at },
        { name: 'speed', type: { kind: 'number' }, optional: true, pos: at },
      ],
    });
    expect(fn?.signature.returns).toEqual({ kind: 'void' });
    expect(readTsFunction('function g(x) { return x }', at)?.signature).toEqual({
      params: [{ name: 'x', type: { kind: 'unknown' } }],
      returns: { kind: 'unknown' },
    });
  });

  test('spec - default values, destructuring and generics do not confuse the parameter list', () => {
    const fn = readTsFunction('function f<T>({ a, b }: Pair, n: number = max(1, 2), m: Map<string, number>): T[] { return [] }', at);
    expect(fn?.signature.params.map((p) => p.name)).toEqual(['{ a , b }', 'n', 'm']);
    expect(fn?.signature.returns).toEqual({ kind: 'list', items: { kind: 'named', name: 'T' } });
  });

  test('spec - finds top-level declarations only, past braces in strings, templates, regexes and comments', () => {
    const code = [
      'import { helper } from "./helper";',
      '// function commented(x: string) {',
      'export function first(word: string): number {',
      '  const s = "}"; const t = `${"{"} ${`}`}`; const r = /\\{/g;',
      '  function inner(y: number): number { return y }',
      '  return inner(s.length + t.length) /* } */;',
      '}',
      'export default async function second(n: number): Promise<string> { return `${n}` }',
    ].join('\n');
    expect(readTsFunctions(code, at).map((d) => [d.name, d.exported, d.isDefault])).toEqual([
      ['first', true, false],
      ['second', true, true],
    ]);
  });

  test('spec - code without a function declaration has no signature', () => {
    expect(readTsFunction('const f = (x: string) => x.length > 3;', at)).toBeUndefined();
    expect(readTsFunction('return true', at)).toBeUndefined();
  });
});

describe('Rust signatures', () => {
  test('spec - reads a Rust function and maps its types', () => {
    expect(readRustFunction('fn is_speeding(car: Car) -> Result<bool> {\n  Ok(car.mph > 45)\n}')).toEqual({
      name: 'is_speeding',
      signature: { params: [{ name: 'car', type: { kind: 'named', name: 'Car' } }], returns: { kind: 'primitive', name: 'bool' } },
    });
    const fn = readRustFunction(
      '#[allow(unused)]\npub fn f<\'a>(mut word: &\'a str, n: usize, raw: Vec<u8>, xs: &[i32], m: HashMap<String, u32>) -> Result<Vec<String>, String> { todo!() }',
    );
    expect(fn?.signature).toEqual({
      params: [
        { name: 'word', type: { kind: 'primitive', name: 'string' } },
        { name: 'n', type: { kind: 'primitive', name: 'u64' } },
        { name: 'raw', type: { kind: 'primitive', name: 'bytes' } },
        { name: 'xs', type: { kind: 'list', items: { kind: 'primitive', name: 'i32' } } },
        { name: 'm', type: { kind: 'named', name: 'HashMap' } },
      ],
      returns: { kind: 'list', items: { kind: 'primitive', name: 'string' } },
    });
  });

  test('spec - a tuple is a key-value, unit is void, Option is an option', () => {
    const fn = readRustFunction('fn add_key(key: Option<String>, user: UserIn) -> Result<(Option<String>, UserOut)> { todo!() }');
    expect(fn?.signature.returns).toEqual({
      kind: 'key-value',
      key: { kind: 'option', value: { kind: 'primitive', name: 'string' } },
      value: { kind: 'named', name: 'UserOut' },
    });
    expect(readRustFunction('fn count(_w: String) -> Result<()> { Ok(()) }')?.signature.returns).toEqual({ kind: 'void' });
    expect(readRustFunction('fn flush() -> Result<Option<f64>> { Ok(None) }')?.signature).toEqual({
      params: [],
      returns: { kind: 'option', value: { kind: 'primitive', name: 'f64' } },
    });
  });

  test('spec - the TypeScript port drops a leading key parameter and uses TypeScript spellings', () => {
    const fn = readRustFunction('fn match_words(email: Option<String>, article_data: ArticleData) -> Result<Vec<NotifyEvent>> { todo!() }');
    if (fn === undefined) throw new Error('not read');
    expect(tsSignatureText(fn.name, portedParams(fn.signature, 'flat-map'), fn.signature.returns)).toBe(
      'function matchWords(articleData: ArticleData): NotifyEvent[]',
    );
    const ts = readRustFunction('fn assign_event_timestamp(_value: String, event_time: i64) -> Result<i64> { Ok(event_time) }');
    if (ts === undefined) throw new Error('not read');
    expect(tsSignatureText(ts.name, portedParams(ts.signature, 'assign-timestamp'), ts.signature.returns)).toBe(
      'function assignEventTimestamp(value: string, eventTime: number): number',
    );
  });

  test('spec - a keyed Rust result ports to a key that is always there, as a topic with a key schema needs', () => {
    const fn = readRustFunction('fn add_key(key: Option<String>, user: UserIn) -> Result<(Option<String>, UserOut)> { todo!() }');
    if (fn === undefined) throw new Error('not read');
    const text = tsSignatureText(fn.name, portedParams(fn.signature, 'map'), fn.signature.returns);
    expect(text).toBe('function addKey(user: UserIn): { key: string; value: UserOut }');
    // The port, read back, declares a `string` key (not an option), so it meets a topic's `string` key.
    expect(readTsFunction(`${text} { return { key: '', value: user } }`, at)?.signature.returns).toMatchObject({ kind: 'key-value', key: { kind: 'primitive', name: 'string' } });
  });
});

describe('language detection', () => {
  test('spec - Rust by syntax or by `lang`, TypeScript otherwise', () => {
    expect(detectLanguage('fn f(x: String) -> Result<bool> { Ok(true) }')).toBe('rust');
    expect(detectLanguage('pub fn f() {}')).toBe('rust');
    expect(detectLanguage('#[derive(Debug)]\nstruct S;')).toBe('rust');
    expect(detectLanguage('function f(x: string): boolean { return x === "fn g(" }')).toBe('typescript');
    expect(detectLanguage('export function f() {}')).toBe('typescript');
    expect(detectLanguage('x => x')).toBe('typescript');
    expect(detectLanguage('function f() {}', 'rust')).toBe('rust');
  });
});
