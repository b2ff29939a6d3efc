/**
 * The TypeScript signature a Rust function from a Fluvio file ports to, written out for the
 * `rust-function` diagnostic's hint ("port it to TypeScript: function isSpeeding(car: Car): boolean").
 */
import type { FunctionParam, FunctionSignature, OperatorKind, TypeRef } from '../model.ts';
import { camelCase, pascalCase } from '../names.ts';

/** A type as TypeScript code. Numbers are all `number` in ssdk's TypeScript functions. */
export function tsTypeText(type: TypeRef): string {
  switch (type.kind) {
    case 'primitive':
      if (type.name === 'string') return 'string';
      if (type.name === 'bool') return 'boolean';
      if (type.name === 'bytes') return 'Uint8Array';
      return 'number';
    case 'number':
      return 'number';
    case 'named':
      // Generated types are PascalCase (`analytics-event` is `AnalyticsEvent`).
      return pascalCase(type.name);
    case 'list': {
      const items = tsTypeText(type.items);
      return /[|{ ]/.test(items) ? `Array<${items}>` : `${items}[]`;
    }
    case 'option':
      return `${tsTypeText(type.value)} | undefined`;
    case 'key-value':
    case 'keyed-state': {
      // Fluvio's `Option<K>` key: in ssdk a returned key is always there (no key: return the value alone).
      const key = type.key.kind === 'option' ? type.key.value : type.key;
      return `{ key: ${tsTypeText(key)}; value: ${tsTypeText(type.value)} }`;
    }
    case 'object':
      return `{ ${type.properties.map((p) => `${p.name}${p.optional ? '?' : ''}: ${tsTypeText(p.type)}`).join('; ')} }`;
    case 'void':
      return 'void';
    default:
      return 'unknown';
  }
}

/**
 * The ssdk signature for a function read from Rust: a record key passed as a first
 * `Option<K>` parameter (Fluvio's key-value input) comes from `ctx.key()` in ssdk instead.
 */
export function portedParams(signature: FunctionSignature, operator: OperatorKind): FunctionParam[] {
  const [first, second] = signature.params;
  const keyFirst = operator !== 'assign-timestamp' && second !== undefined && first?.type.kind === 'option';
  const params = keyFirst ? signature.params.slice(1) : signature.params;
  // Rust reaches its state through generated accessors; TypeScript through `ctx`.
  return operator === 'update-state' || operator === 'flush' ? [...params, { name: 'ctx', type: { kind: 'named', name: 'Ctx' } }] : params;
}

export function tsSignatureText(name: string, params: readonly FunctionParam[], returns: TypeRef): string {
  const list = params.map((p) => `${camelCase(p.name) || 'value'}: ${tsTypeText(p.type)}`).join(', ');
  return `function ${camelCase(name)}(${list}): ${tsTypeText(returns)}`;
}
