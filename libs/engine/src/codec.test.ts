import type { NamedType, TypeRef } from '@ssdk/spec';
import { describe, expect, it } from 'vitest';
import { compileCodec, compileJsonReader, plainJsonString, quickerCopy, SchemaError, toJsonValue, wellFormed } from './codec.ts';
import { ownCopy } from './operator-logic.ts';

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

  it('engine - enum variants renamed on the wire (serialize/deserialize rename) are read and written by their wire names', () => {
    const t: TypeRef = {
      kind: 'enum',
      tagging: 'externally-tagged',
      variants: [
        { name: 'invoice_created', type: null, pos, serializeAs: 'invoice.created', deserializeFrom: 'invoice.created' },
        { name: 'paid', type: prim('u32'), pos, serializeAs: 'invoice.paid' },
        { name: 'plain', type: null, pos },
      ],
    };
    const c = compileCodec(t, {});
    expect(c.decode(bytes('"invoice.created"'))).toBe('invoice_created');
    expect(text(c.encode('invoice_created'))).toBe('"invoice.created"');
    // Only its deserialize name reads it.
    expect(() => c.decode(bytes('"invoice_created"'))).toThrow(SchemaError);
    // Without a deserialize rename, both its name and the name it is written with are read.
    expect(c.decode(bytes('{"invoice.paid":3}'))).toEqual({ paid: 3 });
    expect(c.decode(bytes('{"paid":3}'))).toEqual({ paid: 3 });
    expect(text(c.encode({ paid: 3 }))).toBe('{"invoice.paid":3}');
    expect(text(c.encode('plain'))).toBe('"plain"');
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
    // Bytes anywhere in a value that is not a scalar still go through the replacer.
    const any = compileCodec({ kind: 'unknown' } as TypeRef, types);
    expect(any.encodeText({ b: new Uint8Array([1, 2, 3]), list: [new Uint8Array([4])] })).toBe('{"b":"AQID","list":["BA=="]}');
    expect(any.encodeText([new Uint8Array([1])])).toBe('["AQ=="]');
  });

  it('engine - scalars are written as JSON writes them', () => {
    const cases: Array<[TypeRef, unknown]> = [
      [prim('string'), 'word'],
      [prim('string'), 'quote " backslash \\ newline \n tab \t é 🚗 lone \ud800'],
      [prim('string'), ''],
      [prim('f64'), -0],
      [prim('f64'), 1e21],
      [prim('u32'), 42],
      [prim('bool'), false],
      [{ kind: 'unknown' } as TypeRef, 'any string'],
    ];
    for (const [type, value] of cases) {
      const c = compileCodec(type, types);
      expect(c.encodeText(value)).toBe(JSON.stringify(value));
      expect(text(c.encode(value))).toBe(JSON.stringify(value));
    }
  });
});

describe('engine - a copy quicker for the usual shape (quickerCopy)', () => {
  const reading: TypeRef = {
    kind: 'object',
    properties: [
      { name: 'car', type: prim('string'), optional: false, pos },
      { name: 'kph', type: prim('f64'), optional: false, pos },
      { name: 'ok', type: prim('bool'), optional: false, pos },
    ],
  };
  it('engine - a value of the usual shape is copied by the type\'s literal, any other by the copy given; each equals that copy\'s', () => {
    const given: unknown[] = [];
    const copy = quickerCopy(reading, types, (v) => (given.push(v), ownCopy(v)));
    const usual = { car: 'a', kph: 88.5, ok: true };
    const out = copy(usual);
    expect(out).toEqual(usual);
    expect(out).not.toBe(usual);
    expect(Object.keys(out as object)).toEqual(['car', 'kph', 'ok']);
    expect(given).toEqual([]);
    // Another order, a field more or less, a nested object, a number JSON would change, a class.
    const others: unknown[] = [{ kph: 1, car: 'a', ok: true }, { car: 'a', kph: 1, ok: true, x: 1 }, { car: 'a', kph: 1 }, { car: 'a', kph: { n: 1 }, ok: true }, { car: 'a', kph: -0, ok: true }, { car: 'a', kph: Number.NaN, ok: true }, new Date(5), 'text', null];
    for (const v of others) {
      expect(copy(v)).toEqual(ownCopy(v));
      expect(Object.keys(copy(v) ?? {})).toEqual(Object.keys(ownCopy(v) ?? {}));
    }
    expect(given.length).toBe(others.length * 2);
    // A type with no usual shape: the copy given, as it is.
    const plain = (v: unknown) => v;
    expect(quickerCopy({ kind: 'list', items: prim('u8') }, types, plain)).toBe(plain);
  });
});

describe('engine - plain JSON strings decoded from their bytes', () => {
  it.each(['', 'a', 'word', 'x'.repeat(16), 'with space', "it's ~!#$%&()*+,-./:;<=>?@[]^_`{|}"])('engine - %j reads as JSON.parse reads it', (s) => {
    const b = bytes(JSON.stringify(s));
    if (b.length - 2 <= 16) expect(plainJsonString(b)).toBe(s);
    expect(compileCodec(prim('string'), types).decode(b)).toBe(s);
  });

  it.each([
    ['an escape', '"a\\nb"'],
    ['an escaped quote', '"a\\"b"'],
    ['a raw control character', '"a\tb"'],
    ['a raw quote inside', '"a"b"'],
    ['non-ASCII', '"clé"'],
    ['whitespace around it', ' "a"'],
    ['no closing quote', '"abc'],
    ['only a quote', '"'],
    ['a number', '12'],
    ['an object', '{"a":1}'],
    ['a string longer than 16 characters', `"${'x'.repeat(17)}"`],
  ])('engine - %s is left to JSON.parse', (_n, json) => {
    expect(plainJsonString(bytes(json))).toBeUndefined();
  });

  it('engine - what is left to JSON.parse decodes (or fails) as before', () => {
    const c = compileCodec(prim('string'), types);
    expect(c.decode(bytes('"a\\nb"'))).toBe('a\nb');
    expect(c.decode(bytes('"clé"'))).toBe('clé');
    expect(c.decode(bytes(' "a" '))).toBe('a');
    expect(c.decode(bytes(`"${'x'.repeat(40)}"`))).toBe('x'.repeat(40));
    expect(() => c.decode(bytes('"a\tb"'))).toThrow('not valid JSON');
    expect(() => c.decode(bytes('"a"b"'))).toThrow('not valid JSON');
    expect(() => c.decode(new Uint8Array([0x22, 0x61, 0xff, 0x22]))).toThrow('not valid UTF-8');
  });

  it('engine - a plain string is still checked against the type', () => {
    expect(() => compileCodec(prim('u32'), types).decode(bytes('"12"'))).toThrow('expected u32 (an integer), got a string ("12")');
    const e: TypeRef = { kind: 'enum', tagging: 'externally-tagged', variants: [{ name: 'Up', type: null, pos }] };
    expect(compileCodec(e, types).decode(bytes('"Up"'))).toBe('Up');
    expect(() => compileCodec(e, types).decode(bytes('"Down"'))).toThrow('unknown variant "Down" (expected one of Up)');
    expect(compileCodec(prim('bytes'), types).decode(bytes('"AQID"'))).toEqual(new Uint8Array([1, 2, 3]));
  });
});

describe('engine - values carried in process (snapshot, adopt)', () => {
  const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x))) as unknown;
  class Point {
    x = 1;
    y = 2;
  }
  // Own keys exactly a type's fields, so only the prototype tells it from a plain object (JSON
  // writes what its toJSON gives).
  class Written {
    toJSON() {
      return 'written';
    }
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;

  it.each<[string, unknown]>([
    ['a string with a lone surrogate', 'a\ud800b'],
    ['numbers: -0, NaN, Infinity, 1e21', [-0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 0.1]],
    ['undefined, functions and symbols in objects and arrays', { a: undefined, b: () => 1, c: Symbol('s'), d: [undefined, () => 1], e: null }],
    ['bytes as base64', { b: new Uint8Array([1, 2, 255]) }],
    ['a Buffer (its toJSON wins)', { b: Buffer.from('hi') }],
    ['a Date, a Map, a class instance', { d: new Date(0), m: new Map([[1, 2]]), p: new Point() }],
    ['integer-like keys first, as JSON orders them', { b: 1, 2: 'two', a: 3, 1: 'one' }],
    ['an own __proto__ key', JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 })],
    ['deep nesting', JSON.parse(`${'['.repeat(100)}1${']'.repeat(100)}`)],
  ])('engine - toJsonValue gives what JSON gives back: %s', (_n, v) => {
    const copy = toJsonValue(v);
    expect(copy).toStrictEqual(viaJson(v));
    expect(JSON.stringify(copy)).toBe(JSON.stringify(viaJson(v)));
  });

  // A type with a quick copier (scalar fields; an enum of such objects) and values of every
  // shape around it: what the copier takes must be exactly what toJsonValue gives, order included.
  const bidType: TypeRef = {
    kind: 'object',
    properties: [
      { name: 'auction', type: prim('u64'), optional: false, pos },
      { name: 'channel', type: prim('string'), optional: true, pos },
      { name: 'price', type: prim('f64'), optional: false, pos, serializeAs: 'cost' },
      { name: 'ok', type: prim('bool'), optional: false, pos },
    ],
  };
  const eventType: TypeRef = { kind: 'enum', tagging: 'externally-tagged', variants: [{ name: 'bid', type: bidType, pos }, { name: 'none', type: null, pos }] };
  const bid = (over: Record<string, unknown> = {}) => ({ auction: 7, channel: 'web', cost: 1.5, ok: true, ...over });
  it.each<[string, TypeRef, unknown]>([
    ['the declared shape', bidType, bid()],
    ['a null field', bidType, bid({ channel: null })],
    ['a field missing', bidType, { auction: 7, cost: 1.5, ok: true }],
    ['an undefined field', bidType, bid({ channel: undefined })],
    ['an extra field', bidType, bid({ more: 1 })],
    ['fields in another order', bidType, { cost: 1.5, auction: 7, channel: 'web', ok: true }],
    ['a field by its own name, not as written', bidType, { auction: 7, channel: 'web', price: 1.5, ok: true }],
    ['-0, NaN and Infinity', bidType, bid({ auction: -0, cost: Number.NaN, ok: Number.POSITIVE_INFINITY })],
    ['an object where a scalar belongs', bidType, bid({ channel: { a: [1, undefined] } })],
    ['bytes where a scalar belongs', bidType, bid({ channel: new Uint8Array([1, 2]) })],
    ['a class instance', bidType, Object.assign(new Point(), bid())],
    ['a class instance of exactly the fields, with a toJSON', bidType, Object.assign(new Written(), bid())],
    ['a null-prototype object', bidType, Object.assign(Object.create(null) as object, bid())],
    ['an array', bidType, [bid()]],
    ['an enum variant', eventType, { bid: bid() }],
    ['an enum variant of another shape', eventType, { bid: bid({ ok: { no: 1 } }) }],
    ['two variants at once', eventType, { bid: bid(), none: null }],
    ['an unknown variant', eventType, { other: bid() }],
    ['a unit variant', eventType, 'none'],
    ['an enum variant holding a Date', eventType, { bid: bid({ channel: new Date(0) }) }],
  ])('engine - a codec copies %s exactly as toJsonValue', (_n, type, v) => {
    const copy = compileCodec(type, types).copy(v);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(toJsonValue(v)));
    expect(copy).toStrictEqual(toJsonValue(v));
    if (typeof v === 'object') expect(copy).not.toBe(v);
    // An unchecked topic (`unknown`) with the planner's shape for its values: the same copies, nothing checked.
    const unchecked = compileCodec({ kind: 'unknown' }, types, 'json', type);
    for (const f of [unchecked.copy, unchecked.snapshot, unchecked.adopt]) {
      const c = f(v);
      expect(JSON.stringify(c)).toBe(JSON.stringify(toJsonValue(v)));
      expect(c).toStrictEqual(toJsonValue(v));
      if (typeof v === 'object') expect(c).not.toBe(v);
    }
  });

  it('engine - a checked topic checks what JSON writes: a toJSON giving what the type cannot read is refused where it is written; one giving the fields, and a Buffer for bytes, go as JSON writes them and read back', () => {
    const reading: TypeRef = { kind: 'object', properties: [{ name: 'car', type: prim('string'), optional: false, pos }, { name: 'kph', type: prim('f64'), optional: false, pos }] };
    const c = compileCodec(reading, {});
    // Own keys exactly the fields: only its toJSON tells what is written.
    class Label {
      toJSON() {
        return 'label';
      }
    }
    const label = Object.assign(new Label(), { car: 'a', kph: 1 });
    expect(c.check(label)).toBe('expected an object, got a string ("label") (what its toJSON gives)');
    expect(() => c.encode(label)).toThrow(SchemaError);
    expect(() => c.snapshot(label)).toThrow(SchemaError);
    // A model class, its toJSON giving its fields (its secret is not written).
    class Model {
      readonly car: string;
      readonly kph: number;
      readonly secret = 'not written';
      constructor(car: string, kph: number) {
        this.car = car;
        this.kph = kph;
      }
      toJSON() {
        return { car: this.car, kph: this.kph };
      }
    }
    const model = new Model('b', 2);
    expect(c.check(model)).toBeUndefined();
    expect(c.decode(c.encode(model))).toEqual({ car: 'b', kph: 2 });
    expect(c.adopt(c.snapshot(model))).toEqual({ car: 'b', kph: 2 });
    const blob = compileCodec({ kind: 'object', properties: [{ name: 'b', type: prim('bytes'), optional: false, pos }] }, {});
    const buffer = { b: Buffer.from('hi') };
    expect(new TextDecoder().decode(blob.encode(buffer))).toBe('{"b":"aGk="}');
    expect(blob.decode(blob.encode(buffer))).toEqual({ b: new Uint8Array([104, 105]) });
    expect(blob.adopt(blob.snapshot(buffer))).toEqual({ b: new Uint8Array([104, 105]) });
    expect(buffer.b).toBeInstanceOf(Buffer);
  });

  it('engine - toJsonValue fails where JSON fails', () => {
    expect(() => toJsonValue(cyclic)).toThrow(TypeError);
    expect(() => toJsonValue({ n: 1n })).toThrow(TypeError);
    expect(() => toJsonValue(undefined)).toThrow(SchemaError);
  });

  const outcome = (f: () => unknown) => {
    try {
      return { value: f() };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const renamed: TypeRef = { kind: 'object', properties: [{ name: 'speed', type: prim('f64'), optional: false, pos, serializeAs: 'kmh', deserializeFrom: 'kmh' }] };

  it('engine - a checked topic of objects of scalars has usual snapshots: the same copies snapshot gives, adopted unchecked as adopt would', () => {
    const reading: TypeRef = { kind: 'object', properties: [{ name: 'car', type: prim('string'), optional: false, pos }, { name: 'kph', type: prim('f64'), optional: false, pos }, { name: 'n', type: prim('u8'), optional: false, pos }] };
    const c = compileCodec(reading, {});
    const usual = c.usual!;
    for (const v of [{ car: 'a', kph: 12.5, n: 3 }, { car: '', kph: -0, n: 0 }]) {
      const s = usual.snapshot(v);
      expect(s).toEqual(c.snapshot(v));
      expect(s).not.toBe(v);
      expect(Object.keys(s as object)).toEqual(['car', 'kph', 'n']);
      const adopted = usual.adopt(s);
      expect(adopted).toEqual(c.adopt(s));
      expect(adopted).not.toBe(s);
      expect(Object.keys(adopted as object)).toEqual(['car', 'kph', 'n']);
    }
    // Anything else has none: the general way decides, and words the error.
    // (A class instance whose own keys are exactly the fields: only its prototype tells.)
    class Reading {
      toJSON() {
        return 'reading';
      }
    }
    const instance = Object.assign(new Reading(), { car: 'a', kph: 1, n: 1 });
    for (const v of [{ car: 'a', kph: 1, n: 256 }, { car: 'a', kph: Number.NaN, n: 1 }, { kph: 1, car: 'a', n: 1 }, { car: 'a', kph: 1 }, { car: 'a', kph: 1, n: 1, more: 1 }, instance, 'text', null]) {
      expect(usual.snapshot(v)).toBeUndefined();
    }
    // Only checked topics of objects of scalar fields, nothing renamed.
    expect(compileCodec({ kind: 'named', name: 'car-event' }, types).usual).toBeUndefined();
    expect(compileCodec({ kind: 'unknown' } as TypeRef, {}, 'json', reading).usual).toBeUndefined();
    expect(compileCodec(prim('string'), {}, 'raw').usual).toBeUndefined();
    expect(compileCodec({ kind: 'enum', tagging: 'externally-tagged', variants: [{ name: 'r', type: reading, pos }] } as TypeRef, {}).usual).toBeUndefined();
  });

  it('engine - a checked JSON topic of strings has usual snapshots: the string itself, as snapshot and adopt give it, adopted as it is', () => {
    const c = compileCodec(prim('string'), {});
    const usual = c.usual!;
    for (const v of ['river', '', 'é\u{1F600}', '\uD800 lone', '"quoted"\n']) {
      expect(usual.snapshot(v)).toBe(c.snapshot(v));
      expect(usual.adopt(usual.snapshot(v))).toBe(c.adopt(c.snapshot(v)));
      // What the bytes would give back.
      expect(c.decode(c.encode(v))).toBe(usual.adopt(usual.snapshot(v)));
    }
    // Anything else has none: the general way decides, and words the error.
    for (const v of [1, null, undefined, true, ['a'], { a: 'b' }]) {
      expect(usual.snapshot(v)).toBeUndefined();
      expect(() => c.snapshot(v)).toThrow(SchemaError);
    }
    // Named strings too; not a raw topic's (its snapshot makes the text well-formed), nor an unchecked one.
    expect(compileCodec({ kind: 'named', name: 'word' } as TypeRef, { word: named('word', prim('string')) }).usual).toBe(usual);
    expect(compileCodec(prim('string'), {}, 'raw').usual).toBeUndefined();
    expect(compileCodec({ kind: 'unknown' } as TypeRef, {}, 'json', prim('string')).usual).toBeUndefined();
  });

  it('engine - a typed value adopted from its snapshot equals the value decoded from its bytes, renames and bytes included', () => {
    const withBytes: TypeRef = { kind: 'object', properties: [{ name: 'data', type: prim('bytes'), optional: false, pos }] };
    for (const [type, value] of [
      [renamed, { speed: 1.5, extra: [1, { x: undefined }] }],
      // Written as `speedKmh` but read from `speed_kmh`: the bytes do not read back, nor does the snapshot.
      [{ kind: 'named', name: 'CarEvent' }, { car: 'a', speed: 88.5, lane: 2 }],
      [withBytes, { data: new Uint8Array([0, 1, 2]) }],
      [{ kind: 'list', items: prim('f64') }, [1, -0, 2.5]],
      [prim('string'), 'word'],
    ] as Array<[TypeRef, unknown]>) {
      const c = compileCodec(type, types);
      expect(outcome(() => c.adopt(c.snapshot(value)))).toStrictEqual(outcome(() => c.decode(c.encode(value))));
      expect(text(c.encode(value))).toBe(c.wire(c.snapshot(value)));
    }
  });

  it('engine - a snapshot is checked like an encode, and is nobody else\'s', () => {
    const c = compileCodec({ kind: 'object', properties: [{ name: 'speed', type: prim('f64'), optional: false, pos }] }, types);
    expect(() => c.snapshot({ speed: 'fast' })).toThrow('speed: expected f64 (a number), got a string ("fast")');
    const value = { speed: 1, list: [1] };
    const snapshot = c.snapshot(value);
    value.list.push(2);
    const adopted = c.adopt(snapshot) as { speed: number; list: number[] };
    adopted.list.push(3);
    expect(c.adopt(snapshot)).toEqual({ speed: 1, list: [1] });
  });

  // A type of required scalar fields without renames is checked and copied by one generated
  // function: every value around its shape must give what the general way gives (the encode's
  // check and error, then what the bytes read back), and a copy nobody else holds.
  const reading: TypeRef = {
    kind: 'object',
    properties: [
      { name: 'car', type: prim('string'), optional: false, pos },
      { name: 'time', type: { kind: 'primitive', name: 'i64' }, optional: false, pos },
      { name: 'mph', type: prim('u32'), optional: false, pos },
      { name: 'fuel', type: prim('f64'), optional: false, pos },
      { name: 'any', type: { kind: 'number' }, optional: false, pos },
      { name: 'speeding', type: prim('bool'), optional: false, pos },
    ],
  };
  const car = (over: Record<string, unknown> = {}) => ({ car: 'car-1', time: 1_736_154_000_000, mph: 55, fuel: 40.5, any: -2.5, speeding: false, ...over });
  it.each<[string, unknown]>([
    ['the declared shape', car()],
    ['-0 in every numeric field', car({ time: -0, mph: -0, fuel: -0, any: -0 })],
    ['an integer out of range', car({ mph: 4_294_967_296 })],
    ['a fraction in an integer field', car({ time: 1.5 })],
    ['NaN and Infinity', car({ fuel: Number.NaN, any: Number.POSITIVE_INFINITY })],
    ['a string where a number belongs', car({ mph: '55' })],
    ['a number where a bool belongs', car({ speeding: 1 })],
    ['a null field', car({ car: null })],
    ['a field missing', { car: 'car-1', time: 1, mph: 2, fuel: 3, speeding: true }],
    ['an undefined field', car({ fuel: undefined })],
    ['an extra field', car({ extra: { deep: [1] } })],
    ['fields in another order', { speeding: true, car: 'car-1', time: 1, mph: 2, fuel: 3, any: 4 }],
    ['a lone surrogate in a string', car({ car: 'a\ud800' })],
    ['a class instance', Object.assign(new Point(), car())],
    ['a null-prototype object', Object.assign(Object.create(null) as object, car())],
    ['an array', [car()]],
    ['a string', 'car-1'],
    ['null', null],
  ])('engine - a scalar object type snapshots and adopts %s as its bytes would', (_n, v) => {
    const c = compileCodec(reading, types);
    const viaBytes = outcome(() => c.decode(c.encode(v)));
    expect(outcome(() => c.adopt(c.snapshot(v)))).toStrictEqual(viaBytes);
    // What a producer carries unchecked (`copy`, as JSON would write it) is checked by its reader's adopt.
    expect(outcome(() => c.adopt(c.copy(v)))).toStrictEqual(outcome(() => c.decode(bytes(JSON.stringify(v)))));
    const snapshot = outcome(() => c.snapshot(v));
    if ('value' in snapshot) {
      expect(c.wire(snapshot.value)).toBe(text(c.encode(v)));
      expect(snapshot.value).not.toBe(v);
      expect(c.adopt(snapshot.value)).not.toBe(snapshot.value);
    }
  });

  const events: TypeRef = {
    kind: 'enum',
    tagging: 'externally-tagged',
    variants: [
      { name: 'reading', type: reading, pos },
      { name: 'renamed', type: reading, pos, serializeAs: 'other' },
      { name: 'none', type: null, pos },
    ],
  };
  it.each<[string, unknown]>([
    ['a variant of the declared shape', { reading: car() }],
    ['a variant with -0', { reading: car({ mph: -0 }) }],
    ['a variant whose payload fails its check', { reading: car({ mph: -1 }) }],
    ['a variant with an extra field', { reading: car({ extra: 1 }) }],
    ['a renamed variant', { renamed: car() }],
    ['a renamed variant by its wire name', { other: car() }],
    ['two variants at once', { reading: car(), none: null }],
    ['an unknown variant', { nothing: car() }],
    ['a unit variant', 'none'],
    ['an empty object', {}],
    ['a class instance holding a variant', Object.assign(new Point(), { reading: car() })],
  ])('engine - an enum of scalar objects snapshots and adopts %s as its bytes would', (_n, v) => {
    const c = compileCodec(events, types);
    expect(outcome(() => c.adopt(c.snapshot(v)))).toStrictEqual(outcome(() => c.decode(c.encode(v))));
    expect(outcome(() => c.adopt(c.copy(v)))).toStrictEqual(outcome(() => c.decode(bytes(JSON.stringify(v)))));
    const snapshot = outcome(() => c.snapshot(v));
    if ('value' in snapshot) expect(c.wire(snapshot.value)).toBe(text(c.encode(v)));
  });

  it('engine - raw topics carry text as UTF-8 reads it back, and bytes as a copy', () => {
    const raw = compileCodec(prim('string'), types, 'raw');
    expect(raw.adopt(raw.snapshot('a\ud800'))).toBe(raw.decode(raw.encode('a\ud800')));
    const bin = compileCodec(prim('bytes'), types, 'raw');
    const b = new Uint8Array([1, 2]);
    const snapshot = bin.snapshot(b);
    b[0] = 9;
    expect(bin.adopt(snapshot)).toEqual(new Uint8Array([1, 2]));
    expect(bin.adopt(bin.snapshot('hi'))).toEqual(bytes('hi'));
  });
});

describe('engine - values passed on as they were read (keep, asRead, writesAsIs)', () => {
  const reading: TypeRef = {
    kind: 'object',
    properties: [
      { name: 'car', type: prim('string'), optional: false, pos },
      { name: 'kph', type: prim('u8'), optional: false, pos },
    ],
  };
  const event: TypeRef = { kind: 'enum', tagging: 'externally-tagged', variants: [{ name: 'reading', type: reading, pos }] } as TypeRef;
  const checked = compileCodec(reading, {});
  const unchecked = compileCodec({ kind: 'unknown' }, {}, 'json', reading);

  it.each([
    ['a checked topic', checked],
    ['an unchecked topic of that usual shape', unchecked],
  ])('engine - %s keeps a copy of a value of its usual shape, and gives its bytes back only while the value is unchanged', (_what, c) => {
    const v = { car: 'a', kph: 5 };
    const b = bytes(JSON.stringify(v));
    const kept = c.keep(v);
    expect(kept).toEqual(v);
    expect(kept).not.toBe(v);
    const asRead = (out: unknown, read: unknown = out) => c.asRead(out, read, kept, b);
    expect(asRead(v)).toBe(b);
    v.kph = 6;
    expect(asRead(v)).toBeUndefined();
    v.kph = 5;
    expect(asRead({ ...v, extra: 1 })).toBeUndefined();
    expect(asRead({ kph: 5, car: 'a' })).toBeUndefined();
    expect(asRead({ car: 'a', kph: Number.NaN })).toBeUndefined();
    // An equal value that is not the one read: not these bytes' value.
    expect(asRead({ ...v }, v)).toBeUndefined();
    expect(c.keep({ car: 'a', kph: Number.NaN })).toBeUndefined();
    expect(c.keep({ car: 'a', kph: -0 })).toBeUndefined();
    // Not of the usual shape: nothing kept (the value is written again).
    expect(c.keep({ kph: 5, car: 'a' })).toBeUndefined();
    expect(c.keep({ car: 'a', kph: { deep: 1 } })).toBeUndefined();
    expect(c.keep('text')).toBeUndefined();
  });

  it('engine - an enum of scalar objects keeps its variant: the value as read, or its payload as read, goes as its bytes or their slice while unchanged', () => {
    const c = compileCodec(event, {});
    const fresh = () => ({ reading: { car: 'a', kph: 5 } }) as Record<string, unknown> & { reading: { car: string; kph: number } };
    const b = bytes('{"reading":{"car":"a","kph":5}}');
    const sliceOf = (out: unknown, read: unknown, kept: unknown) => {
      const got = c.asRead(out, read, kept, b);
      return got === undefined ? undefined : text(got);
    };
    let v = fresh();
    let kept = c.keep(v);
    expect(kept).toEqual(v);
    expect(c.asRead(v, v, kept, b)).toBe(b);
    expect(sliceOf(v.reading, v, kept)).toBe('{"car":"a","kph":5}');
    // The wrapper changed, the payload not: the payload's bytes are still its text.
    v['more'] = 1;
    expect(sliceOf(v.reading, v, kept)).toBe('{"car":"a","kph":5}');
    expect(sliceOf(v, v, kept)).toBeUndefined();
    // The payload changed in place, grew a field, or is a copy, or another object under the variant.
    v = fresh();
    kept = c.keep(v);
    v.reading.kph = 7;
    expect(sliceOf(v.reading, v, kept)).toBeUndefined();
    expect(sliceOf(v, v, kept)).toBeUndefined();
    v = fresh();
    kept = c.keep(v);
    (v.reading as Record<string, unknown>)['extra'] = true;
    expect(sliceOf(v.reading, v, kept)).toBeUndefined();
    v = fresh();
    kept = c.keep(v);
    expect(sliceOf({ ...v.reading }, v, kept)).toBeUndefined();
    const payload = v.reading;
    v.reading = { car: 'a', kph: 5 };
    expect(sliceOf(payload, v, kept)).toBeUndefined();
    expect(sliceOf({ other: { car: 'a', kph: 5 } }, { other: { car: 'a', kph: 5 } }, kept)).toBeUndefined();
    // A plain object type has no payload to give.
    const r = { car: 'a', kph: 5 };
    expect(checked.asRead(r, { reading: r }, checked.keep(r), bytes('{"car":"a","kph":5}'))).toBeUndefined();
  });

  it('engine - whatever a function did to the value, bytes given back are the text JSON.stringify writes for what goes out', () => {
    const c = compileCodec(event, {});
    const b = bytes('{"reading":{"car":"a","kph":5}}');
    type Ev = { reading: Record<string, unknown> };
    const edits: Array<(v: Ev) => unknown> = [
      (v) => v,
      (v) => v.reading,
      (v) => ((v.reading['kph'] = 6), v.reading),
      (v) => ((v.reading['kph'] = '5'), v.reading),
      (v) => ((v.reading['kph'] = -0), v.reading),
      (v) => ((v.reading['car'] = 'b'), v),
      (v) => (delete v.reading['car'], (v.reading['car'] = 'a'), v.reading),
      (v) => ((v.reading['x'] = undefined), v.reading),
      (v) => (Object.defineProperty(v.reading, 'kph', { value: 5, enumerable: false }), v.reading),
      (v) => (Object.setPrototypeOf(v.reading, { toJSON: () => 1 }), v.reading),
      (v) => ({ ...v.reading }),
      (v) => ({ reading: v.reading }),
    ];
    for (const edit of edits) {
      const v = c.decode(b) as Ev;
      const kept = c.keep(v);
      const out = edit(v);
      const got = c.asRead(out, v, kept, b);
      if (got !== undefined) expect(text(got)).toBe(JSON.stringify(out));
    }
  });

  it('engine - writesAsIs only where the text is JSON.stringify\'s: the check passes, nothing renamed, nothing but scalars', () => {
    expect(checked.writesAsIs({ car: 'a', kph: 5 })).toBe(true);
    // u8 refuses it: the check decides (and words the error).
    expect(checked.writesAsIs({ car: 'a', kph: 300 })).toBe(false);
    expect(unchecked.writesAsIs({ car: 'a', kph: 300 })).toBe(true);
    expect(unchecked.writesAsIs({ car: new Uint8Array([1]), kph: 1 })).toBe(false);
    expect(compileCodec({ kind: 'named', name: 'CarEvent' }, types).writesAsIs({ car: 'a', speed: 1 })).toBe(false);
    expect(compileCodec(reading, {}, 'raw').writesAsIs({ car: 'a', kph: 5 })).toBe(false);
  });

  it('engine - a value of the usual shape is written and read as the general way does', () => {
    for (const c of [checked, unchecked, compileCodec(event, {})]) {
      for (const v of [{ car: 'a\u2028"\\', kph: 0 }, { car: 'b', kph: -0 }, { reading: { car: 'c', kph: 255 } }, { car: 'd', kph: 1, more: new Uint8Array([1, 2]) }]) {
        let general: string | undefined;
        try {
          general = JSON.stringify(JSON.parse(JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x))));
        } catch {
          general = undefined;
        }
        let got: string | undefined;
        try {
          got = c.encodeText(v) as string;
        } catch {
          got = undefined;
        }
        if (got !== undefined) expect(got).toBe(general);
      }
    }
    expect(checked.decode(bytes('{"car":"a","kph":5}'))).toEqual({ car: 'a', kph: 5 });
    expect(() => checked.decode(bytes('{"car":"a","kph":500}'))).toThrow(/out of range/);
    expect(checked.check({ car: 'a', kph: 5 })).toBeUndefined();
    expect(checked.check({ car: 'a', kph: 500 })).toMatch(/out of range/);
  });

  it('engine - field names are only ever keys in the generated copiers, whatever they spell: each key is checked against its own name, in order', () => {
    // Names that would be code, or break a string literal, if written into the copier's code as they are.
    const names = ['MISS', 'false', "'); return 1; //", 'k', 'a\u2028b', 'quote"\\', 'i'];
    const shape: TypeRef = { kind: 'object', properties: names.map((name) => ({ name, type: prim('u8'), optional: false, pos })) };
    const c = compileCodec(shape, {});
    const value = Object.fromEntries(names.map((n, i) => [n, i]));
    // The quick copy (a snapshot, an adopted copy, a copy) gives a value of its own, equal and in order.
    for (const copy of [c.snapshot(value), c.adopt(c.snapshot(value)), c.copy(value)]) {
      expect(copy).not.toBe(value);
      expect(Object.keys(copy as object)).toEqual(names);
      expect(copy).toEqual(value);
    }
    const kept = c.keep(value);
    expect(kept).toEqual(value);
    const written = bytes(JSON.stringify(value));
    expect(c.asRead(value, value, kept, written)).toBe(written);
    // A key out of place, missing or extra is not the usual shape: the general way decides (and still copies in order).
    const swapped = Object.fromEntries([names[1]!, names[0]!, ...names.slice(2)].map((n) => [n, 1]));
    expect(Object.keys(c.copy(swapped) as object)).toEqual(Object.keys(swapped));
    expect(c.keep(swapped)).toBeUndefined();
    expect(c.keep({ ...value, extra: 1 })).toBeUndefined();
    expect(c.keep(Object.fromEntries(names.slice(1).map((n) => [n, 1])))).toBeUndefined();
    expect(c.asRead(value, value, c.keep(Object.fromEntries(names.map((n) => [n, 9]))), written)).toBeUndefined();
    expect(() => c.snapshot({ ...value, MISS: 256 })).toThrow(SchemaError);
  });

  it('engine - a string reads back from UTF-8 as wellFormed gives it: pairs kept, lone surrogates U+FFFD, one-byte strings as they are', () => {
    const cases = ['word', '', 'caf\u00e9', '\u{1F600} pair', 'lone \uD83D high', 'lone \uDE00 low', '\uDE00\uD83D reversed', 'end \uD83D', '\uD83D\uDE00\uD83D'];
    for (const s of cases) expect(wellFormed(s)).toBe(new TextDecoder().decode(new TextEncoder().encode(s)));
    expect(wellFormed('lone \uD83D high')).toBe('lone \uFFFD high');
  });
});

describe('engine - values of the usual shape read from their bytes (compileJsonReader)', () => {
  const bid: TypeRef = {
    kind: 'object',
    properties: [
      { name: 'auction', type: prim('u64'), optional: false, pos },
      { name: 'price', type: prim('f64'), optional: false, pos },
      { name: 'channel', type: prim('string'), optional: false, pos },
      { name: 'live', type: prim('bool'), optional: false, pos },
    ],
  };
  const event: TypeRef = { kind: 'enum', tagging: 'externally-tagged', variants: [{ name: 'bid', type: bid, pos }, { name: 'tick', type: null, pos }] } as TypeRef;
  const readBid = compileJsonReader(bid, {})!;
  const readEvent = compileJsonReader(event, {})!;
  const canonical = [
    '{"auction":1,"price":2,"channel":"web","live":true}',
    '{"auction":0,"price":0,"channel":"","live":false}',
    '{"auction":999999999999999,"price":-123456789012345,"channel":" ~!#$%&()*+,-./:;<=>?@[]^_`{|}","live":true}',
  ];
  it.each(canonical)('engine - %s reads as JSON.parse reads it (the same keys in order), and JSON.stringify writes it as these bytes', (json) => {
    const got = readBid(bytes(json));
    expect(got).toStrictEqual(JSON.parse(json));
    expect(JSON.stringify(got)).toBe(json);
    expect(Object.keys(got as object)).toEqual(['auction', 'price', 'channel', 'live']);
    expect(Object.is((got as { price: number }).price, (JSON.parse(json) as { price: number }).price)).toBe(true);
    expect(readEvent(bytes(`{"bid":${json}}`))).toStrictEqual({ bid: JSON.parse(json) });
  });

  it.each([
    ['a fraction', '{"auction":1,"price":2.5,"channel":"web","live":true}'],
    ['an exponent', '{"auction":1,"price":2e3,"channel":"web","live":true}'],
    ['16 digits', '{"auction":1234567890123456,"price":2,"channel":"web","live":true}'],
    ['a leading zero (not JSON)', '{"auction":01,"price":2,"channel":"web","live":true}'],
    ['a lone minus (not JSON)', '{"auction":-,"price":2,"channel":"web","live":true}'],
    ['-0 (JSON.stringify writes 0)', '{"auction":1,"price":-0,"channel":"web","live":true}'],
    ['an escape', '{"auction":1,"price":2,"channel":"w\\"b","live":true}'],
    ['an escaped unicode', '{"auction":1,"price":2,"channel":"\\u0041","live":true}'],
    ['non-ASCII', '{"auction":1,"price":2,"channel":"clé","live":true}'],
    ['a raw tab (not JSON)', '{"auction":1,"price":2,"channel":"a\tb","live":true}'],
    ['whitespace', '{"auction":1, "price":2,"channel":"web","live":true}'],
    ['keys in another order', '{"price":2,"auction":1,"channel":"web","live":true}'],
    ['a missing key', '{"auction":1,"price":2,"channel":"web"}'],
    ['an extra key', '{"auction":1,"price":2,"channel":"web","live":true,"x":1}'],
    ['null', '{"auction":null,"price":2,"channel":"web","live":true}'],
    ['a string where a number belongs', '{"auction":"1","price":2,"channel":"web","live":true}'],
    ['a number where a string belongs', '{"auction":1,"price":2,"channel":3,"live":true}'],
    ['tru', '{"auction":1,"price":2,"channel":"web","live":tru}'],
    ['trailing bytes', '{"auction":1,"price":2,"channel":"web","live":true} '],
    ['a cut value', '{"auction":1,"price":2,"channel":"web'],
    ['a cut number', '{"auction":12'],
    ['nothing', ''],
  ])('engine - %s is left to JSON.parse', (_what, json) => {
    expect(typeof readBid(bytes(json))).toBe('symbol');
    expect(typeof readEvent(bytes(`{"bid":${json}}`))).toBe('symbol');
  });

  it('engine - an enum reads only its variants of the usual shape, whole', () => {
    const ok = canonical[0]!;
    for (const json of [`{"tick":${ok}}`, `{"bid":${ok}`, `{"bid":${ok}}}`, `{"bid":${ok},"x":1}`, `{"bid" :${ok}}`, '"tick"', 'null']) expect(typeof readEvent(bytes(json))).toBe('symbol');
    expect(compileJsonReader(prim('string'), {})).toBeUndefined();
    expect(compileJsonReader({ kind: 'object', properties: [{ name: 'b', type: prim('bytes'), optional: false, pos }] }, {})).toBeUndefined();
  });

  it('engine - a codec decodes the same values and errors with the reader as without it (checked and unchecked)', () => {
    const decoded = (c: ReturnType<typeof compileCodec>, b: Uint8Array) => {
      try {
        return { value: c.decode(b) };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    const cases = [...canonical, '{"auction":1,"price":-0,"channel":"web","live":true}', '{"auction":1,"price":2.5,"channel":"web","live":true}', '{"auction":-1,"price":2,"channel":"web","live":true}', '{"auction":1,"price":2,"channel":"clé","live":true}', '{"auction":01}', '{"auction":1'];
    for (const c of [compileCodec({ kind: 'unknown' }, {}, 'json', bid), compileCodec(bid, {}), compileCodec(event, {})]) {
      for (const json of [...cases, ...cases.map((v) => `{"bid":${v}}`)]) {
        // A space in front is JSON's own (JSON.parse skips it) but no reader's: the general way.
        const general = decoded(c, bytes(` ${json}`));
        if (general.error) general.error = general.error.replace(/position (\d+)/, (_m, at: string) => `position ${Number(at) - 1}`);
        expect(decoded(c, bytes(json))).toStrictEqual(general);
      }
    }
    // Read by the reader, checked as before: u64 refuses -1.
    expect(decoded(compileCodec(bid, {}), bytes(cases[5]!)).error).toMatch(/auction/);
    // -0 read by JSON.parse, as it was read before.
    expect(Object.is((compileCodec(bid, {}).decode(bytes(cases[3]!)) as { price: number }).price, -0)).toBe(true);
  });

  it('engine - decode says the bytes are as JSON.stringify writes the value only when the reader read them and the value is what it read', () => {
    const renamed: TypeRef = { kind: 'object', properties: [{ name: 'a', type: prim('u8'), optional: false, pos, serializeAs: 'b' }] };
    const indexKey: TypeRef = { kind: 'object', properties: [{ name: 'z', type: prim('u8'), optional: false, pos }, { name: '1', type: prim('u8'), optional: false, pos }] };
    const cases: Array<[TypeRef, string, boolean]> = [
      [bid, canonical[0]!, true],
      [event, `{"bid":${canonical[0]!}}`, true],
      [{ kind: 'unknown' }, canonical[0]!, true],
      [bid, ` ${canonical[0]!}`, false],
      [bid, '{"auction":1,"price":-0,"channel":"web","live":true}', false],
      [bid, '{"auction":1,"price":2,"channel":"\\u0041","live":true}', false],
      // Read by the reader under its wire name, renamed by the walker: not these bytes' value.
      [renamed, '{"b":1}', false],
      // Objects list "1" first: JSON.stringify would write it first.
      [indexKey, '{"z":1,"1":2}', false],
      [prim('string'), '"word"', false],
    ];
    for (const [type, json, asWritten] of cases) {
      const c = type.kind === 'unknown' ? compileCodec(type, {}, 'json', bid) : compileCodec(type, {});
      const told = { asWritten: !asWritten };
      const value = c.decode(bytes(json), told);
      expect(told.asWritten, json).toBe(asWritten);
      if (asWritten) expect(JSON.stringify(value)).toBe(json);
    }
  });
});
