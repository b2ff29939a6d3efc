/**
 * The type system of the services file: primitives and their aliases, objects, enums, lists,
 * options, key-values, keyed-state and arrow-row values, and references to named types.
 *
 * A reference to a name that is not a primitive becomes `{kind: 'named'}`: whether the name
 * exists (in `types`, an import, a package) is the planner's question. Malformed definitions
 * are reported here, and stand in the model as `{kind: 'invalid'}` so they are reported once.
 */
import { z } from 'zod';
import { isMap, isScalar, type Node, type YAMLMap } from 'yaml';
import type { ParseContext } from './context.ts';
import {
  PRIMITIVE_ALIASES,
  PRIMITIVE_TYPES,
  type ArrowColumn,
  type EnumVariant,
  type NamedType,
  type ObjectProperty,
  type PrimitiveTypeName,
  type SourcePos,
  type TypeRef,
} from './model.ts';
import {
  forbidTogether,
  node,
  optionalNode,
  readEntries,
  readMap,
  requireOneOf,
  type MapView,
  type Shape,
} from './reader.ts';
import { flag, positiveDuration, text } from './schemas.ts';
import { closest } from './suggest.ts';
import { deref, describeNode, isEmpty, keyText } from './yaml-nodes.ts';

const PRIMITIVES: ReadonlySet<string> = new Set(PRIMITIVE_TYPES);

/** A type written by name: a primitive (or an alias of one), else a reference to a named type. */
export function typeFromName(name: string, pos?: SourcePos): TypeRef {
  const primitive = PRIMITIVES.has(name) ? (name as PrimitiveTypeName) : PRIMITIVE_ALIASES[name];
  if (primitive !== undefined) return withPos({ kind: 'primitive', name: primitive }, pos);
  return withPos({ kind: 'named', name }, pos);
}

function withPos<T extends TypeRef>(type: T, pos: SourcePos | undefined): T {
  return pos === undefined ? type : { ...type, pos };
}

/** The generated type's name; Fluvio's files also write it `type_name`. */
const typeName = { 'type-name': text.optional(), type_name: text.optional() };

/** The keys each kind of definition may have besides `type`. */
const KIND_SHAPES: Readonly<Record<string, Shape>> = {
  object: { properties: optionalNode, ...typeName },
  enum: { oneOf: node, tagging: z.enum(['externally-tagged', 'untagged']).optional(), ...typeName },
  list: { items: optionalNode, item: optionalNode, ...typeName },
  option: { value: node },
  'key-value': { properties: node },
  'keyed-state': { properties: node },
  'arrow-row': { properties: optionalNode },
  /** Fluvio's documented wrapper for a state's primitive value: `{type: primitive, properties: {value: i32}}`. */
  primitive: { properties: node },
};

export interface TypeOptions<E extends Shape> {
  /** Keys the surrounding definition adds (a property's `optional`, a topic part's `converter` ...). */
  extra: E;
  /** Receives those keys' values once the definition is read. */
  onExtra: (view: MapView<E>) => void;
}

/**
 * Reads a type definition: `{type: <kind or name>, ...}` or, as a shorthand, a bare name.
 * `where` names it in messages ("property `speed` of type `car`").
 */
export function parseType<E extends Shape>(
  ctx: ParseContext,
  input: Node | undefined,
  where: string,
  options?: TypeOptions<E>,
): TypeRef {
  const target = deref(ctx.doc, input);
  if (isScalar(target) && typeof target.value === 'string') {
    return typeFromName(target.value, ctx.positions.of(target));
  }
  if (!isMap(target)) {
    ctx.diagnostics.error(
      'invalid-type',
      `${where} must be a type definition, found ${describeNode(target)}`,
      ctx.positions.of(target),
      'write a mapping such as `type: string`',
    );
    return { kind: 'invalid' };
  }
  if (!target.has('type')) {
    // Without its kind, the other keys cannot be judged: one diagnostic says what is missing.
    ctx.diagnostics.error(
      'missing-key',
      `missing key \`type\` in ${where}`,
      ctx.positions.of(target),
      'add `type:` with a primitive (`string`, `u32` ...), a kind (`object`, `list` ...) or a type name',
    );
    return { kind: 'invalid', pos: ctx.positions.of(target) };
  }
  const kindNode = deref(ctx.doc, target.get('type', true));
  const written = isScalar(kindNode) && typeof kindNode.value === 'string' ? kindNode.value : '';
  const misspelt = misspeltKind(target, written, options?.extra ?? {});
  const kind = misspelt ?? written;
  const shape: Shape = { type: text, ...(KIND_SHAPES[kind] ?? {}), ...(options?.extra ?? {}) };
  const view = readMap(ctx, target, shape, where);
  if (view === undefined) return { kind: 'invalid' };
  options?.onExtra(view as unknown as MapView<E>);
  if (view.values.type === undefined) return { kind: 'invalid', pos: view.pos };
  if (misspelt !== undefined) {
    ctx.diagnostics.error(
      'invalid-value',
      `invalid value \`${written}\` for \`type\` in ${where}`,
      view.valuePos('type'),
      `did you mean \`${misspelt}\`? a name alone refers to a named type, which has no other keys`,
    );
    // Read as what was meant, so the rest of the definition is checked too.
    buildType(ctx, kind, view, where);
    return { kind: 'invalid', pos: view.valuePos('type') };
  }
  return buildType(ctx, kind, view, where);
}

/**
 * `type: objcet` with `properties:` is a misspelt kind, not a reference to a type named
 * `objcet`: a reference has no keys besides `type` (and the surrounding definition's).
 */
function misspeltKind(target: YAMLMap, written: string, extra: Shape): string | undefined {
  if (written === '' || Object.hasOwn(KIND_SHAPES, written)) return undefined;
  const hasKindKeys = target.items.some((pair) => {
    const key = keyText(pair);
    return key !== undefined && key !== 'type' && !Object.hasOwn(extra, key);
  });
  return hasKindKeys ? closest(written, Object.keys(KIND_SHAPES)) : undefined;
}

function buildType(ctx: ParseContext, kind: string, view: MapView<Shape>, where: string): TypeRef {
  const pos = view.valuePos('type');
  const name = (view.values['type-name'] ?? view.values['type_name']) as string | undefined;
  const named = name === undefined ? {} : { typeName: name };
  switch (kind) {
    case 'object':
      return { kind: 'object', properties: parseProperties(ctx, view.valueNode('properties'), where), ...named, pos };
    case 'enum': {
      const tagging = (view.values.tagging as 'externally-tagged' | 'untagged' | undefined) ?? 'externally-tagged';
      const variants = view.has('oneOf') ? parseVariants(ctx, view.valueNode('oneOf'), where) : [];
      return { kind: 'enum', variants, tagging, ...named, pos };
    }
    case 'list': {
      if (!forbidTogether(ctx, view, ['items', 'item'], where) || !requireOneOf(ctx, view, ['items', 'item'], where)) {
        return { kind: 'invalid', pos };
      }
      const key = view.has('items') ? 'items' : 'item';
      return { kind: 'list', items: parseType(ctx, view.valueNode(key), `\`${key}\` of ${where}`), ...named, pos };
    }
    case 'option':
      if (!view.has('value')) return { kind: 'invalid', pos };
      return { kind: 'option', value: parseType(ctx, view.valueNode('value'), `\`value\` of ${where}`), pos };
    case 'key-value':
    case 'keyed-state': {
      if (!view.has('properties')) return { kind: 'invalid', pos };
      const kv = parseKeyValue(ctx, view.valueNode('properties'), where, false);
      return kv === undefined ? { kind: 'invalid', pos } : { kind, key: kv.key, value: kv.value, pos };
    }
    case 'arrow-row':
      return { kind: 'arrow-row', columns: parseColumns(ctx, view.valueNode('properties'), where), pos };
    case 'primitive': {
      const wrapped = readMap(ctx, view.valueNode('properties'), { value: node }, `\`properties\` of ${where}`);
      return wrapped?.values.value === undefined ? { kind: 'invalid', pos } : parseType(ctx, wrapped.values.value, `\`properties.value\` of ${where}`);
    }
    default:
      return typeFromName(kind, pos);
  }
}

export interface KeyValueTypes {
  key: TypeRef;
  value: TypeRef;
  /** `ttl` written on a state's value (row state), in ms. */
  ttlMs?: number;
}

/**
 * `properties: {key: {type}, value: {type}}` of a `key-value` or `keyed-state` definition.
 * `allowTtl`: a state's value may carry `ttl` (rows not updated for that long are purged).
 */
export function parseKeyValue(
  ctx: ParseContext,
  input: Node | undefined,
  where: string,
  allowTtl: boolean,
): KeyValueTypes | undefined {
  const propertiesWhere = `\`properties\` of ${where}`;
  const view = readMap(ctx, input, { key: node, value: node }, propertiesWhere);
  if (view === undefined || !view.has('key') || !view.has('value')) return undefined;
  const key = parseType(ctx, view.valueNode('key'), `\`properties.key\` of ${where}`);
  const valueWhere = `\`properties.value\` of ${where}`;
  let ttlMs: number | undefined;
  const value = allowTtl
    ? parseType(ctx, view.valueNode('value'), valueWhere, {
        extra: { ttl: positiveDuration.optional() },
        onExtra: (extra) => {
          ttlMs = extra.values.ttl;
        },
      })
    : parseType(ctx, view.valueNode('value'), valueWhere);
  return ttlMs === undefined ? { key, value } : { key, value, ttlMs };
}

const PROPERTY_EXTRA = {
  optional: flag.optional(),
  serialize: optionalNode,
  deserialize: optionalNode,
  /** Preview 0.1.0 spelling of a rename in both directions. */
  alias: text.optional(),
};

function parseProperties(ctx: ParseContext, input: Node | undefined, where: string): ObjectProperty[] {
  const properties: ObjectProperty[] = [];
  for (const entry of readEntries(ctx, input, `\`properties\` of ${where}`)) {
    const propertyWhere = `property \`${entry.name}\` of ${where}`;
    let flags: MapView<typeof PROPERTY_EXTRA> | undefined;
    const type = parseType(ctx, entry.node, propertyWhere, {
      extra: PROPERTY_EXTRA,
      onExtra: (view) => {
        flags = view;
      },
    });
    const property: ObjectProperty = { name: entry.name, type, optional: flags?.values.optional ?? false, pos: entry.keyPos };
    const serializeAs = readRename(ctx, flags?.values.serialize, `\`serialize\` of ${propertyWhere}`) ?? flags?.values.alias;
    const deserializeFrom = readRename(ctx, flags?.values.deserialize, `\`deserialize\` of ${propertyWhere}`) ?? flags?.values.alias;
    if (serializeAs !== undefined) property.serializeAs = serializeAs;
    if (deserializeFrom !== undefined) property.deserializeFrom = deserializeFrom;
    properties.push(property);
  }
  return properties;
}

function readRename(ctx: ParseContext, input: Node | undefined, where: string): string | undefined {
  if (input === undefined) return undefined;
  return readMap(ctx, input, { rename: text }, where)?.values.rename;
}

function parseVariants(ctx: ParseContext, input: Node | undefined, where: string): EnumVariant[] {
  const variants: EnumVariant[] = [];
  for (const entry of readEntries(ctx, input, `\`oneOf\` of ${where}`)) {
    const variantWhere = `variant \`${entry.name}\` of ${where}`;
    const target = entry.node;
    let type: TypeRef | null;
    // serde's renames of the variant on the wire (the Stripe types write every event name so).
    const renames = { serialize: optionalNode, deserialize: optionalNode };
    let serialize: Node | undefined;
    let deserialize: Node | undefined;
    if (isEmpty(target)) {
      type = null;
    } else if (isMap(target) && target.has('type') && isEmpty(deref(ctx.doc, target.get('type', true)))) {
      // `type: null`: a unit variant.
      const view = readMap(ctx, target, { type: z.null(), ...renames }, variantWhere);
      serialize = view?.values.serialize;
      deserialize = view?.values.deserialize;
      type = null;
    } else {
      type = parseType(ctx, target, variantWhere, {
        extra: renames,
        onExtra: (view) => {
          serialize = view.values.serialize;
          deserialize = view.values.deserialize;
        },
      });
    }
    const variant: EnumVariant = { name: entry.name, type, pos: entry.keyPos };
    const serializeAs = readRename(ctx, serialize, `\`serialize\` of ${variantWhere}`);
    const deserializeFrom = readRename(ctx, deserialize, `\`deserialize\` of ${variantWhere}`);
    if (serializeAs !== undefined) variant.serializeAs = serializeAs;
    if (deserializeFrom !== undefined) variant.deserializeFrom = deserializeFrom;
    variants.push(variant);
  }
  return variants;
}

const NUMBER_COLUMN_TYPES: ReadonlySet<string> = new Set(PRIMITIVE_TYPES.filter((name) => name !== 'bytes'));

function parseColumns(ctx: ParseContext, input: Node | undefined, where: string): ArrowColumn[] {
  const columns: ArrowColumn[] = [];
  for (const entry of readEntries(ctx, input, `\`properties\` of ${where}`)) {
    const columnWhere = `column \`${entry.name}\` of ${where}`;
    const type = parseType(ctx, entry.node, columnWhere);
    if (type.kind === 'invalid') continue;
    if (type.kind === 'primitive' && NUMBER_COLUMN_TYPES.has(type.name)) {
      columns.push({ name: entry.name, type: type.name, pos: entry.keyPos });
    } else if (type.kind === 'named' && type.name === 'timestamp') {
      columns.push({ name: entry.name, type: 'timestamp', pos: entry.keyPos });
    } else {
      ctx.diagnostics.error(
        'invalid-column-type',
        `${columnWhere} has type \`${type.kind === 'named' || type.kind === 'primitive' ? type.name : type.kind}\`, which a row cannot hold`,
        type.pos ?? entry.keyPos,
        'arrow-row columns are numbers (`u8` ... `i64`, `f32`, `f64`), `bool`, `string` or `timestamp`',
      );
    }
  }
  return columns;
}

/** The `types:` section. */
export function parseTypes(ctx: ParseContext, input: Node | undefined): Record<string, NamedType> {
  const types: Record<string, NamedType> = {};
  for (const entry of readEntries(ctx, input, '`types`')) {
    types[entry.name] = { name: entry.name, type: parseType(ctx, entry.node, `type \`${entry.name}\``), pos: entry.keyPos };
  }
  return types;
}
