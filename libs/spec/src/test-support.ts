/**
 * Helpers for this lib's tests (not part of the public surface).
 */
import type { Diagnostic } from './model.ts';

/** A YAML document written indented in a test: the first line break and the common indentation go. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const indents = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.length - line.trimStart().length);
  const indent = Math.min(...indents);
  return text
    .split('\n')
    .map((line) => line.slice(indent))
    .join('\n')
    .replace(/[ \t]+$/, '');
}

/** `code line:col message` per diagnostic: one readable line to compare. */
export function brief(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((d) => `${d.code} ${d.pos.line}:${d.pos.col} ${d.message}`);
}

/** A value without its `pos` fields (deeply), to compare structure. */
export function withoutPos<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => withoutPos(item)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== 'pos' && key !== 'codePos' && key !== 'refPos')
        .map(([key, item]) => [key, withoutPos(item)]),
    ) as T;
  }
  return value;
}

/** The header every dataflow test file starts with. */
export const HEADER_05 = 'apiVersion: 0.5.0\nmeta:\n  name: test\n  namespace: examples\n  version: 0.1.0\n';
