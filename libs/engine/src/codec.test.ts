import type { NamedType, TypeRef } from '@ssdk/spec';
import { describe, expect, it } from 'vitest';
import { compileCodec, SchemaError } from './codec.ts';

const pos = { file: 'f', line: 1, col: 1 };
const prim = (name: 'u8' | 'u32' | 'i8' | 'f64' | 'string' | 'bool' | 'bytes' | 'u64'): TypeRef => ({ kind: 'primitive', name });
const named = (name: string, type: TypeRef): NamedType => ({ name, type, pos });
const carEvent: TypeRef = {
  kind: 'object',
  properties: [
    { name: 'car', type: prim('string'), optional: false, pos },
    { name: 'speed', type: prim('f64'), optional: false, pos, serializeAs: 'speedKmh', deserializeFrom: 'speed_kmh' },
    { name: 'lane', type: prim('u8'), optional: true, pos },
  ],
};
const types = { 'car-event': named('car-event', carEvent) };
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('engine - value codec', () => {
  it('engine - decodes JSON, applies deserialize renames, checks types', () => {
    const c = compileCodec({ kind: 'named', name: 'CarEvent' }, types);
    expect(c.decode(bytes('{"car":"a","speed_kmh":88.5}'))).toEqual({ car: 'a', speed: 88.5 });
    expect(text(c.encode({ car: 'a', speed: 88.5, lane: 2 }))).toBe('{"car":"a","speedKmh":88.5,"lane":2}');
  });

  it.each<[string, TypeRef, string, string]>([
    ['malformed JSON', prim('string'), '{"a":', 'not valid JSON'],
    ['a missing field', carEvent, '{"car":"a"}', 'speed_kmh: missing required field'],
    ['a wrong type', carEvent, '{"car":1,"speed_kmh":1}', 'car: expected string, got the number 1'],
    ['an out-of-range integer', carEvent, '{"car":"a","speed_kmh":1,"lane":300}', 'lane: 300 is out of range for u8 (0 to 255)'],
    ['a fraction for an integer', prim('u32'), '1.5', 'expected u32 (an integer), got the number 1.5'],
    ['a negative unsigned', prim('u32'), '-1', '-1 is out of range for u32'],
    ['an unsafe u64', prim('u64'), '18446744073709551615', 'out of range for u64'],
    ['a list item', { kind: 'list', items: prim('i8') }, '[1, 2, 200]', '[2]: 200 is out of range for i8'],
    ['an unknown enum variant', { kind: 'enum', tagging: 'externally-tagged', variants: [{ name: 'Up', type: null, pos }] }, '"Down"', 'unknown variant "Down" (expected one of Up)'],
  ])('engine - rejects %s with where and what', (_n, type, json, reason) => {
    const c = compileCodec(type, types);
    expect(() => c.decode(bytes(json))).toThrow(SchemaError);
    expect(() => c.decode(bytes(json))).toThrow(reason);
  });

  it('engine - options, lists, key-values and enums round-trip', () => {
    const t: TypeRef = {
      kind: 'object',
      properties: [
        { name: 'tags', type: { kind: 'list', items: prim('string') }, optional: false, pos },
        { name: 'note', type: { kind: 'option', value: prim('string') }, optional: true, pos },
        { name: 'dir', type: { kind: 'enum', tagging: 'externally-tagged', variants: [{ name: 'Up', type: null, pos }, { name: 'By', type: prim('u8'), pos }] }, optional: false, pos },
      ],
    };
    const c = compileCodec(t, types);
    expect(c.decode(bytes('{"tags":["a"],"dir":{"By":3}}'))).toEqual({ tags: ['a'], dir: { By: 3 } });
    expect(c.decode(bytes('{"tags":[],"note":"n","dir":"Up"}'))).toEqual({ tags: [], note: 'n', dir: 'Up' });
    expect(c.check({ tags: [], dir: { By: 256 } })).toBe('dir.By: 256 is out of range for u8 (0 to 255)');
  });

  it('engine - untagged enums take the first variant that fits', () => {
    const t: TypeRef = { kind: 'enum', tagging: 'untagged', variants: [{ name: 'N', type: prim('f64'), pos }, { name: 'S', type: prim('string'), pos }] };
    const c = compileCodec(t, types);
    expect(c.decode(bytes('2'))).toBe(2);
    expect(c.decode(bytes('"x"'))).toBe('x');
    expect(() => c.decode(bytes('true'))).toThrow('matches no variant of N, S');
  });

  it('engine - raw topics carry strings or bytes as they are', () => {
    expect(compileCodec(prim('string'), types, 'raw').decode(bytes('plain text, no quotes'))).toBe('plain text, no quotes');
    const b = compileCodec(prim('bytes'), types, 'raw');
    expect(b.decode(new Uint8Array([0, 255]))).toEqual(new Uint8Array([0, 255]));
    expect(() => compileCodec(prim('string'), types, 'raw').decode(new Uint8Array([0xff, 0xfe]))).toThrow('not valid UTF-8');
  });

  it('engine - bytes inside JSON travel as base64', () => {
    const c = compileCodec(prim('bytes'), types);
    expect(text(c.encode(new Uint8Array([1, 2, 3])))).toBe('"AQID"');
    expect(c.decode(bytes('"AQID"'))).toEqual(new Uint8Array([1, 2, 3]));
  });
});
