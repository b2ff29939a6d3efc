/**
 * Reads TypeScript function declarations (`function name(params): Ret {`) and maps their
 * annotations to the model's types: what ssdk can know about an inline or stub function without
 * running the TypeScript compiler.
 */
import type { FunctionParam, FunctionSignature, SourcePos, TypeRef } from '../model.ts';
import { TokenCursor, tokenize, type Token } from './tokens.ts';

export interface TsFunctionDecl {
  name: string;
  exported: boolean;
  isDefault: boolean;
  signature: FunctionSignature;
}

/** A TypeScript type as written, before it is mapped to the model. */
type TsType =
  | { t: 'name'; name: string; args: TsType[] }
  | { t: 'array'; items: TsType }
  | { t: 'union'; members: TsType[] }
  | { t: 'object'; members: Array<{ name: string; optional: boolean; type: TsType }> }
  | { t: 'literal'; of: 'string' | 'number' | 'boolean' }
  | { t: 'unknown' };

const UNKNOWN: TsType = { t: 'unknown' };

/**
 * The top-level function declarations of `code`, in order. `pos` is where the code is (types
 * read from it, such as an inline object type's properties, point there).
 */
export function readTsFunctions(code: string, pos: SourcePos): TsFunctionDecl[] {
  const cursor = new TokenCursor(tokenize(code, 'ts'));
  const toTypeRef = (type: TsType): TypeRef => mapType(type, pos);
  const found: TsFunctionDecl[] = [];
  let depth = 0;
  while (!cursor.done()) {
    const token = cursor.peek() as Token;
    if (token.kind === 'punct' && token.text === '{') depth += 1;
    else if (token.kind === 'punct' && token.text === '}') depth = Math.max(0, depth - 1);
    else if (depth === 0 && token.kind === 'ident' && token.text === 'function') {
      const start = cursor.index;
      const decl = readDeclaration(cursor, toTypeRef);
      if (decl !== undefined) {
        found.push(decl);
        // Continue at the body's `{`, so its braces are counted.
        continue;
      }
      cursor.index = start;
    }
    cursor.next();
  }
  return found;
}

/** The first top-level function declaration of inline code. */
export function readTsFunction(code: string, pos: SourcePos): TsFunctionDecl | undefined {
  return readTsFunctions(code, pos)[0];
}

type ToTypeRef = (type: TsType) => TypeRef;

function readDeclaration(cursor: TokenCursor, toTypeRef: ToTypeRef): TsFunctionDecl | undefined {
  const before = (offset: number): string | undefined => cursor.tokens[cursor.index - offset]?.text;
  let back = 1;
  if (before(back) === 'async') back += 1;
  const isDefault = before(back) === 'default';
  if (isDefault) back += 1;
  const exported = before(back) === 'export';

  cursor.next(); // function
  cursor.eat('*');
  const nameToken = cursor.peek();
  let name = 'default';
  if (nameToken?.kind === 'ident') {
    name = nameToken.text;
    cursor.next();
  } else if (!isDefault) {
    return undefined;
  }
  if (cursor.at('<') && !cursor.skipBalanced(true)) return undefined;
  if (!cursor.at('(')) return undefined;
  cursor.next();
  const params: FunctionParam[] = [];
  while (!cursor.done() && !cursor.at(')')) {
    const param = readParam(cursor, toTypeRef);
    if (param === undefined) return undefined;
    if (!isContextParam(param.name, param.written)) params.push({ name: param.name, type: param.type });
    if (!cursor.eat(',')) break;
  }
  if (!cursor.eat(')')) return undefined;
  const returns = cursor.eat(':') ? toTypeRef(readType(cursor)) : ({ kind: 'unknown' } as TypeRef);
  if (!cursor.at('{')) return undefined;
  return { name, exported, isDefault, signature: { params, returns } };
}

interface ParsedParam {
  name: string;
  type: TypeRef;
  written: TsType | undefined;
}

function readParam(cursor: TokenCursor, toTypeRef: ToTypeRef): ParsedParam | undefined {
  cursor.eat('...');
  const first = cursor.peek();
  if (first === undefined) return undefined;
  let name: string;
  if (first.kind === 'ident') {
    name = first.text;
    cursor.next();
  } else if (first.text === '{' || first.text === '[') {
    const start = cursor.index;
    cursor.skipBalanced();
    name = cursor.tokens.slice(start, cursor.index).map((t) => t.text).join(' ');
  } else {
    return undefined;
  }
  const optional = cursor.eat('?');
  const written = cursor.eat(':') ? readType(cursor) : undefined;
  if (cursor.eat('=')) cursor.skipUntil([',', ')']);
  const base = written === undefined ? ({ kind: 'unknown' } as TypeRef) : toTypeRef(written);
  const type: TypeRef = optional && base.kind !== 'option' ? { kind: 'option', value: base } : base;
  return { name, type, written };
}

/** The `ctx` parameter is the runtime's, not data: signatures list data parameters only. */
function isContextParam(name: string, written: TsType | undefined): boolean {
  if (written?.t === 'name') return /(^|\.)(Ctx|\w*Context)$/.test(written.name);
  return written === undefined && (name === 'ctx' || name === 'context');
}

// ---------------------------------------------------------------------------------------------
// Type annotations

function readType(cursor: TokenCursor): TsType {
  cursor.eat('|');
  const members = [readIntersection(cursor)];
  while (cursor.eat('|')) members.push(readIntersection(cursor));
  return members.length === 1 ? (members[0] as TsType) : { t: 'union', members };
}

function readIntersection(cursor: TokenCursor): TsType {
  cursor.eat('&');
  const first = readPostfix(cursor);
  let intersected = false;
  while (cursor.eat('&')) {
    readPostfix(cursor);
    intersected = true;
  }
  return intersected ? UNKNOWN : first;
}

function readPostfix(cursor: TokenCursor): TsType {
  let type = readPrimary(cursor);
  while (cursor.at('[')) {
    if (cursor.at(']', 1)) {
      cursor.next();
      cursor.next();
      type = { t: 'array', items: type };
    } else {
      cursor.skipBalanced(); // indexed access, T['key']
      type = UNKNOWN;
    }
  }
  // `T?` (a JSDoc-style optional) reads as an option.
  if (cursor.at('?') && !cursor.at(':', 1)) {
    cursor.next();
    type = { t: 'union', members: [type, { t: 'name', name: 'undefined', args: [] }] };
  }
  return type;
}

function readPrimary(cursor: TokenCursor): TsType {
  const token = cursor.peek();
  if (token === undefined) return UNKNOWN;
  if (token.kind === 'string') {
    cursor.next();
    return { t: 'literal', of: 'string' };
  }
  if (token.kind === 'number' || token.text === '-') {
    cursor.next();
    if (token.text === '-') cursor.next();
    return { t: 'literal', of: 'number' };
  }
  if (token.text === '(') return readParenthesized(cursor);
  if (token.text === '{') return readObjectType(cursor);
  if (token.text === '[') {
    cursor.skipBalanced(true); // tuples
    return UNKNOWN;
  }
  if (token.kind !== 'ident') {
    cursor.next();
    return UNKNOWN;
  }
  if (token.text === 'readonly') {
    cursor.next();
    return readPostfix(cursor);
  }
  if (token.text === 'true' || token.text === 'false') {
    cursor.next();
    return { t: 'literal', of: 'boolean' };
  }
  if (['typeof', 'keyof', 'unique', 'infer'].includes(token.text)) {
    cursor.next();
    readPostfix(cursor);
    return UNKNOWN;
  }
  cursor.next();
  let name = token.text;
  while (cursor.at('.') && cursor.peek(1)?.kind === 'ident') {
    cursor.next();
    name += `.${cursor.next()?.text ?? ''}`;
  }
  const args: TsType[] = [];
  if (cursor.eat('<')) {
    while (!cursor.done() && !cursor.at('>')) {
      args.push(readType(cursor));
      if (!cursor.eat(',')) break;
    }
    cursor.eat('>');
  }
  return { t: 'name', name, args };
}

/** `(A | B)` or a function type `(a: A) => B`. */
function readParenthesized(cursor: TokenCursor): TsType {
  const start = cursor.index;
  cursor.skipBalanced(true);
  if (cursor.eat('=>')) {
    readType(cursor);
    return UNKNOWN;
  }
  cursor.index = start + 1;
  const inner = readType(cursor);
  cursor.eat(')');
  return inner;
}

function readObjectType(cursor: TokenCursor): TsType {
  cursor.next(); // {
  const members: Array<{ name: string; optional: boolean; type: TsType }> = [];
  let exact = true;
  while (!cursor.done() && !cursor.at('}')) {
    cursor.eat('readonly');
    const token = cursor.peek();
    if (token !== undefined && (token.kind === 'ident' || token.kind === 'string') && !cursor.at('(', 1)) {
      cursor.next();
      const optional = cursor.eat('?');
      if (cursor.eat(':')) {
        members.push({ name: token.text.replace(/^['"]|['"]$/g, ''), optional, type: readType(cursor) });
      } else {
        exact = false;
      }
    } else {
      // Index signatures and methods: not data we can type.
      exact = false;
      cursor.skipUntil([';', ',', '}']);
    }
    if (!cursor.eat(';')) cursor.eat(',');
  }
  cursor.eat('}');
  return exact ? { t: 'object', members } : UNKNOWN;
}

// ---------------------------------------------------------------------------------------------
// Mapping to the model

const NOTHING = new Set(['undefined', 'null', 'void']);

function mapType(type: TsType, pos: SourcePos): TypeRef {
  const toTypeRef = (inner: TsType): TypeRef => mapType(inner, pos);
  switch (type.t) {
    case 'literal':
      return type.of === 'number' ? { kind: 'number' } : { kind: 'primitive', name: type.of === 'string' ? 'string' : 'bool' };
    case 'array':
      return { kind: 'list', items: toTypeRef(type.items) };
    case 'union':
      return unionToRef(type.members, toTypeRef);
    case 'object': {
      const [first, second] = type.members;
      if (type.members.length === 2 && first?.name === 'key' && second?.name === 'value') {
        const key = toTypeRef(first.type);
        return { kind: 'key-value', key: first.optional ? { kind: 'option', value: key } : key, value: toTypeRef(second.type) };
      }
      return {
        kind: 'object',
        properties: type.members.map((m) => ({ name: m.name, type: toTypeRef(m.type), optional: m.optional, pos })),
      };
    }
    case 'name':
      return nameToRef(type, toTypeRef);
    case 'unknown':
      return { kind: 'unknown' };
  }
}

function unionToRef(members: TsType[], toTypeRef: ToTypeRef): TypeRef {
  const present = members.filter((m) => !(m.t === 'name' && NOTHING.has(m.name)));
  const inner = present.length === members.length ? undefined : present;
  const rest = inner ?? members;
  let value: TypeRef;
  if (rest.length === 1) {
    value = toTypeRef(rest[0] as TsType);
  } else if (rest.every((m) => m.t === 'literal' && m.of === (rest[0] as { of?: string }).of)) {
    value = toTypeRef(rest[0] as TsType);
  } else {
    value = { kind: 'unknown' };
  }
  return inner === undefined ? value : { kind: 'option', value };
}

function nameToRef(type: { name: string; args: TsType[] }, toTypeRef: ToTypeRef): TypeRef {
  const arg = (index: number): TypeRef => {
    const written = type.args[index];
    return written === undefined ? { kind: 'unknown' } : toTypeRef(written);
  };
  switch (type.name) {
    case 'string':
    case 'String':
      return { kind: 'primitive', name: 'string' };
    case 'number':
    case 'Number':
      return { kind: 'number' };
    case 'boolean':
    case 'Boolean':
      return { kind: 'primitive', name: 'bool' };
    case 'bigint':
      return { kind: 'primitive', name: 'i64' };
    case 'Uint8Array':
      return { kind: 'primitive', name: 'bytes' };
    case 'void':
    case 'undefined':
    case 'null':
      return { kind: 'void' };
    case 'any':
    case 'unknown':
    case 'never':
    case 'object':
      return { kind: 'unknown' };
    case 'Array':
    case 'ReadonlyArray':
    case 'Iterable':
      return { kind: 'list', items: arg(0) };
    case 'KeyValue':
      return { kind: 'key-value', key: arg(0), value: arg(1) };
    case 'Promise':
      return arg(0);
    default:
      return { kind: 'named', name: type.name };
  }
}
