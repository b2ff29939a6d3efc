/**
 * Reads YAML mappings against zod shapes and turns every zod issue into a diagnostic placed at
 * the offending key or value.
 *
 * Why not validate the whole document with one zod schema: one schema stops at the first
 * broken element's boundary (no data when any issue exists) and knows nothing of positions.
 * Here each element (a service, a step, a type ...) has a shape of its own; nested elements are
 * `node` fields, read by their own parsers, so a broken step costs only that step. Unknown
 * keys are checked against the shape's keys, so a typo is an error with a "did you mean" hint.
 */
import { z } from 'zod';
import { isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import type { ParseContext } from './context.ts';
import type { SourcePos } from './model.ts';
import { closest, listNames } from './suggest.ts';
import { deref, describeNode, isEmpty, keyText, toPlain, valueText } from './yaml-nodes.ts';

const NODE = z.custom<Node>((value) => value !== undefined);
/** A nested element read by its own parser: the field's value is the YAML node. */
export const node = NODE;
/** An optional nested element; `key:` with no value counts as absent. */
export const optionalNode = NODE.optional();
const NODE_FIELDS: ReadonlySet<z.ZodType> = new Set<z.ZodType>([NODE, optionalNode]);

export type Shape = Record<string, z.ZodType>;
export type Values<S extends Shape> = { [K in keyof S]?: z.output<S[K]> };

/**
 * Parameters of a custom zod issue (from `fail()`), which the reader turns into a diagnostic:
 * `expected` makes a wrong-kind message ("must be X, found Y"), otherwise an "invalid WHAT" one.
 */
export interface IssueParams {
  code: string;
  hint?: string;
  expected?: string;
  what?: string;
}

/** Reports a custom problem from inside a zod transform. */
export function fail(ctx: z.RefinementCtx, params: IssueParams): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message: params.hint ?? params.code, params: { ...params } });
  return z.NEVER;
}

export interface MapView<S extends Shape> {
  readonly node: YAMLMap;
  /** Where the mapping starts (where a missing key is reported). */
  readonly pos: SourcePos;
  /** Fields that are present and valid; invalid ones were reported and are left out. */
  readonly values: Values<S>;
  /** Absent keys that an unknown (misspelt) key was reported as meaning. */
  readonly misspelt: ReadonlySet<string>;
  has(key: keyof S & string): boolean;
  /** Position of a key, or of the mapping when the key is absent. */
  keyPos(key: keyof S & string): SourcePos;
  /** Position of a key's value, or of the mapping when the key is absent. */
  valuePos(key: keyof S & string): SourcePos;
  valueNode(key: keyof S & string): Node | undefined;
}

const optionalCache = new WeakMap<z.ZodType, boolean>();
function isOptional(schema: z.ZodType): boolean {
  let optional = optionalCache.get(schema);
  if (optional === undefined) {
    optional = schema.safeParse(undefined).success;
    optionalCache.set(schema, optional);
  }
  return optional;
}

/**
 * Reads a mapping: reports a non-mapping, unknown keys, missing required keys and invalid
 * values; returns the valid values and positions, or `undefined` when `input` is no mapping.
 * `where` names the element in messages ("service `word-counter`").
 */
export function readMap<S extends Shape>(
  ctx: ParseContext,
  input: Node | null | undefined,
  shape: S,
  where: string,
): MapView<S> | undefined {
  const target = deref(ctx.doc, input);
  if (!isMap(target)) {
    ctx.diagnostics.error('invalid-type', `${where} must be a mapping, found ${describeNode(target)}`, ctx.positions.of(target));
    return undefined;
  }
  const pairs = new Map<string, Pair>();
  // Keys a misspelt key was taken for: their absence is that same mistake, not a second one.
  const suggested = new Set<string>();
  for (const pair of target.items) {
    const key = keyText(pair);
    // Duplicates were reported by the YAML parser; the first occurrence counts.
    if (key === undefined || pairs.has(key)) continue;
    if (!Object.hasOwn(shape, key)) {
      const pos = ctx.positions.of(pair.key as Node);
      const match = closest(key, Object.keys(shape));
      if (match !== undefined) suggested.add(match);
      const hint = match !== undefined ? `did you mean \`${match}\`?` : `allowed keys: ${listNames(Object.keys(shape))}`;
      ctx.diagnostics.error('unknown-key', `unknown key \`${key}\` in ${where}`, pos, hint);
      continue;
    }
    pairs.set(key, pair);
  }

  const mapPos = ctx.positions.of(target);
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(shape)) {
    const pair = pairs.get(key);
    const value = pair === undefined ? undefined : deref(ctx.doc, pair.value);
    const isNodeField = NODE_FIELDS.has(schema);
    if (pair === undefined || (isNodeField && isOptional(schema) && isEmpty(value))) {
      if (!isOptional(schema) && !suggested.has(key)) {
        ctx.diagnostics.error('missing-key', `missing key \`${key}\` in ${where}`, mapPos);
      }
      continue;
    }
    const result = schema.safeParse(isNodeField ? (value ?? pair.value) : toPlain(ctx.doc, value));
    if (result.success) {
      values[key] = result.data;
    } else {
      for (const issue of result.error.issues) reportIssue(ctx, issue, key, value, where);
    }
  }

  const pairOf = (key: string): Pair | undefined => pairs.get(key);
  return {
    node: target,
    pos: mapPos,
    values: values as Values<S>,
    misspelt: suggested,
    has: (key) => pairs.has(key),
    keyPos: (key) => {
      const pair = pairOf(key);
      return pair === undefined ? mapPos : ctx.positions.of(pair.key as Node);
    },
    valuePos: (key) => {
      const pair = pairOf(key);
      if (pair === undefined) return mapPos;
      const value = deref(ctx.doc, pair.value);
      return value?.range ? ctx.positions.of(value) : ctx.positions.of(pair.key as Node);
    },
    valueNode: (key) => deref(ctx.doc, pairOf(key)?.value),
  };
}

export interface ListItem {
  node: Node;
  /** 1-based, as messages count. */
  number: number;
  pos: SourcePos;
}

/** Items of a list; reports a non-list (`what` names it: "`sources` of service `x`"). */
export function readList(ctx: ParseContext, input: Node | undefined, what: string, hint?: string): ListItem[] {
  const target = deref(ctx.doc, input);
  if (isEmpty(target)) return [];
  if (!isSeq(target)) {
    ctx.diagnostics.error('invalid-type', `${what} must be a list, found ${describeNode(target)}`, ctx.positions.of(target), hint);
    return [];
  }
  const items: ListItem[] = [];
  target.items.forEach((item, index) => {
    const resolved = deref(ctx.doc, item);
    if (resolved !== undefined) items.push({ node: resolved, number: index + 1, pos: ctx.positions.of(resolved) });
  });
  return items;
}

export interface Entry {
  name: string;
  keyPos: SourcePos;
  node: Node | undefined;
}

/** Entries of a mapping whose keys are user-chosen names (types, topics, services ...). */
export function readEntries(ctx: ParseContext, input: Node | undefined, what: string): Entry[] {
  const target = deref(ctx.doc, input);
  if (isEmpty(target)) return [];
  if (!isMap(target)) {
    ctx.diagnostics.error('invalid-type', `${what} must be a mapping, found ${describeNode(target)}`, ctx.positions.of(target));
    return [];
  }
  const seen = new Set<string>();
  const entries: Entry[] = [];
  for (const pair of target.items) {
    const name = keyText(pair);
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    entries.push({ name, keyPos: ctx.positions.of(pair.key as Node), node: deref(ctx.doc, pair.value) });
  }
  return entries;
}

/** Reports a mapping that has none of `keys` (one of them is needed). */
export function requireOneOf(ctx: ParseContext, view: MapView<Shape>, keys: readonly string[], where: string): boolean {
  if (keys.some((key) => view.has(key))) return true;
  if (keys.some((key) => view.misspelt.has(key))) return false;
  const names = keys.map((key) => `\`${key}\``).join(' or ');
  ctx.diagnostics.error('missing-key', `missing key ${names} in ${where}`, view.pos);
  return false;
}

/** Reports a mapping that has more than one of `keys` (they exclude each other). */
export function forbidTogether(ctx: ParseContext, view: MapView<Shape>, keys: readonly string[], where: string): boolean {
  const present = keys.filter((key) => view.has(key));
  if (present.length < 2) return true;
  const [, second = ''] = present;
  ctx.diagnostics.error(
    'conflicting-keys',
    `${where} has both ${present.map((key) => `\`${key}\``).join(' and ')}`,
    view.keyPos(second),
    `keep only one of ${listNames(present)}`,
  );
  return false;
}

// ---------------------------------------------------------------------------------------------
// zod issues → diagnostics

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: '`true` or `false`',
  array: 'a list',
  object: 'a mapping',
  null: '`null`',
};

/** Finds the node an issue's path points into (for `grants[2]`, the third item). */
function nodeAt(ctx: ParseContext, root: Node | undefined, path: readonly PropertyKey[]): Node | undefined {
  let current = root;
  for (const segment of path) {
    if (isSeq(current) && typeof segment === 'number') current = deref(ctx.doc, current.items[segment]);
    else if (isMap(current) && typeof segment === 'string') current = deref(ctx.doc, current.get(segment, true));
    else break;
  }
  return current;
}

function fieldLabel(key: string, path: readonly PropertyKey[]): string {
  const last = path[path.length - 1];
  if (typeof last === 'number') return `item ${last + 1} of \`${key}\``;
  return path.length === 0 ? `\`${key}\`` : `\`${[key, ...path.map(String)].join('.')}\``;
}

function enumHint(raw: string, values: readonly string[]): string {
  const match = closest(raw, values);
  const allowed = `allowed values: ${listNames(values)}`;
  return match === undefined ? allowed : `did you mean \`${match}\`? ${allowed}`;
}

function reportIssue(ctx: ParseContext, issue: z.core.$ZodIssue, key: string, value: Node | undefined, where: string): void {
  const target = nodeAt(ctx, value, issue.path);
  const pos = ctx.positions.of(target ?? value);
  const field = fieldLabel(key, issue.path);
  const raw = valueText(target);
  const found = describeNode(target);

  if (issue.code === 'custom') {
    const params = (issue.params ?? {}) as Partial<IssueParams>;
    const code = params.code ?? 'invalid-value';
    const message =
      params.expected !== undefined
        ? `${field} in ${where} must be ${params.expected}, found ${found}`
        : `invalid ${params.what ?? 'value'} \`${raw}\` for ${field} in ${where}`;
    ctx.diagnostics.error(code, message, pos, params.hint);
    return;
  }
  if (issue.code === 'invalid_type') {
    const expected = EXPECTED[issue.expected] ?? issue.expected;
    ctx.diagnostics.error('invalid-type', `${field} in ${where} must be ${expected}, found ${found}`, pos);
    return;
  }
  const hint =
    issue.code === 'invalid_value' ? enumHint(raw, issue.values.map(String)) : issue.message;
  ctx.diagnostics.error('invalid-value', `invalid value \`${raw}\` for ${field} in ${where}`, pos, hint);
}

/** True for a scalar that holds text (names, references). */
export function isTextScalar(value: Node | undefined): boolean {
  return isScalar(value) && typeof value.value === 'string';
}
