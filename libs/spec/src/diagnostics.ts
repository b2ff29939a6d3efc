/**
 * Diagnostics: how the parser reports problems (all of them, each with a place, a stable code,
 * a message and usually a hint), how they print, and the typed error for callers that throw.
 */
import type { Diagnostic, Severity, SourcePos } from './model.ts';

/** Collects the diagnostics of one file. Parsing never stops at the first problem. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];

  error(code: string, message: string, pos: SourcePos, hint?: string): void {
    this.add('error', code, message, pos, hint);
  }

  warning(code: string, message: string, pos: SourcePos, hint?: string): void {
    this.add('warning', code, message, pos, hint);
  }

  add(severity: Severity, code: string, message: string, pos: SourcePos, hint?: string): void {
    this.items.push(hint === undefined ? { severity, code, message, pos } : { severity, code, message, hint, pos });
  }

  /** In file order; problems at the same place keep the order they were found in. */
  sorted(): Diagnostic[] {
    return [...this.items].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
  }
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/**
 * `FILE:LINE:COL: error: MESSAGE`, and the hint on its own indented line, the way compilers
 * print so editors and terminals can link to the place.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.pos.file}:${d.pos.line}:${d.pos.col}: ${d.severity}: ${d.message}`;
  return d.hint === undefined ? head : `${head}\n  hint: ${d.hint}`;
}

/**
 * A services file with errors, for callers that prefer an exception to a `ParseResult`.
 * A user error: the message names the first problem; `diagnostics` holds all of them.
 */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly code = 'invalid-services-file';
  readonly domain = 'user' as const;
  /** Fixing the file, not retrying, is what helps. */
  readonly retryable = false;
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[], options?: { cause?: unknown }) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    super(first === undefined ? 'invalid services file' : `${formatDiagnostic(first)}${more}`, options);
    this.diagnostics = diagnostics;
  }
}
