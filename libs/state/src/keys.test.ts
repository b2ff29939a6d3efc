import { describe, expect, it } from 'vitest';
import { StateKeyError } from './errors.ts';
import { decodeKey, encodeKey } from './keys.ts';
import type { StateKey, StateKeyType } from './types.ts';

describe('state - keys', () => {
  const roundTrips: [StateKeyType, StateKey, string][] = [
    ['string', 'hello', 'hello'],
    ['string', '', ''],
    ['string', '42', '42'],
    ['number', 42, '42'],
    ['number', -0, '0'],
    ['number', 0.1, '0.1'],
    ['number', 1e21, '1e+21'],
    ['number', 9007199254740993, '9007199254740992'],
    ['number', -Infinity, '-Infinity'],
    ['boolean', true, 'true'],
    ['boolean', false, 'false'],
  ];
  it.each(roundTrips)('state - a %s key %s is stored as text and decoded back', (type, key, text) => {
    expect(encodeKey(type, key, 't')).toBe(text);
    expect(decodeKey(type, text, 't')).toBe(Object.is(key, -0) ? 0 : key);
  });

  it('state - a key of another type than declared is refused', () => {
    expect(() => encodeKey('number', '1', 't')).toThrow(StateKeyError);
    expect(() => encodeKey('string', 1, 't')).toThrow(/has string keys, got the number 1/);
    expect(() => encodeKey('boolean', 'true', 't')).toThrow(StateKeyError);
  });

  it('state - stored text that does not fit the key type is reported', () => {
    expect(() => decodeKey('number', 'abc', 't')).toThrow(StateKeyError);
    expect(() => decodeKey('number', '', 't')).toThrow(StateKeyError);
    expect(decodeKey('number', 'NaN', 't')).toBeNaN();
    expect(() => decodeKey('boolean', 'yes', 't')).toThrow(StateKeyError);
  });
});
