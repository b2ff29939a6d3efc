/** Names as WIT and TypeScript want them. */
import { pascalCase } from '@ssdk/spec';

const WIT_KEYWORDS = new Set([
  'as', 'async', 'bool', 'borrow', 'char', 'constructor', 'enum', 'export', 'f32', 'f64', 'flags', 'float32', 'float64',
  'func', 'future', 'import', 'include', 'interface', 'list', 'map', 'option', 'own', 'package', 'record', 'resource',
  'result', 'static', 'stream', 'string', 'tuple', 'type', 'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', 'use',
  'variant', 'with', 'world', 'from', 'error-context', 'fixed-size-list', 'error',
]);

/** A WIT identifier: lowercase kebab words, each starting with a letter; keywords escaped with `%`. */
export function witId(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((w) => (/^[0-9]/.test(w) ? `n${w}` : w));
  const id = words.join('-') || 'unnamed';
  return WIT_KEYWORDS.has(id) ? `%${id}` : id;
}

/** A WIT package name segment (no `%` escapes allowed there). */
export function witPackagePart(name: string): string {
  return witId(name).replace(/^%/, '');
}

/** The PascalCase TypeScript name of a services-file type. */
export function tsTypeName(name: string): string {
  const n = pascalCase(name) || 'Unnamed';
  return /^[0-9]/.test(n) ? `T${n}` : n;
}

const TS_IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property name as TypeScript writes it: bare when it can be, quoted otherwise. */
export function tsProp(name: string): string {
  return TS_IDENT.test(name) ? name : JSON.stringify(name);
}
