import { describe, expect, it } from 'vitest';
import type { NamedType, TypeRef } from '@ssdk/spec';
import { t } from './testing.ts';
import { isKeyType, lookupType, resolveType, typesCompatible, typeToString, type TypeTable } from './type-system.ts';

const pos = { file: 'f.yaml', line: 1, col: 1 };
const table = (types: Record<string, TypeRef>): TypeTable =>
  Object.fromEntries(Object.entries(types).map(([name, type]): [string, NamedType] => [name, { name, type, pos }]));

describe('type system', () => {
  const types = table({
    'car-event': t.object({ id: t.string(), speed: t.f64() }),
    'bike-event': t.object({ id: t.string(), speed: t.f64() }),
    count: t.u64(),
    total: t.named('count'),
  });

  it('plan - named-type lookup tolerates the spellings code uses', () => {
    expect(lookupType('car-event', types)?.name).toBe('car-event');
    expect(lookupType('CarEvent', types)?.name).toBe('car-event');
    expect(lookupType('carEvent', types)?.name).toBe('car-event');
    expect(lookupType('car_event', types)?.name).toBe('car-event');
    expect(lookupType('truck-event', types)).toBeUndefined();
    expect(lookupType('toString', types)).toBeUndefined();
  });

  it('plan - resolveType follows aliases to the definition', () => {
    expect(resolveType(t.named('total'), types)).toEqual(t.u64());
    expect(resolveType(t.named('nope'), types).kind).toBe('unknown');
  });

  it('plan - named records compare by name, anonymous ones by structure', () => {
    expect(typesCompatible(t.named('CarEvent'), t.named('car-event'), types)).toBe(true);
    expect(typesCompatible(t.named('car-event'), t.named('bike-event'), types)).toBe(false);
    expect(typesCompatible(t.named('car-event'), t.object({ speed: t.f64(), id: t.string() }), types)).toBe(true);
    expect(typesCompatible(t.named('car-event'), t.object({ id: t.string() }), types)).toBe(false);
    expect(typesCompatible(t.named('total'), t.u64(), types)).toBe(true);
    expect(typesCompatible(t.list(t.named('total')), t.list(t.u32()), types)).toBe(false);
  });

  it('plan - unknown, invalid and number are compatible as documented', () => {
    expect(typesCompatible(t.unknown(), t.named('car-event'), types)).toBe(true);
    expect(typesCompatible(t.list(t.string()), t.invalid(), types)).toBe(true);
    expect(typesCompatible(t.number(), t.u64(), types)).toBe(true);
    expect(typesCompatible(t.f64(), t.number(), types)).toBe(true);
    expect(typesCompatible(t.number(), t.named('count'), types)).toBe(true);
    expect(typesCompatible(t.number(), t.string(), types)).toBe(false);
    expect(typesCompatible(t.option(t.string()), t.string(), types)).toBe(false);
  });

  it('plan - comparing recursive types terminates', () => {
    const rec = table({ a: t.list(t.named('a')), b: t.list(t.named('b')) });
    expect(typeof typesCompatible(t.named('a'), t.named('b'), rec)).toBe('boolean');
    const loop = table({ x: t.named('y'), y: t.named('x') });
    expect(typesCompatible(t.named('x'), t.string(), loop)).toBe(true); // an alias loop is reported on its own
  });

  it('plan - typeToString prints readable types with canonical names', () => {
    expect(typeToString(t.list(t.string()))).toBe('list<string>');
    expect(typeToString(t.option(t.named('CarEvent')), types)).toBe('option<car-event>');
    expect(typeToString(t.kv(t.string(), t.u64()))).toBe('key-value<string, u64>');
    expect(typeToString(t.keyed(t.string(), t.u64()))).toBe('keyed-state<string, u64>');
    expect(typeToString(t.object({ a: t.string() }))).toBe('{a: string}');
    expect(typeToString(t.object({ a: t.string() }, 'row'))).toBe('row');
    expect(typeToString(t.number())).toBe('number');
  });

  it('plan - keys are strings, numbers or bools', () => {
    expect(isKeyType(t.string(), types)).toBe(true);
    expect(isKeyType(t.named('count'), types)).toBe(true);
    expect(isKeyType(t.bool(), types)).toBe(true);
    expect(isKeyType(t.list(t.string()), types)).toBe(false);
    expect(isKeyType(t.named('car-event'), types)).toBe(false);
  });
});
