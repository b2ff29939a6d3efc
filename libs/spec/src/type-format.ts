/**
 * Types as people read them in messages: `list<string>`, `option<car-event>`,
 * `{make: string, speed?: f64}`.
 */
import type { TypeRef } from './model.ts';

export function typeToString(type: TypeRef): string {
  switch (type.kind) {
    case 'primitive':
    case 'named':
      return type.name;
    case 'object': {
      if (type.typeName !== undefined) return type.typeName;
      const fields = type.properties.map((p) => `${p.name}${p.optional ? '?' : ''}: ${typeToString(p.type)}`);
      return `{${fields.join(', ')}}`;
    }
    case 'enum': {
      if (type.typeName !== undefined) return type.typeName;
      const variants = type.variants.map((v) => (v.type === null ? v.name : `${v.name}(${typeToString(v.type)})`));
      return `enum{${variants.join(' | ')}}`;
    }
    case 'list':
      return `list<${typeToString(type.items)}>`;
    case 'option':
      return `option<${typeToString(type.value)}>`;
    case 'key-value':
      return `key-value<${typeToString(type.key)}, ${typeToString(type.value)}>`;
    case 'keyed-state':
      return `keyed-state<${typeToString(type.key)}, ${typeToString(type.value)}>`;
    case 'arrow-row':
      return `row{${type.columns.map((c) => `${c.name}: ${c.type}`).join(', ')}}`;
    case 'number':
    case 'void':
    case 'unknown':
    case 'invalid':
      return type.kind;
    default:
      return assertNever(type);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected type ${JSON.stringify(value)}`);
}
