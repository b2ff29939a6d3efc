/**
 * Types as the planner sees them: named-type lookup (tolerant of the spellings code uses),
 * resolution, compatibility and a readable printer (`list<string>`, `option<car-event>`).
 */
import { FLOAT_TYPES, INTEGER_TYPES, kebabCase, typeToString as printType, type NamedType, type SourcePos, type TypeRef } from '@ssdk/spec';
import { assertNever } from './assert-never.ts';

/** `Dataflow.types`: named types by their declared name. */
export type TypeTable = Readonly<Record<string, NamedType>>;

/**
 * The named type `name` refers to: the exact name first, then its kebab-case (code writes
 * `CarEvent` or `car_event` for the file's `car-event`), then any declared name with the same
 * kebab-case.
 */
export function lookupType(name: string, types: TypeTable): NamedType | undefined {
  if (Object.hasOwn(types, name)) return types[name];
  const kebab = kebabCase(name);
  if (Object.hasOwn(types, kebab)) return types[kebab];
  for (const key of Object.keys(types)) if (kebabCase(key) === kebab) return types[key];
  return undefined;
}

interface Dereferenced {
  type: TypeRef;
  /** The declared name of the last named hop, if the type was reached through one. */
  name?: string;
}

function deref(t: TypeRef, types: TypeTable): Dereferenced {
  let current = t;
  let name: string | undefined;
  const seen = new Set<string>();
  while (current.kind === 'named') {
    const found = lookupType(current.name, types);
    // An unknown name is reported on its own; an alias loop is a recursive type, reported too.
    if (!found) return { type: { kind: 'unknown' } };
    if (seen.has(found.name)) return { type: { kind: 'invalid' } };
    seen.add(found.name);
    name = found.name;
    current = found.type;
  }
  return name === undefined ? { type: current } : { type: current, name };
}

/** The definition behind a type: named references followed until a concrete type. */
export function resolveType(t: TypeRef, types: TypeTable): TypeRef {
  return deref(t, types).type;
}

/** Types that stand for "not known here": compatible with everything, so one mistake is reported once. */
export function isWildcard(t: TypeRef): boolean {
  return t.kind === 'unknown' || t.kind === 'invalid';
}

const NUMERIC: ReadonlySet<string> = new Set([...INTEGER_TYPES, ...FLOAT_TYPES]);

/** A number in any form: TypeScript's `number`, an integer or a float. */
export function isNumeric(t: TypeRef, types: TypeTable): boolean {
  const r = resolveType(t, types);
  return r.kind === 'number' || (r.kind === 'primitive' && NUMERIC.has(r.name));
}

/** Keys are strings, numbers or booleans (what `ctx.key()` returns). */
export function isKeyType(t: TypeRef, types: TypeTable): boolean {
  const r = resolveType(t, types);
  return isWildcard(r) || isNumeric(r, types) || (r.kind === 'primitive' && (r.name === 'string' || r.name === 'bool'));
}

// Recursive types are an error of their own; past this depth we stop comparing rather than loop.
const MAX_DEPTH = 64;

/**
 * Whether a value of type `a` can stand where `b` is expected. Symmetric. Objects and enums
 * that both carry a name compare by name; anonymous ones (and aliases of primitives, lists, …)
 * compare by structure. `unknown`/`invalid` match anything; `number` matches every number type.
 */
export function typesCompatible(a: TypeRef, b: TypeRef, types: TypeTable): boolean {
  return compatible(a, b, types, 0);
}

function compatible(a: TypeRef, b: TypeRef, types: TypeTable, depth: number): boolean {
  if (depth > MAX_DEPTH) return true;
  const da = deref(a, types);
  const db = deref(b, types);
  const x = da.type;
  const y = db.type;
  if (isWildcard(x) || isWildcard(y)) return true;
  if (x.kind === 'number' || y.kind === 'number') return isNumeric(x, types) && isNumeric(y, types);
  const nameX = nominalName(x, da.name);
  const nameY = nominalName(y, db.name);
  if (nameX !== undefined && nameY !== undefined) return kebabCase(nameX) === kebabCase(nameY);
  const next = (p: TypeRef, q: TypeRef): boolean => compatible(p, q, types, depth + 1);
  switch (x.kind) {
    case 'primitive':
      return y.kind === 'primitive' && x.name === y.name;
    case 'list':
      return y.kind === 'list' && next(x.items, y.items);
    case 'option':
      return y.kind === 'option' && next(x.value, y.value);
    case 'key-value':
      return y.kind === 'key-value' && next(x.key, y.key) && next(x.value, y.value);
    case 'keyed-state':
      return y.kind === 'keyed-state' && next(x.key, y.key) && next(x.value, y.value);
    case 'object': {
      if (y.kind !== 'object' || x.properties.length !== y.properties.length) return false;
      return x.properties.every((p) => {
        const q = y.properties.find((o) => o.name === p.name);
        return q !== undefined && q.optional === p.optional && next(p.type, q.type);
      });
    }
    case 'enum': {
      if (y.kind !== 'enum' || x.variants.length !== y.variants.length || x.tagging !== y.tagging) return false;
      return x.variants.every((v) => {
        const w = y.variants.find((o) => o.name === v.name);
        if (w === undefined) return false;
        if (v.type === null || w.type === null) return v.type === w.type;
        return next(v.type, w.type);
      });
    }
    case 'arrow-row':
      return (
        y.kind === 'arrow-row' &&
        x.columns.length === y.columns.length &&
        x.columns.every((c) => y.columns.some((d) => d.name === c.name && d.type === c.type))
      );
    case 'void':
      return y.kind === 'void';
    case 'named':
    case 'unknown':
    case 'invalid':
      return true; // handled above
    default:
      return assertNever(x);
  }
}

/** Records (objects, enums) with a name compare by it: two named shapes are two types. */
function nominalName(t: TypeRef, declared: string | undefined): string | undefined {
  if (t.kind !== 'object' && t.kind !== 'enum') return undefined;
  return declared ?? t.typeName;
}

/**
 * A readable form: `list<string>`, `option<car-event>`, `key-value<string, u64>` — the spec's
 * printer, with every named reference spelled as its type was declared (`CarEvent` in code
 * prints as `car-event`).
 */
export function typeToString(t: TypeRef, types: TypeTable = {}): string {
  return printType(withDeclaredNames(t, types));
}

function withDeclaredNames(t: TypeRef, types: TypeTable): TypeRef {
  if (t.kind === 'named') return { ...t, name: lookupType(t.name, types)?.name ?? t.name };
  return mapChildTypes(t, (u) => withDeclaredNames(u, types));
}

/** `t` with each type directly inside it replaced by `f` of it. */
function mapChildTypes(t: TypeRef, f: (u: TypeRef) => TypeRef): TypeRef {
  switch (t.kind) {
    case 'object':
      return { ...t, properties: t.properties.map((p) => ({ ...p, type: f(p.type) })) };
    case 'enum':
      return { ...t, variants: t.variants.map((v) => ({ ...v, type: v.type === null ? null : f(v.type) })) };
    case 'list':
      return { ...t, items: f(t.items) };
    case 'option':
      return { ...t, value: f(t.value) };
    case 'key-value':
    case 'keyed-state':
      return { ...t, key: f(t.key), value: f(t.value) };
    case 'primitive':
    case 'named':
    case 'arrow-row':
    case 'number':
    case 'void':
    case 'unknown':
    case 'invalid':
      return t;
    default:
      return assertNever(t);
  }
}

/** The types directly inside `t` (one level down). */
export function childTypes(t: TypeRef): TypeRef[] {
  switch (t.kind) {
    case 'object':
      return t.properties.map((p) => p.type);
    case 'enum':
      return t.variants.flatMap((v) => (v.type === null ? [] : [v.type]));
    case 'list':
      return [t.items];
    case 'option':
      return [t.value];
    case 'key-value':
    case 'keyed-state':
      return [t.key, t.value];
    case 'primitive':
    case 'named':
    case 'arrow-row':
    case 'number':
    case 'void':
    case 'unknown':
    case 'invalid':
      return [];
    default:
      return assertNever(t);
  }
}

/** Every named reference inside `t` (including `t` itself), with the position it was written at, if known. */
export function namedRefs(t: TypeRef): Array<{ name: string; pos?: SourcePos }> {
  const own = t.kind === 'named' ? [t.pos ? { name: t.name, pos: t.pos } : { name: t.name }] : [];
  return [...own, ...childTypes(t).flatMap(namedRefs)];
}
