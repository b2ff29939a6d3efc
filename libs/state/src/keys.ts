import { StateKeyError } from './errors.ts';
import type { StateKey, StateKeyType } from './types.ts';

/**
 * Keys are stored as text (so `psql` and `ctx.sql` read them plainly) and decoded by the table's
 * declared key type, so they round-trip exactly: `42` comes back as the number 42, `'42'` as the
 * string '42' from a string-keyed table. A key of another type than declared is refused rather
 * than silently converted, since `1` and `'1'` would otherwise share a row.
 */
export function encodeKey(keyType: StateKeyType, key: StateKey, table: string): string {
  switch (keyType) {
    case 'string':
      if (typeof key === 'string') return key;
      break;
    case 'number':
      // String() is the shortest text that parses back to the same double; -0 is stored as 0.
      if (typeof key === 'number') return Object.is(key, -0) ? '0' : String(key);
      break;
    case 'boolean':
      if (typeof key === 'boolean') return key ? 'true' : 'false';
      break;
    default:
      return assertNever(keyType);
  }
  throw new StateKeyError(
    `state table "${table}" has ${keyType} keys, got the ${typeof key} ${JSON.stringify(key)}: ` +
      `return a ${keyType} key from the assign-key step or declare the state's key type as ${typeof key}`,
    { table },
  );
}

export function decodeKey(keyType: StateKeyType, text: string, table: string): StateKey {
  switch (keyType) {
    case 'string':
      return text;
    case 'number': {
      const n = Number(text);
      if (text.trim() !== '' && !(Number.isNaN(n) && text !== 'NaN')) return n;
      break;
    }
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      break;
    default:
      return assertNever(keyType);
  }
  throw new StateKeyError(`state table "${table}" holds the key ${JSON.stringify(text)}, which is not a ${keyType}`, { table });
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
