/**
 * Printing diagnostics the way compilers do: `FILE:LINE:COL: error: MESSAGE`, then the hint,
 * sorted by position, each problem once. Paths are shown as the user typed them.
 */
import type { Diagnostic } from '@ssdk/spec';
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
 * The line after a file's diagnostics, `FILE: N errors, N warnings`. `codeUnchecked`: the file's
 * own errors kept its functions from being type-checked (their types come from it), so more may
 * follow once these are fixed — said, so a fixed file's new errors are no surprise.
 */
export function printErrorSummary(io: CliIo, file: string, diags: Diagnostic[], o: { codeUnchecked?: boolean } = {}): void {
  const { errors, warnings } = countBySeverity(diags);
  const unchecked = o.codeUnchecked ? '; the functions are type-checked once these are fixed' : '';
  io.err(`${file}: ${paint(io, 'red', plural(errors, 'error'))}${warnings ? `, ${plural(warnings, 'warning')}` : ''}${unchecked}\n`);
}
