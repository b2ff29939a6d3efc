import { describe, expect, test } from 'vitest';
import { parseServicesFile } from './parse.ts';
import { brief, withoutPos, yaml } from './test-support.ts';
import { typeToString } from './type-format.ts';

/** A 0.5.0 file with just these `types` (indented as under `types:`). */
function parseTypes(types: string) {
  const text = `apiVersion: 0.5.0\nmeta: {name: t, namespace: n, version: 0.1.0}\nservices: {}\ntypes:\n${types}`;
  return parseServicesFile(text, 'types.yaml');
}

const string = { kind: 'primitive', name: 'string' } as const;

describe('types', () => {
  test('spec - primitives and their aliases', () => {
    const { dataflow, diagnostics } = parseTypes(yaml`
      word: {type: string}
      small: {type: s8}
      count: {type: s32}
      big: {type: s64}
      ratio: {type: float64}
      single: {type: float32}
      flag: {type: boolean}
      text: {type: str}
      raw: {type: bytes}
      unsigned: {type: u16}
    `.replace(/^/gm, '  '));
    expect(diagnostics).toEqual([]);
    expect(Object.fromEntries(Object.entries(dataflow.types).map(([name, t]) => [name, typeToString(t.type)]))).toEqual({
      word: 'string',
      small: 'i8',
      count: 'i32',
      big: 'i64',
      ratio: 'f64',
      single: 'f32',
      flag: 'bool',
      text: 'string',
      raw: 'bytes',
      unsigned: 'u16',
    });
  });

  test('spec - objects with optional and renamed properties, nested named types', () => {
    const { dataflow, diagnostics } = parseTypes(yaml`
      car:
        type: object
        properties:
          make: {type: string}
          speed: {type: f64, optional: true}
          full_name:
            type: string
            serialize: {rename: fullName}
            deserialize: {rename: FullName}
          kind: {type: string, alias: type}
          owner: {type: person}
          address:
            type: object
            type-name: address
            properties:
              street: {type: string}
    `.replace(/^/gm, '  '));
    expect(diagnostics).toEqual([]);
    expect(withoutPos(dataflow.types.car?.type)).toEqual({
      kind: 'object',
      properties: [
        { name: 'make', type: string, optional: false },
        { name: 'speed', type: { kind: 'primitive', name: 'f64' }, optional: true },
        { name: 'full_name', type: string, optional: false, serializeAs: 'fullName', deserializeFrom: 'FullName' },
        { name: 'kind', type: string, optional: false, serializeAs: 'type', deserializeFrom: 'type' },
        { name: 'owner', type: { kind: 'named', name: 'person' }, optional: false },
        {
          name: 'address',
          type: { kind: 'object', typeName: 'address', properties: [{ name: 'street', type: string, optional: false }] },
          optional: false,
        },
      ],
    });
    expect(dataflow.types.car?.type.pos).toEqual({ file: 'types.yaml', line: 6, col: 11 });
  });

  test('spec - enums, lists, options, key-values, keyed-states and arrow-rows', () => {
    const { dataflow, diagnostics } = parseTypes(yaml`
      fruit:
        type: enum
        tagging: untagged
        oneOf:
          apple: {type: null}
          pear:
          crate: {type: crate}
      cars: {type: list, items: {type: car}}
      words: {type: list, item: string}
      maybe: {type: option, value: {type: car}}
      keyed: {type: key-value, properties: {key: {type: string}, value: {type: car}}}
      counts: {type: keyed-state, properties: {key: {type: string}, value: {type: u32}}}
      rows:
        type: keyed-state
        properties:
          key: {type: string}
          value:
            type: arrow-row
            properties:
              count: {type: u32}
              price: {type: float64}
              seen: {type: timestamp}
      brands:
        type: list
        type-name: brand-list
        items:
          type: object
          type-name: brand
          properties:
            name: {type: string}
    `.replace(/^/gm, '  '));
    expect(diagnostics).toEqual([]);
    const types = Object.fromEntries(Object.entries(dataflow.types).map(([name, t]) => [name, withoutPos(t.type)]));
    expect(types.fruit).toEqual({
      kind: 'enum',
      tagging: 'untagged',
      variants: [
        { name: 'apple', type: null },
        { name: 'pear', type: null },
        { name: 'crate', type: { kind: 'named', name: 'crate' } },
      ],
    });
    expect(types.cars).toEqual({ kind: 'list', items: { kind: 'named', name: 'car' } });
    expect(types.words).toEqual({ kind: 'list', items: string });
    expect(types.maybe).toEqual({ kind: 'option', value: { kind: 'named', name: 'car' } });
    expect(types.keyed).toEqual({ kind: 'key-value', key: string, value: { kind: 'named', name: 'car' } });
    expect(types.counts).toEqual({ kind: 'keyed-state', key: string, value: { kind: 'primitive', name: 'u32' } });
    expect(types.rows).toEqual({
      kind: 'keyed-state',
      key: string,
      value: {
        kind: 'arrow-row',
        columns: [
          { name: 'count', type: 'u32' },
          { name: 'price', type: 'f64' },
          { name: 'seen', type: 'timestamp' },
        ],
      },
    });
    expect(types.brands).toEqual({
      kind: 'list',
      typeName: 'brand-list',
      items: { kind: 'object', typeName: 'brand', properties: [{ name: 'name', type: string, optional: false }] },
    });
    expect(dataflow.types.fruit?.type.kind === 'enum' && dataflow.types.fruit.type.variants[1]?.pos).toEqual({
      file: 'types.yaml',
      line: 10,
      col: 7,
    });
  });

  test('spec - typeToString reads like the file', () => {
    const { dataflow } = parseTypes(yaml`
      a: {type: list, items: {type: string}}
      b: {type: option, value: {type: car-event}}
      c: {type: object, properties: {make: {type: string}, speed: {type: f64, optional: true}}}
      d: {type: enum, oneOf: {on: {type: null}, level: {type: u8}}}
      e: {type: key-value, properties: {key: {type: string}, value: {type: u64}}}
      f: {type: keyed-state, properties: {key: {type: string}, value: {type: arrow-row, properties: {n: {type: i32}}}}}
    `.replace(/^/gm, '  '));
    const shown = Object.fromEntries(Object.entries(dataflow.types).map(([name, t]) => [name, typeToString(t.type)]));
    expect(shown).toEqual({
      a: 'list<string>',
      b: 'option<car-event>',
      c: '{make: string, speed?: f64}',
      d: 'enum{on | level(u8)}',
      e: 'key-value<string, u64>',
      f: 'keyed-state<string, row{n: i32}>',
    });
  });

  test('spec - malformed definitions are reported where they are wrong', () => {
    const { dataflow, diagnostics } = parseTypes(yaml`
      car:
        type: objcet
        properties:
          make: {type: string}
      cars: {type: list}
      both: {type: list, items: {type: u8}, item: {type: u8}}
      fruit: {type: enum}
      speed:
        type: object
        properties:
          kmh: {type: f64, optinal: true}
          mph: {type: f64, optional: yes}
      rows:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: arrow-row, properties: {owner: {type: person}, data: {type: bytes}}}
      untyped: {properties: {a: {type: string}}}
      listed: [string]
      tagged: {type: enum, tagging: internal, oneOf: {a: {type: null}}}
    `.replace(/^/gm, '  '));
    expect(brief(diagnostics)).toEqual([
      'invalid-value 6:11 invalid value `objcet` for `type` in type `car`',
      'missing-key 9:9 missing key `items` or `item` in type `cars`',
      'conflicting-keys 10:41 type `both` has both `items` and `item`',
      'missing-key 11:10 missing key `oneOf` in type `fruit`',
      'unknown-key 15:24 unknown key `optinal` in property `kmh` of type `speed`',
      'invalid-type 16:34 `optional` in property `mph` of type `speed` must be `true` or `false`, found `yes`',
      'invalid-column-type 21:59 column `owner` of `properties.value` of type `rows` has type `person`, which a row cannot hold',
      'invalid-column-type 21:81 column `data` of `properties.value` of type `rows` has type `bytes`, which a row cannot hold',
      'missing-key 22:12 missing key `type` in type `untyped`',
      'invalid-type 23:11 type `listed` must be a type definition, found a list',
      'invalid-value 24:33 invalid value `internal` for `tagging` in type `tagged`',
    ]);
    expect(diagnostics[0]?.hint).toBe('did you mean `object`? a name alone refers to a named type, which has no other keys');
    expect(diagnostics[4]?.hint).toBe('did you mean `optional`?');
    expect(diagnostics[10]?.hint).toBe('allowed values: `externally-tagged`, `untagged`');
    // A broken definition stays in the model as `invalid`, so it is reported once.
    expect(dataflow.types.car?.type.kind).toBe('invalid');
    expect(dataflow.types.untyped?.type.kind).toBe('invalid');
  });
});
