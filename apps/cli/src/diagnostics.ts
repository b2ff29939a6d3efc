/**
 * Printing diagnostics the way compilers do: `FILE:LINE:COL: error: MESSAGE`, then the hint,
 * sorted by position, each problem once. Paths are shown as the user typed them.
 */
import type { Diagnostic } from '@ssdk/spec';
import type { CodeLeft } from '@ssdk/plan';
import { paint, type CliIo } from './io.ts';

export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique = diags.filter((d) => {
    const k = `${d.pos.file}:${d.pos.line}:${d.pos.col}:${d.code}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return unique.sort(
    (a, b) =>
      a.pos.file.localeCompare(b.pos.file) || a.pos.line - b.pos.line || a.pos.col - b.pos.col || a.code.localeCompare(b.code),
  );
}

export function printDiagnostics(io: CliIo, diags: Diagnostic[]): void {
  for (const d of sortDiagnostics(diags)) {
    const where = `${d.pos.file}:${d.pos.line}:${d.pos.col}`;
    const sev = d.severity === 'error' ? paint(io, 'red', 'error') : paint(io, 'yellow', 'warning');
    io.err(`${paint(io, 'bold', where)}: ${sev}: ${d.message}\n`);
    if (d.hint) io.err(`  ${paint(io, 'dim', 'hint:')} ${d.hint}\n`);
  }
}

export function countBySeverity(diags: Diagnostic[]): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const d of diags) {
    if (d.severity === 'error') errors++;
    else warnings++;
  }
  return { errors, warnings };
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/**
 * The line after a file's diagnostics, `FILE: N errors, N warnings`, and `codeWaitingNote`.
 */
export function printErrorSummary(io: CliIo, file: string, diags: Diagnostic[], o: CodeLeft = {}): void {
  const { errors, warnings } = countBySeverity(diags);
  io.err(`${file}: ${paint(io, 'red', plural(errors, 'error'))}${warnings ? `, ${plural(warnings, 'warning')}` : ''}${codeWaitingNote(o)}\n`);
}

/**
 * The functions the file's errors kept from being type-checked: those that name a type with an
 * error or read states the errors make uncertain (`codeWaiting`), and the steps the parser had to
 * leave out (`codeCut`). More may follow once these are fixed — said, so a fixed file's new
 * errors are no surprise. Empty when every function was checked.
 */
export function codeWaitingNote(left: CodeLeft): string {
  const ids = (left.codeWaiting ?? []).map((id) => `\`${id}\``);
  if (ids.length === 0) return left.codeCut ? '; the steps these errors leave out are type-checked once they are fixed' : '';
  return `; type-checked once these are fixed: ${ids.join(', ')}${left.codeCut ? ', and the steps the errors leave out' : ''}`;
}
