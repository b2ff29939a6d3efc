/**
 * Values on topics: bytes ⇄ the JS values functions see, checked against the topic's type.
 * A record that does not parse, or does not match its schema (a missing field, a string where
 * a number belongs, an integer out of range), is rejected with a reason that says where in the
 * value the problem is; the runtime dead-letters it. Renames (`serialize`/`deserialize`) are
 * applied here, so functions see the property names of the services file.
 */
import { resolveType } from '@ssdk/plan';
import { readUtf8 } from '@ssdk/records';
import { INTEGER_TYPES, type Converter, type IntegerTypeName, type NamedType, type TypeRef } from '@ssdk/spec';

export interface ValueCodec {
  /**
   * Bytes to a checked value; throws `SchemaError`. With `read`, also says whether `bytes` are
   * exactly the text JSON.stringify writes for the value given (`read.asWritten`): what a
   * producer wrote, with a space or an escape JSON.stringify would not write, is not.
   */
  decode(bytes: Uint8Array, read?: ReadAs): unknown;
  /** A value to bytes, checked against the type first; throws `SchemaError`. */
  encode(value: unknown): Uint8Array;
  /** A value to its wire form — text (JSON, or a raw string) or bytes — checked first; throws `SchemaError`. */
  encodeText(value: unknown): string | Uint8Array;
  /** Only the check: a reason, or undefined when the value fits. */
  check(value: unknown): string | undefined;
  /**
   * A value as it would travel, without the bytes: checked like `encodeText`, then the value
   * JSON would give back (for a raw topic: the string or a copy of the bytes). An in-process
   * topic carries this instead of text; nothing else holds it, so later changes to `value`
   * do not reach it.
   */
  snapshot(value: unknown): unknown;
  /** What `decode` gives for the bytes of a `snapshot` (a copy of its own: readers may change it); throws `SchemaError`. */
  adopt(snapshot: unknown): unknown;
  /** The bytes of a `snapshot`: exactly what `encode` wrote for its value. */
  wire(snapshot: unknown): string | Uint8Array;
  /** `toJsonValue(value)`, quicker for values of the topic's type (`compileCopy`); unchecked. */
  copy(value: unknown): unknown;
  /**
   * A copy of a value read from this topic, to tell later whether it is still what was read
   * (`unchanged`): a unit that passes a record on as it came (a filter, an assign-key) can then
   * forward the bytes it read instead of writing them again. Only for values of the topic's usual
   * shape (an object of scalar fields, or an externally tagged enum of one); else undefined.
   */
  keep(value: unknown): unknown;
  /**
   * The bytes `out` goes out as, when it is what was read from `bytes` and unchanged since: `read`
   * is the value read from them (as it is now: a function may have changed it), `kept` what `keep`
   * copied of it then, and `bytes` exactly what JSON.stringify wrote for it. `out` must be `read`
   * itself, or the payload `read` holds for an enum's variant, and equal its copy (the same keys in
   * the same order, each the same scalar): then `bytes`, or the payload's slice of them — the text
   * JSON.stringify writes for `out`. Undefined otherwise.
   */
  asRead(out: unknown, read: unknown, kept: unknown, bytes: Uint8Array): Uint8Array | undefined;
  /**
   * Whether this topic writes `value` as `JSON.stringify(value)` would: a JSON topic whose check
   * the value passes with nothing to rename and nothing but scalar fields (no bytes to write as
   * base64). False says nothing (the general way decides).
   */
  writesAsIs(value: unknown): boolean;
  /**
   * For a checked topic of objects of scalar fields with no renames (a sensor reading, an event),
   * or of strings (JSON; a word count's words): `snapshot` gives what `snapshot` and `copy` give
   * for a value of that usual shape that passes the check, undefined for any other (the general
   * way then decides, and words the error); `adopt` gives what `adopt` gives for such a snapshot,
   * without checking it again — it passed when it was made, and a snapshot is nobody's to change.
   * Undefined for any other type.
   */
  usual?: { snapshot(value: unknown): unknown; adopt(snapshot: unknown): unknown };
  /**
   * Whether `decode` gives what `JSON.parse` makes of the bytes' text and refuses nothing else: a
   * JSON topic whose values are not checked (the dataflow's own topics), so nothing is renamed.
   * Such a value may be kept as its text and read when needed (a session's held records).
   */
  readonly asJsonText: boolean;
}

/** What `ValueCodec.decode` tells of the bytes it read, when asked. */
export interface ReadAs {
  asWritten: boolean;
}

export class SchemaError extends Error {
  override name = 'SchemaError';
  readonly code = 'schema';
  readonly domain = 'user';
}

const INT_RANGES: Record<IntegerTypeName, [number, number]> = {
  u8: [0, 255],
  u16: [0, 65_535],
  u32: [0, 4_294_967_295],
  // 64-bit integers travel as JSON numbers: exact only up to 2^53.
  u64: [0, Number.MAX_SAFE_INTEGER],
  i8: [-128, 127],
  i16: [-32_768, 32_767],
  i32: [-2_147_483_648, 2_147_483_647],
  i64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
const INTS: ReadonlySet<string> = new Set(INTEGER_TYPES);

type Types = Readonly<Record<string, NamedType>>;

/** A value transform for one type: check + rename, in one walk. `path` names where we are. */
type Walker = (value: unknown, path: string) => unknown;

const utf8 = new TextEncoder();

/**
 * `copyShape`: for a topic whose values are not checked (`unknown`, the dataflow's own topics),
 * the type its values usually have (what the planner inferred): copies of values of that shape
 * are quicker, and exactly what they would be anyway; nothing is checked against it.
 */
export function compileCodec(type: TypeRef, types: Types, converter: Converter = 'json', copyShape?: TypeRef): ValueCodec {
  const unchecked = resolveType(type, types).kind === 'unknown';
  const copyType = copyShape && unchecked ? copyShape : type;
  const copy = compileCopy(copyType, types);
  const incoming = compileWalker(type, types, 'in', 0);
  const outgoing = compileWalker(type, types, 'out', 0);
  const check = (value: unknown): string | undefined => {
    try {
      outgoing(value, '');
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
  if (converter === 'raw') {
    const resolved = resolveType(type, types);
    const asBytes = resolved.kind === 'primitive' && resolved.name === 'bytes';
    const encodeText = (value: unknown): string | Uint8Array => {
      if (asBytes && value instanceof Uint8Array) return value;
      if (typeof value === 'string') return value;
      throw new SchemaError(`a raw topic carries ${asBytes ? 'bytes' : 'strings'}, got ${kindOf(value)}`);
    };
    return {
      asJsonText: false,
      decode: (bytes) => (asBytes ? bytes : decodeUtf8(bytes)),
      encode(value) {
        const out = encodeText(value);
        return typeof out === 'string' ? utf8.encode(out) : out;
      },
      encodeText,
      snapshot(value) {
        const out = encodeText(value);
        // Text travels as UTF-8, where a lone surrogate becomes U+FFFD.
        return typeof out === 'string' ? wellFormed(out) : out.slice();
      },
      adopt(snapshot) {
        if (!asBytes) return snapshot;
        return typeof snapshot === 'string' ? utf8.encode(snapshot) : (snapshot as Uint8Array).slice();
      },
      wire: (snapshot) => snapshot as string | Uint8Array,
      copy: toJsonValue,
      keep: () => undefined,
      asRead: () => undefined,
      writesAsIs: () => false,
      check: (value) => (typeof value === 'string' || (asBytes && value instanceof Uint8Array) ? undefined : `expected ${asBytes ? 'bytes' : 'a string'}, got ${kindOf(value)}`),
    };
  }
  // Values of the usual shape are checked and copied in one generated pass (`compileScalarObject`);
  // any other goes the general way, which also words the errors.
  const quick = compileScalarObject(type, types);
  const kept = quickCopier(copyType, types);
  // What JSON.stringify writes as it is: a checked type's fields pass its checks; an unchecked
  // topic writes whatever it gets, and a value of scalars holds no bytes for the replacer.
  const asIs = unchecked ? kept?.test : quick?.test;
  const snapshot = quick
    ? (value: unknown) => {
        const out = quick.copy(value);
        return out === MISS ? copy(outgoing(value, '')) : out;
      }
    : (value: unknown) => copy(outgoing(value, ''));
  const adopt = quick
    ? (snapshot: unknown) => {
        const out = quick.copy(snapshot);
        return out === MISS ? incoming(copy(snapshot), '') : out;
      }
    : (snapshot: unknown) => incoming(copy(snapshot), '');
  // Bytes of the usual shape as JSON.stringify writes them are read without the text (`compileJsonReader`).
  const read = compileJsonReader(copyType, types);
  return {
    asJsonText: unchecked,
    decode(bytes, readAs) {
      if (readAs) readAs.asWritten = false;
      const plain = plainJsonString(bytes);
      if (plain !== undefined) return incoming(plain, '');
      let parsed = read ? read(bytes) : MISS;
      // The reader read only what JSON.stringify writes for the value it made.
      const asWritten = parsed !== MISS;
      if (parsed === MISS) {
        const text = decodeUtf8(bytes);
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          throw new SchemaError(`not valid JSON: ${(err as Error).message}`);
        }
      }
      // A value of the usual shape passes the walker's checks as it is: one generated pass.
      const value = quick?.test(parsed) ? parsed : incoming(parsed, '');
      // The walker may give another value (a rename): its text is not these bytes.
      if (readAs && asWritten && value === parsed) readAs.asWritten = true;
      return value;
    },
    encode(value) {
      return utf8.encode(asIs?.(value) ? JSON.stringify(value) : toJsonText(outgoing(value, '')));
    },
    // The replacer (bytes as base64) makes JSON.stringify call back per value written: a value
    // of scalars has none to replace, and its text is the same without it.
    encodeText(value) {
      return asIs?.(value) ? JSON.stringify(value) : toJsonText(outgoing(value, ''));
    },
    check: quick ? (value) => (quick.test(value) ? undefined : check(value)) : check,
    snapshot,
    adopt,
    wire: (snapshot) => JSON.stringify(snapshot),
    // A value that passes the quick check copies the same either way, and quicker.
    copy: quick
      ? (value: unknown) => {
          const out = quick.copy(value);
          return out === MISS ? copy(value) : out;
        }
      : copy,
    keep: kept
      ? (value) => {
          const out = kept.copy(value);
          return out === MISS ? undefined : out;
        }
      : () => undefined,
    asRead: kept
      ? (out, read, copy, bytes) => {
          if (out === read) return kept.same(out, copy) ? bytes : undefined;
          const within = kept.within?.(out, read, copy);
          return within === undefined ? undefined : bytes.subarray(within, bytes.length - 1);
        }
      : () => undefined,
    writesAsIs: asIs ?? (() => false),
    // There, undefined or not, on every topic's codec: with it only where a type has a usual
    // shape, the codecs were objects of two shapes, and the code that reads it for any topic
    // (`produce`, a unit's `outputCarried`) was compiled for one and thrown away at the first
    // record of the other (a word count's first top three, mid-run).
    usual: quick?.plain
      ? {
          snapshot: (value: unknown) => {
            const out = quick.copy(value);
            return out === MISS ? undefined : out;
          },
          adopt: quick.plain,
        }
      : isStringType(type, types)
        ? USUAL_STRINGS
        : undefined,
  };
}

/**
 * The usual snapshots of a checked JSON topic of strings: a string is its own snapshot and its
 * own copy (texts never change in place; JSON gives back the same text, lone surrogates
 * included), and the type's whole check is that it is one. Through the general way each word of
 * a word count was walked and copied when it was written to the words topic and again when it
 * was read from it.
 */
const USUAL_STRINGS = {
  snapshot: (value: unknown) => (typeof value === 'string' ? value : undefined),
  adopt: (snapshot: unknown) => snapshot,
};

function isStringType(type: TypeRef, types: Types): boolean {
  const r = resolveType(type, types);
  return r.kind === 'primitive' && r.name === 'string';
}

/** What a type's quick copier returns for a value of another shape: `toJsonValue` decides. */
const MISS = Symbol('miss');
type Copier = (v: unknown) => unknown;

/**
 * A type's usual shape, as generated functions: `copy` (the copy, or `MISS`), `test` (whether
 * `copy` would not miss, without copying) and `same` (whether a value still equals a copy `copy`
 * made: the same keys in the same order, each the same scalar). An enum's also has `within`:
 * whether `v` is the payload `value` holds under the variant its copy `copy` has and still equals
 * the copy's payload — then where that payload's text starts in the text JSON.stringify writes for
 * the copy (it ends before the last byte, the enum's closing brace).
 */
interface Shape {
  copy: Copier;
  test: (v: unknown) => boolean;
  same: (v: unknown, copy: unknown) => boolean;
  within?: (v: unknown, value: unknown, copy: unknown) => number | undefined;
  /** An object's: a copy of a value `copy` made, field by field as it is (no check: it passed). */
  plain?: Copier;
}

/**
 * `toJsonValue` for values of one type, quicker for their usual shape: an object of scalar
 * fields whose own keys are exactly its fields as written (`serializeAs`), in declared order,
 * each a string, boolean, null or finite non-negative-zero number — or an externally tagged
 * enum holding one — is copied by an object literal made for the type (one allocation of a
 * known shape, where a generic copy adds the fields one by one). Any other value, or type,
 * goes through `toJsonValue`, so the result is always exactly what it gives.
 */
export function compileCopy(type: TypeRef, types: Types): Copier {
  return quickerCopy(type, types, toJsonValue);
}

/**
 * `copy`, quicker for values of the type's usual shape (`compileCopy`'s): a value of that shape
 * goes through the type's literal, which makes what any copy of it field by field makes (the
 * same keys in the same order, each the same scalar); any other value, or type, through `copy`.
 */
export function quickerCopy(type: TypeRef, types: Types, copy: Copier): Copier {
  const fast = quickCopier(type, types)?.copy;
  if (!fast) return copy;
  return (v) => {
    const out = fast(v);
    return out === MISS ? copy(v) : out;
  };
}

function quickCopier(t: TypeRef, types: Types): Shape | undefined {
  const r = resolveType(t, types);
  if (r.kind === 'object') {
    const names = r.properties.map((p) => p.serializeAs ?? p.name);
    const scalar = r.properties.every((p) => {
      const k = resolveType(p.type, types);
      return k.kind === 'number' || (k.kind === 'primitive' && k.name !== 'bytes');
    });
    if (!scalar || names.length === 0 || names.length > 64 || names.includes('__proto__') || new Set(names).size !== names.length) return undefined;
    // One generated function per type: it reads each field once and builds the copy as one
    // literal (a closure walking the names cost ~3x as much per record). A number JSON would
    // change (NaN, Infinity, -0) or any non-scalar is a miss. The names come from the services
    // file: written as JSON string literals, they are only ever keys.
    const tests = names.map((_n, i) => `(typeof a${i} === 'number' ? Number.isFinite(a${i}) && !(a${i} === 0 && 1 / a${i} < 0) : typeof a${i} === 'string' || typeof a${i} === 'boolean' || a${i} === null)`);
    const fields = names.map((n, i) => `${JSON.stringify(n)}: a${i}`);
    return shapeCopier('quickCopy', names, tests, fields);
  }
  if (r.kind === 'enum' && r.tagging !== 'untagged') {
    const variants = new Map<string, Shape & { wrap: Copier }>();
    for (const variant of r.variants) {
      const shape = variant.type ? quickCopier(variant.type, types) : undefined;
      if (shape && variant.name !== '__proto__') variants.set(variant.name, { ...shape, wrap: new Function('p', `return {${JSON.stringify(variant.name)}: p};`) as Copier });
    }
    if (variants.size === 0) return undefined;
    return variantsShape(variants, (variant, payload) => variant.wrap(payload));
  }
  return undefined;
}

/**
 * The shape of an enum whose values are `{variant: payload}` (one key), each variant's payload
 * of its own shape; `wrap` makes the copy of a variant from its payload's copy.
 */
function variantsShape<V extends Shape>(variants: ReadonlyMap<string, V>, wrap: (variant: V, payload: unknown) => unknown): Shape {
  const variantOf = (v: unknown): [V, unknown] | undefined => {
    const only = onlyKeyOfPlainObject(v);
    const variant = only === undefined ? undefined : variants.get(only);
    return variant ? [variant, (v as Record<string, unknown>)[only!]] : undefined;
  };
  // `{"name":` before a variant's payload, in UTF-8 bytes.
  const heads = new Map<string, number>();
  for (const name of variants.keys()) heads.set(name, utf8.encode(`{${JSON.stringify(name)}:`).length);
  return {
    copy(v) {
      const found = variantOf(v);
      if (!found) return MISS;
      const payload = found[0].copy(found[1]);
      return payload === MISS ? MISS : wrap(found[0], payload);
    },
    within(v, value, copy) {
      // The variant as read is the copy's one key; `value` may have changed since.
      const only = onlyKeyOfPlainObject(copy);
      const variant = only === undefined ? undefined : variants.get(only);
      if (!variant || typeof value !== 'object' || value === null || (value as Record<string, unknown>)[only!] !== v) return undefined;
      return variant.same(v, (copy as Record<string, unknown>)[only!]) ? heads.get(only!) : undefined;
    },
    test(v) {
      const found = variantOf(v);
      return found !== undefined && found[0].test(found[1]);
    },
    same(v, copy) {
      const found = variantOf(v);
      if (!found) return false;
      const only = onlyKeyOfPlainObject(copy);
      return only !== undefined && variants.get(only) === found[0] && found[0].same(found[1], (copy as Record<string, unknown>)[only]);
    },
  };
}

/**
 * What the walker accepts for a scalar type, as a JavaScript condition on `x` (the same
 * checks as `compileWalker`'s), and whether its values are numbers; undefined for other types.
 */
function scalarTest(t: TypeRef, types: Types, x: string): { test: string; numeric: boolean } | undefined {
  const r = resolveType(t, types);
  const finite = { test: `typeof ${x} === 'number' && Number.isFinite(${x})`, numeric: true };
  if (r.kind === 'number') return finite;
  if (r.kind !== 'primitive') return undefined;
  if (INTS.has(r.name)) {
    const [min, max] = INT_RANGES[r.name as IntegerTypeName];
    return { test: `typeof ${x} === 'number' && Number.isInteger(${x}) && ${x} >= ${min} && ${x} <= ${max}`, numeric: true };
  }
  switch (r.name) {
    case 'f32':
    case 'f64':
      return finite;
    case 'bool':
      return { test: `typeof ${x} === 'boolean'`, numeric: false };
    case 'string':
      return { test: `typeof ${x} === 'string'`, numeric: false };
    default:
      return undefined;
  }
}

/**
 * For an object type of required scalar fields with no renames (a sensor reading, an event):
 * one generated function that checks a value and copies it, as `snapshot` and `adopt` would
 * (the walker's check, then `toJsonValue`) — when the value's own keys are exactly the fields in
 * declared order and every field passes its check. Anything else is `MISS`, and the general
 * way decides (and words the error). Per record it replaces two walks and a copy through
 * closures (~220 ns) with one monomorphic pass (~35 ns). Undefined for any other type.
 */
function compileScalarObject(t: TypeRef, types: Types): Shape | undefined {
  const r = resolveType(t, types);
  if (r.kind === 'enum') return compileScalarVariants(r, types);
  if (r.kind !== 'object' || r.properties.length === 0 || r.properties.length > 64) return undefined;
  const names = r.properties.map((p) => p.name);
  if (names.includes('__proto__') || new Set(names).size !== names.length) return undefined;
  const tests: string[] = [];
  const fields: string[] = [];
  for (const [i, prop] of r.properties.entries()) {
    const renamed = (prop.serializeAs !== undefined && prop.serializeAs !== prop.name) || (prop.deserializeFrom !== undefined && prop.deserializeFrom !== prop.name);
    // An optional field may be absent: the key check below would need a shape per subset.
    if (renamed || prop.optional || resolveType(prop.type, types).kind === 'option') return undefined;
    const scalar = scalarTest(prop.type, types, `a${i}`);
    if (!scalar) return undefined;
    tests.push(`(${scalar.test})`);
    // JSON has no -0: the copy writes 0 (a NaN or an infinity fails the check).
    fields.push(`${JSON.stringify(prop.name)}: ${scalar.numeric ? `a${i} === 0 ? 0 : a${i}` : `a${i}`}`);
  }
  return shapeCopier('scalarObject', names, tests, fields);
}

/**
 * The generated function both copiers above use: `v` must be a plain object whose own keys are
 * exactly `names` in order; field i is read once as `a<i>`, `tests` (over `a<i>`) must all hold,
 * and the result is the literal `{fields}` — else `MISS`. The names come from the services file:
 * written as JSON string literals, they are only ever keys.
 */
function shapeCopier(name: string, names: readonly string[], tests: readonly string[], fields: readonly string[]): Shape {
  const reads = names.map((n, i) => `const a${i} = v[${JSON.stringify(n)}];`).join('\n');
  // Each key is checked against its name written in the code, a constant: against an array of the
  // names as the services file gave them (strings V8 had not interned) every key of every value
  // copied was a call to compare two strings by their characters — a reader's adopted copy, a
  // topic's snapshot and a branch's copy each check every key.
  const keyAt = (miss: string) => names.map((n, i) => `case ${i}: if (k !== ${JSON.stringify(n)}) return ${miss}; break;`).join('\n        ');
  const keys = (miss: string) => `
    if (typeof v !== 'object' || v === null) return ${miss};
    let i = 0;
    for (const k in v) {
      switch (i) {
        ${keyAt(miss)}
        default: return ${miss};
      }
      i++;
    }
    if (i !== ${names.length}) return ${miss};`;
  // The prototype is checked after the fields are read, not before: a read with its feedback
  // tells optimised code the value's map, and V8 then folds Object.getPrototypeOf into a constant
  // (before any read it is a call into the runtime, ~20 ns of a ~50 ns copy; ~5 copies a sensors
  // reading). A value that is not a plain object is still refused; only its own enumerable
  // properties (exactly the names, by the loop above) were read first, as the general way that
  // then decides (JSON's) reads them too.
  const plain = (miss: string) => `
    const proto = Object.getPrototypeOf(v);
    if (proto !== OBJECT_PROTO && proto !== null) return ${miss};`;
  const body = `${keys('MISS')}
    ${reads}
    ${plain('MISS')}
    if (!(${tests.join(' && ')})) return MISS;
    return { ${fields.join(', ')} };`;
  const test = `${keys('false')}
    ${reads}
    ${plain('false')}
    return ${tests.join(' && ')};`;
  // A copy holds exactly the names, each a scalar: the value is the same when its keys are the
  // same in the same order and each field is the same (a NaN written since is not: it is written again).
  const same = `${keys('false')}
    if (!(${names.map((n) => `v[${JSON.stringify(n)}] === c[${JSON.stringify(n)}]`).join(' && ')})) return false;
    ${plain('false')}
    return true;`;
  // V8 keeps a field that has only ever held numbers as a "double" field: every object made
  // with it gets a box of its own for each such number (a timestamp, a price), so a copy of a
  // reading {car, time, kph, fuel} was four allocations, each a survivor for the collector
  // while a topic holds it. One object of the same keys holding null in every field first makes
  // those fields hold any value, for every object with these keys in this order (field kinds
  // belong to the keys' order, not to the literal that made the object): the copy then shares the
  // number objects it reads, one allocation per copy.
  (new Function(`return { ${names.map((n) => `${JSON.stringify(n)}: null`).join(', ')} };`) as () => unknown)();
  const make = <F>(text: string) => new Function('MISS', 'OBJECT_PROTO', `return ${text};`)(MISS, OBJECT_PROTO) as F;
  return {
    copy: make<Copier>(`function ${name}(v) {${body}\n}`),
    test: make<Shape['test']>(`function ${name}Test(v) {${test}\n}`),
    same: make<Shape['same']>(`function ${name}Same(v, c) {${same}\n}`),
    // What `copy` made has exactly the names, each a scalar as `fields` wrote it: read as it is.
    plain: make<Copier>(`function ${name}Plain(v) {\n    return { ${names.map((n) => `${JSON.stringify(n)}: v[${JSON.stringify(n)}]`).join(', ')} };\n}`),
  };
}

/**
 * `compileScalarObject` for an externally tagged enum (Nexmark's `{"bid": {...}}`): a value that
 * is one variant, not renamed, holding an object `compileScalarObject` takes, is checked and
 * copied as `{variant: copy}`, as the walker and the copier give it; anything else is `MISS`.
 */
function compileScalarVariants(r: Extract<TypeRef, { kind: 'enum' }>, types: Types): Shape | undefined {
  if (r.tagging !== 'externally-tagged') return undefined;
  const variants = new Map<string, Shape & { name: string }>();
  for (const x of r.variants) {
    const renamed = (x.serializeAs !== undefined && x.serializeAs !== x.name) || (x.deserializeFrom !== undefined && x.deserializeFrom !== x.name);
    const payload = x.type ? compileScalarObject(x.type, types) : undefined;
    if (!renamed && payload && x.name !== '__proto__') variants.set(x.name, { ...payload, name: x.name });
  }
  if (variants.size === 0) return undefined;
  return variantsShape(variants, (variant, payload) => ({ [variant.name]: payload }));
}

/** Reads a value's bytes as `JSON.parse` would, or gives `MISS` (then `JSON.parse` decides). */
type JsonReader = (bytes: Uint8Array) => unknown;

/** `Buffer`'s own latin1 slice, which works on any Uint8Array `this` (a view into a frame). */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/**
 * For a type of the usual shape (`quickCopier`'s: an object of scalar fields, or an externally
 * tagged enum of such objects), a generated function that reads the bytes JSON.stringify writes
 * for such a value — its keys exactly the fields in order, no whitespace, each string printable
 * ASCII without escapes, each number an integer of at most 15 digits, each boolean `true` or
 * `false` — straight from the bytes, without making the text first: the same value `JSON.parse`
 * gives (the same keys in the same order, the same strings and numbers). Anything else (an escape,
 * a non-ASCII byte, a fraction, `-0`, `null`, another key, a byte out of place) is `MISS`, and the
 * text goes to `JSON.parse` as before, which also words the error. So what it reads, JSON.stringify
 * writes again as exactly these bytes (`ValueCodec.decode`'s `asWritten`). A Nexmark bid (~240 bytes) decodes
 * in ~460 ns where the UTF-8 text and `JSON.parse` took ~800 ns: a hop between operators reads
 * every value. Undefined for any other type. The names come from the services file: written as JSON string
 * literals, they are only ever keys, and their bytes are compared as numbers.
 */
export function compileJsonReader(t: TypeRef, types: Types): JsonReader | undefined {
  const r = resolveType(t, types);
  if (r.kind === 'object') {
    const body = objectReaderBody(r, types);
    return body ? makeReader(`const end = b.length;\n${body.code}\nreturn ${body.result};`) : undefined;
  }
  if (r.kind !== 'enum' || r.tagging !== 'externally-tagged') return undefined;
  // {"variant":payload}: the variant's key bytes, then its payload up to the closing brace.
  const branches: string[] = [];
  for (const variant of r.variants) {
    const payload = variant.type ? resolveType(variant.type, types) : undefined;
    const name = variant.serializeAs ?? variant.name;
    if (!payload || payload.kind !== 'object' || name === '__proto__') continue;
    const body = objectReaderBody(payload, types);
    if (!body) continue;
    const head = `{${JSON.stringify(name)}:`;
    branches.push(`if (${bytesAt(head, '0')}) {
      at = ${utf8.encode(head).length};
      ${body.code}
      if (b[at] !== 0x7d || at + 1 !== b.length) return MISS;
      return { ${JSON.stringify(name)}: ${body.result} };
    }`);
  }
  if (branches.length === 0) return undefined;
  // The payload ends where the enum's closing brace starts.
  return makeReader(`const end = b.length - 1;\n${branches.join('\n')}\nreturn MISS;`);
}

function makeReader(body: string): JsonReader {
  const text = `return function jsonReader(b) {
    let at = 0, c = 0, s = 0, n = 0, neg = false;
    ${body}
  };`;
  return new Function('MISS', 'latin1Slice', text)(MISS, latin1Slice) as JsonReader;
}

/** A key JavaScript objects enumerate first, in numeric order (an array index). */
const ARRAY_INDEX = /^(?:0|[1-9][0-9]{0,9})$/;

/** The condition that the UTF-8 bytes of `text` stand at `at` in `b` (a loop of comparisons, unrolled). */
function bytesAt(text: string, at: string): string {
  return Array.from(utf8.encode(text), (byte, i) => `b[${at} + ${i}] === ${byte}`).join(' && ');
}

/**
 * Reads the object `{...}` from `at` so that its closing brace is the byte before `end`: code that
 * leaves each field in `f<i>` (or returns `MISS`), and the literal that makes the value. Undefined
 * when a field is not a scalar the reader knows.
 */
function objectReaderBody(r: Extract<TypeRef, { kind: 'object' }>, types: Types): { code: string; result: string } | undefined {
  const names = r.properties.map((p) => p.serializeAs ?? p.name);
  if (names.length === 0 || names.length > 64 || names.includes('__proto__') || new Set(names).size !== names.length) return undefined;
  // An object lists keys like "1" first, whatever the order they were written in: JSON.stringify
  // would not write these bytes again.
  if (names.some((n) => ARRAY_INDEX.test(n))) return undefined;
  const code: string[] = [];
  for (const [i, prop] of r.properties.entries()) {
    const k = resolveType(prop.type, types);
    const kind = k.kind === 'number' ? 'number' : k.kind !== 'primitive' ? undefined : k.name === 'string' ? 'string' : k.name === 'bool' ? 'bool' : k.name === 'bytes' ? undefined : 'number';
    if (!kind) return undefined;
    const key = `${i === 0 ? '{' : ','}${JSON.stringify(names[i])}:`;
    code.push(`if (!(${bytesAt(key, 'at')})) return MISS;`, `at += ${utf8.encode(key).length};`);
    if (kind === 'string') {
      // Printable ASCII up to the closing quote: no escape, no control character, no UTF-8 to check.
      code.push(`if (b[at] !== 0x22) return MISS;`, `s = ++at;`, `for (;;) { c = b[at]; if (c === 0x22) break; if (!(c >= 0x20 && c <= 0x7e) || c === 0x5c) return MISS; at++; }`, `const f${i} = latin1Slice.call(b, s, at++);`);
    } else if (kind === 'bool') {
      code.push(`let f${i};`, `if (${bytesAt('true', 'at')}) { f${i} = true; at += 4; } else if (${bytesAt('false', 'at')}) { f${i} = false; at += 5; } else return MISS;`);
    } else {
      // An integer of at most 15 digits is exact as it is summed. "-0" (JSON.parse reads -0,
      // JSON.stringify writes 0), a fraction, an exponent or more digits: JSON.parse.
      code.push(
        `neg = b[at] === 0x2d; if (neg) at++;`,
        `s = at; n = 0;`,
        `for (c = b[at]; c >= 0x30 && c <= 0x39; c = b[++at]) n = n * 10 + (c - 0x30);`,
        `if (at === s || at - s > 15 || (at - s > 1 && b[s] === 0x30) || (neg && n === 0) || c === 0x2e || c === 0x65 || c === 0x45) return MISS;`,
        `const f${i} = neg ? -n : n;`,
      );
    }
  }
  code.push(`if (b[at] !== 0x7d || at + 1 !== end) return MISS;`, `at++;`);
  return { code: code.join('\n'), result: `{ ${names.map((n, i) => `${JSON.stringify(n)}: f${i}`).join(', ')} }` };
}

/**
 * `JSON.parse(JSON.stringify(v))` (with bytes as base64, as values are written) without the
 * text: plain objects, arrays and primitives are copied directly; anything else (a `toJSON`,
 * a class instance, a cycle, a BigInt) goes through JSON itself, so the result, and any
 * error, is exactly what the round trip gives. `undefined` (no JSON at all) is a `SchemaError`.
 */
export function toJsonValue(v: unknown): unknown {
  const out = copyJson(v, 0);
  if (out === undefined) throw new SchemaError(`${kindOf(v)} has no JSON form`);
  return out;
}

const OBJECT_PROTO = Object.prototype;

/**
 * The one key of a plain object (an externally tagged enum's variant name), or undefined when `v`
 * is not a plain object or has no key or several: the quick enum copiers then leave it to the
 * generic path, which says what is wrong.
 */
function onlyKeyOfPlainObject(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== OBJECT_PROTO && proto !== null) return undefined;
  let only: string | undefined;
  for (const k in v) {
    if (only !== undefined) return undefined;
    only = k;
  }
  return only;
}

function copyJson(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      // JSON has no NaN or Infinity (they become null) and no -0.
      return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
    case 'object': {
      if (v === null) return null;
      // Deep structures (and cycles, which JSON reports) take the slow road.
      if (depth > 64 || typeof (v as { toJSON?: unknown }).toJSON === 'function') return viaJson(v);
      if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      if (Array.isArray(v)) {
        const out: unknown[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const item = copyJson(v[i], depth + 1);
          out[i] = item === undefined ? null : item;
        }
        return out;
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== OBJECT_PROTO && proto !== null) return viaJson(v);
      const src = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      // for-in, not Object.keys: no key array per object (V8 enumerates from the shape's cache).
      // The same keys in the same order for a plain object (Object.prototype has no enumerable keys).
      for (const k in src) {
        if (!Object.hasOwn(src, k)) continue;
        // An own `__proto__` key would set the copy's prototype: let JSON make that one.
        if (k === '__proto__') return viaJson(v);
        const item = copyJson(src[k], depth + 1);
        if (item !== undefined) out[k] = item;
      }
      return out;
    }
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      // bigint: JSON throws, and so do we.
      return viaJson(v);
  }
}

function viaJson(v: unknown): unknown {
  const text = JSON.stringify(v, jsonReplacer) as string | undefined;
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `String.prototype.isWellFormed` (ES2024, in every Node this runs on; the workspace's lib is ES2023). */
type MaybeWellFormed = string & { isWellFormed(): boolean };

/**
 * `s` as it reads back from UTF-8: lone surrogates become U+FFFD. Every carried key and raw
 * string goes through here: `isWellFormed` answers a one-byte string at once (~8 ns for a
 * word, where a regular expression looking for surrogates took ~20).
 */
export function wellFormed(s: string): string {
  return (s as MaybeWellFormed).isWellFormed() ? s : s.replace(LONE_SURROGATE, '\uFFFD');
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return readUtf8(bytes);
  } catch {
    throw new SchemaError('not valid UTF-8');
  }
}

// Bytes inside JSON values travel as base64 strings.
function jsonReplacer(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
}

/**
 * A checked value's JSON text. A replacer makes `JSON.stringify` call back into JS for every
 * value it writes (~4x the time of a plain call for a short string): a string, number or
 * boolean holds no bytes to replace, so it is written without one (the text is the same).
 */
function toJsonText(v: unknown): string {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' ? JSON.stringify(v) : JSON.stringify(v, jsonReplacer);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Longest string `plainJsonString` reads: past it, `JSON.parse` of the text is as quick. */
const PLAIN_MAX = 16;

/**
 * The string a JSON text holds, when the text is nothing but a short string of printable ASCII
 * without escapes (a word, a key): what `JSON.parse` gives for it, read straight from the bytes
 * inside the quotes. Anything else (an escape, a control character, a non-ASCII byte,
 * whitespace around it, another kind of value, a longer string) is undefined, and `JSON.parse`
 * decides. Measured per word: ~60 ns, where UTF-8 decoding the text and parsing it took ~170 ns.
 */
export function plainJsonString(bytes: Uint8Array): string | undefined {
  const end = bytes.length - 1;
  if (end < 1 || end > PLAIN_MAX + 1 || bytes[0] !== QUOTE || bytes[end] !== QUOTE) return undefined;
  let s = '';
  for (let i = 1; i < end; i++) {
    const b = bytes[i]!;
    // Below 0x20: JSON has no raw control characters; 0x80 and up: not ASCII (UTF-8 checks).
    if (b < 0x20 || b >= 0x80 || b === QUOTE || b === BACKSLASH) return undefined;
    s += String.fromCharCode(b);
  }
  return s;
}

function fail(path: string, message: string): never {
  throw new SchemaError(path ? `${path}: ${message}` : message);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}…` : v)})`;
  return `${typeof v === 'number' ? 'the number' : typeof v === 'boolean' ? 'the boolean' : typeof v} ${String(v)}`;
}

const ANY: Walker = (v) => v;

/** Whether a type's walker is a scalar check (no nested values: its path matters only in a failure). */
function isLeaf(t: TypeRef, types: Types): boolean {
  const r = resolveType(t, types);
  return r.kind === 'number' || r.kind === 'primitive';
}

function compileWalker(t: TypeRef, types: Types, dir: 'in' | 'out', depth: number): Walker {
  // Recursive types are rejected by the planner; this only guards against a loop.
  if (depth > 32) return ANY;
  const r = resolveType(t, types);
  switch (r.kind) {
    case 'unknown':
    case 'invalid':
    case 'void':
      return ANY;
    case 'number':
      return (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, `expected a number, got ${kindOf(v)}`));
    case 'primitive': {
      const name = r.name;
      if (INTS.has(name)) {
        const [min, max] = INT_RANGES[name as IntegerTypeName];
        return (v, p) => {
          if (typeof v !== 'number' || !Number.isInteger(v)) return fail(p, `expected ${name} (an integer), got ${kindOf(v)}`);
          if (v < min || v > max) return fail(p, `${v} is out of range for ${name} (${min} to ${max})`);
          return v;
        };
      }
      switch (name) {
        case 'f32':
        case 'f64':
          return (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, `expected ${name} (a number), got ${kindOf(v)}`));
        case 'bool':
          return (v, p) => (typeof v === 'boolean' ? v : fail(p, `expected bool, got ${kindOf(v)}`));
        case 'string':
          return (v, p) => (typeof v === 'string' ? v : fail(p, `expected string, got ${kindOf(v)}`));
        case 'bytes':
          return dir === 'in'
            ? (v, p) => (typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : fail(p, `expected bytes (base64), got ${kindOf(v)}`))
            : // A subclass (a Buffer) goes on as a plain view of its bytes: JSON would write what its
              // own toJSON gives (\`{type: 'Buffer', data}\`), which no reader takes for bytes.
              (v, p) => (v instanceof Uint8Array ? (v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) : fail(p, `expected bytes (a Uint8Array), got ${kindOf(v)}`));
        default:
          return ANY;
      }
    }
    case 'object': {
      const renames = r.properties.some((prop) => {
        const wire = dir === 'in' ? (prop.deserializeFrom ?? prop.serializeAs) : prop.serializeAs;
        return wire !== undefined && wire !== prop.name;
      });
      const props = r.properties.map((prop) => ({
        name: prop.name,
        wire: dir === 'in' ? (prop.deserializeFrom ?? prop.name) : (prop.serializeAs ?? prop.name),
        // A type renamed for writing only still reads back what it wrote (a dataflow reads its own topics).
        written: dir === 'in' && prop.deserializeFrom === undefined && prop.serializeAs !== undefined && prop.serializeAs !== prop.name ? prop.serializeAs : undefined,
        // An `option` property may be absent (`undefined` in JavaScript, `null` in JSON) like an `optional` one.
        optional: prop.optional || resolveType(prop.type, types).kind === 'option',
        walk: compileWalker(prop.type, types, dir, depth + 1),
        // A scalar's walker uses its path only to fail: its path is made then, not per record.
        leaf: isLeaf(prop.type, types),
      }));
      return (given, p) => {
        // Written, a value with a toJSON is what that gives (JSON.stringify calls it, with the
        // value's key): that is what is checked, so a value the topic could not read back is
        // refused here, where it was made, not by its first reader.
        const v = dir === 'out' && given !== null && typeof given === 'object' && typeof (given as { toJSON?: unknown }).toJSON === 'function' ? (given as { toJSON(key: string): unknown }).toJSON(p.slice(p.lastIndexOf('.') + 1)) : given;
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(p, `expected an object, got ${kindOf(v)}${v === given ? '' : ' (what its toJSON gives)'}`);
        const src = v as Record<string, unknown>;
        // Without renames a value is only checked and goes on as it is: no copy per record,
        // unless a nested value changes (bytes decoded, a nested rename).
        let out: Record<string, unknown> | undefined = renames ? {} : undefined;
        for (const prop of props) {
          const read = dir === 'in' ? prop.wire : prop.name;
          const from = prop.written !== undefined && src[read] === undefined ? prop.written : read;
          const to = dir === 'in' ? prop.name : prop.wire;
          const value = src[from];
          if (value === undefined || value === null) {
            if (!prop.optional) return fail(p ? `${p}.${from}` : from, `missing required field`);
            continue;
          }
          let walked: unknown;
          if (prop.leaf) {
            try {
              walked = prop.walk(value, '');
            } catch {
              // Again with its path, for the message.
              walked = prop.walk(value, p ? `${p}.${from}` : from);
            }
          } else walked = prop.walk(value, p ? `${p}.${from}` : from);
          if (out) out[to] = walked;
          else if (walked !== value) {
            out = { ...src };
            out[to] = walked;
          }
        }
        return out ?? src;
      };
    }
    case 'list': {
      const item = compileWalker(r.items, types, dir, depth + 1);
      return (v, p) => (Array.isArray(v) ? v.map((x, i) => item(x, `${p}[${i}]`)) : fail(p, `expected a list, got ${kindOf(v)}`));
    }
    case 'option': {
      const inner = compileWalker(r.value, types, dir, depth + 1);
      return (v, p) => (v === null || v === undefined ? null : inner(v, p));
    }
    case 'key-value': {
      const key = compileWalker(r.key, types, dir, depth + 1);
      const value = compileWalker(r.value, types, dir, depth + 1);
      return (v, p) => {
        if (v === null || typeof v !== 'object') return fail(p, `expected {key, value}, got ${kindOf(v)}`);
        const kv = v as { key?: unknown; value?: unknown };
        return { key: key(kv.key, `${p}.key`), value: value(kv.value, `${p}.value`) };
      };
    }
    case 'keyed-state':
      return compileWalker(r.value, types, dir, depth + 1);
    case 'arrow-row': {
      const cols = r.columns.map((c) => ({
        name: c.name,
        walk: c.type === 'timestamp' ? compileWalker({ kind: 'number' }, types, dir, depth + 1) : compileWalker({ kind: 'primitive', name: c.type }, types, dir, depth + 1),
      }));
      return (v, p) => {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(p, `expected a row object, got ${kindOf(v)}`);
        const src = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const c of cols) if (src[c.name] !== undefined && src[c.name] !== null) out[c.name] = c.walk(src[c.name], p ? `${p}.${c.name}` : c.name);
        return out;
      };
    }
    case 'enum': {
      // `at`: the variant's path at the top of a value, made once (as the path was always written).
      const variants = r.variants.map((variant) => ({ name: variant.name, at: `.${variant.name}`, walk: variant.type ? compileWalker(variant.type, types, dir, depth + 1) : undefined }));
      const names = variants.map((x) => x.name).join(', ');
      if (r.tagging === 'untagged') {
        return (v, p) => {
          for (const variant of variants) {
            if (!variant.walk) continue;
            try {
              return variant.walk(v, p);
            } catch {
              // try the next variant
            }
          }
          if (typeof v === 'string' && variants.some((x) => !x.walk && x.name === v)) return v;
          return fail(p, `matches no variant of ${names}`);
        };
      }
      // Variants renamed on the wire (`serialize`/`deserialize: {rename}`), as object properties
      // are: read under `deserializeFrom` (else the name, or the name they are written with, so
      // a dataflow reads its own topics), written under `serializeAs`; in functions a variant is
      // always its declared name.
      const byName = new Map<string, (typeof variants)[number]>();
      const toWire = new Map<string, string>();
      r.variants.forEach((x, i) => {
        const compiled = variants[i]!;
        if (dir === 'in') {
          byName.set(x.deserializeFrom ?? x.name, compiled);
          if (x.deserializeFrom === undefined && x.serializeAs !== undefined && !byName.has(x.serializeAs)) byName.set(x.serializeAs, compiled);
        } else {
          byName.set(x.name, compiled);
          if (x.serializeAs !== undefined) toWire.set(x.name, x.serializeAs);
        }
      });
      const out = (name: string) => (dir === 'in' ? name : (toWire.get(name) ?? name));
      return (v, p) => {
        if (typeof v === 'string') {
          const unit = byName.get(v);
          return unit && !unit.walk ? out(unit.name) : fail(p, `unknown variant ${JSON.stringify(v)} (expected one of ${names})`);
        }
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(p, `expected a variant of ${names}, got ${kindOf(v)}`);
        const keys = Object.keys(v);
        const variant = keys.length === 1 ? byName.get(keys[0]!) : undefined;
        if (!variant) return fail(p, `expected exactly one of ${names}, got ${keys.length ? keys.join(', ') : 'an empty object'}`);
        const key = keys[0]!;
        const payload = (v as Record<string, unknown>)[key];
        const walked = variant.walk ? variant.walk(payload, p ? `${p}.${variant.name}` : variant.at) : payload;
        // As the object walker does: a value the walk left as it was goes on as it is (v holds
        // only this variant's key), not copied per record; a changed payload gets a new wrapper.
        const name = out(variant.name);
        return walked === payload && name === key ? v : { [name]: walked };
      };
    }
    case 'named':
      return ANY;
    default: {
      const never: never = r;
      return never;
    }
  }
}
