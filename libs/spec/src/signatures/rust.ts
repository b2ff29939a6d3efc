/**
 * Reads the signature of a Rust function (`fn name(params) -> Result<T> {`), as Fluvio's inline
 * code is written, so ssdk can tell users which TypeScript signature to port it to.
 * Only the signature is read; the body is never looked at.
 */
import type { FunctionParam, FunctionSignature, TypeRef } from '../model.ts';
import { TokenCursor, tokenize } from './tokens.ts';

export interface RustFunctionDecl {
  /** As written (snake_case). */
  name: string;
  signature: FunctionSignature;
}

type RustType =
  | { t: 'path'; name: string; args: RustType[] }
  | { t: 'tuple'; items: RustType[] }
  | { t: 'slice'; items: RustType }
  | { t: 'unknown' };

const UNKNOWN: RustType = { t: 'unknown' };

export function readRustFunction(code: string): RustFunctionDecl | undefined {
  const cursor = new TokenCursor(tokenize(code, 'rust'));
  // The first `fn` outside attributes is the function; items inside its body come later.
  while (!cursor.done()) {
    if (cursor.at('#') && cursor.at('[', 1)) {
      cursor.next();
      cursor.skipBalanced();
    } else if (cursor.at('fn') && cursor.peek(1)?.kind === 'ident') {
      break;
    } else {
      cursor.next();
    }
  }
  if (!cursor.eat('fn')) return undefined;
  const name = cursor.next()?.text ?? '';
  if (cursor.at('<') && !cursor.skipBalanced(true)) return undefined;
  if (!cursor.eat('(')) return undefined;
  const params: FunctionParam[] = [];
  while (!cursor.done() && !cursor.at(')')) {
    const param = readParam(cursor);
    if (param !== undefined) params.push(param);
    if (!cursor.eat(',')) break;
  }
  if (!cursor.eat(')')) return undefined;
  const returns: TypeRef = cursor.eat('->') ? toTypeRef(readType(cursor)) : { kind: 'void' };
  return { name, signature: { params, returns } };
}

function readParam(cursor: TokenCursor): FunctionParam | undefined {
  // The pattern: `name`, `mut name`, `_name`; `self` receivers are not data.
  let name = '';
  while (!cursor.done() && !cursor.at(':') && !cursor.at(',') && !cursor.at(')')) {
    const token = cursor.peek();
    if (token?.text === '(' || token?.text === '[') cursor.skipBalanced();
    else {
      if (token?.kind === 'ident' && token.text !== 'mut' && token.text !== 'ref') name = token.text;
      cursor.next();
    }
  }
  if (!cursor.eat(':')) return undefined;
  const type = toTypeRef(readType(cursor));
  return name === 'self' ? undefined : { name, type };
}

function readType(cursor: TokenCursor): RustType {
  const token = cursor.peek();
  if (token === undefined) return UNKNOWN;
  if (token.text === '&') {
    cursor.next();
    if (cursor.peek()?.text.startsWith("'")) cursor.next(); // lifetime
    cursor.eat('mut');
    return readType(cursor);
  }
  if (token.text === '(') {
    cursor.next();
    const items: RustType[] = [];
    while (!cursor.done() && !cursor.at(')')) {
      items.push(readType(cursor));
      if (!cursor.eat(',')) break;
    }
    cursor.eat(')');
    return { t: 'tuple', items };
  }
  if (token.text === '[') {
    cursor.next();
    const items = readType(cursor);
    cursor.skipUntil([']']);
    cursor.eat(']');
    return { t: 'slice', items };
  }
  if (token.kind !== 'ident' || token.text === 'impl' || token.text === 'dyn') {
    cursor.skipUntil([',', ')', '{', '>']);
    return UNKNOWN;
  }
  cursor.eat('::');
  let name = '';
  let args: RustType[] = [];
  while (cursor.peek()?.kind === 'ident') {
    name = cursor.next()?.text ?? '';
    args = [];
    if (cursor.eat('<')) {
      while (!cursor.done() && !cursor.at('>')) {
        if (cursor.peek()?.text.startsWith("'")) cursor.next();
        else args.push(readType(cursor));
        if (!cursor.eat(',')) break;
      }
      cursor.eat('>');
    }
    if (!cursor.eat('::')) break;
  }
  return { t: 'path', name, args };
}

const INTEGER_NAMES: Readonly<Record<string, TypeRef>> = {
  u8: { kind: 'primitive', name: 'u8' },
  u16: { kind: 'primitive', name: 'u16' },
  u32: { kind: 'primitive', name: 'u32' },
  u64: { kind: 'primitive', name: 'u64' },
  usize: { kind: 'primitive', name: 'u64' },
  i8: { kind: 'primitive', name: 'i8' },
  i16: { kind: 'primitive', name: 'i16' },
  i32: { kind: 'primitive', name: 'i32' },
  i64: { kind: 'primitive', name: 'i64' },
  isize: { kind: 'primitive', name: 'i64' },
  f32: { kind: 'primitive', name: 'f32' },
  f64: { kind: 'primitive', name: 'f64' },
};

const isByte = (type: RustType | undefined): boolean => type?.t === 'path' && type.name === 'u8';

function toTypeRef(type: RustType): TypeRef {
  switch (type.t) {
    case 'unknown':
      return { kind: 'unknown' };
    case 'slice':
      return isByte(type.items) ? { kind: 'primitive', name: 'bytes' } : { kind: 'list', items: toTypeRef(type.items) };
    case 'tuple': {
      const [key, value] = type.items;
      if (type.items.length === 0) return { kind: 'void' };
      if (type.items.length === 1 && key !== undefined) return toTypeRef(key);
      if (type.items.length === 2 && key !== undefined && value !== undefined) {
        return { kind: 'key-value', key: toTypeRef(key), value: toTypeRef(value) };
      }
      return { kind: 'unknown' };
    }
    case 'path':
      return pathToRef(type);
  }
}

function pathToRef(type: { name: string; args: RustType[] }): TypeRef {
  const [first] = type.args;
  const arg = (): TypeRef => (first === undefined ? { kind: 'unknown' } : toTypeRef(first));
  const integer = INTEGER_NAMES[type.name];
  if (integer !== undefined) return integer;
  switch (type.name) {
    case 'String':
    case 'str':
    case 'char':
      return { kind: 'primitive', name: 'string' };
    case 'bool':
      return { kind: 'primitive', name: 'bool' };
    case 'Vec':
    case 'VecDeque':
    case 'HashSet':
    case 'BTreeSet':
      return isByte(first) ? { kind: 'primitive', name: 'bytes' } : { kind: 'list', items: arg() };
    case 'Option':
      return { kind: 'option', value: arg() };
    // The error side of a Result is how Rust reports failure; in TypeScript a function throws.
    case 'Result':
    case 'Box':
    case 'Rc':
    case 'Arc':
    case 'Cow':
      return arg();
    case 'Self':
      return { kind: 'unknown' };
    default:
      return { kind: 'named', name: type.name };
  }
}
