/**
 * Secret references in connector settings: `${{ secrets.NAME }}` inside text (Fluvio's template
 * syntax) or `{secret: {name: NAME}}` as a whole value. Only names live in the model.
 */
import type { SecretText } from './model.ts';

/** Fluvio's rule: ASCII letters, digits and `_`, not starting with a digit. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const TEMPLATE = /\$\{\{\s*secrets\.([^\s}]*)\s*\}\}/g;

/** Splits text into literal parts and secret references; undefined when a name is invalid. */
export function parseSecretTemplate(text: string): SecretText | undefined {
  const parts: SecretText['parts'] = [];
  let last = 0;
  for (const match of text.matchAll(TEMPLATE)) {
    const name = match[1] ?? '';
    if (!SECRET_NAME.test(name)) return undefined;
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push({ secret: name });
    last = match.index + match[0].length;
  }
  if (last < text.length || parts.length === 0) parts.push(text.slice(last));
  return { parts };
}

/** The names a value refers to. */
export function secretNames(value: SecretText): string[] {
  return value.parts.flatMap((part) => (typeof part === 'string' ? [] : [part.secret]));
}

/** Text for messages: secrets shown by name, never by value. */
export function describeSecretText(value: SecretText): string {
  return value.parts.map((part) => (typeof part === 'string' ? part : `\${{ secrets.${part.secret} }}`)).join('');
}
