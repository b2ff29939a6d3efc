/** Aligned text tables for the shell: state, SQL results, metrics. */

export interface TableOptions {
  /** Columns aligned right (numbers). */
  right?: readonly boolean[];
}

/** A header, a rule, then the rows; columns two blanks apart, trailing blanks trimmed. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], o: TableOptions = {}): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - width(c)));
        return o.right?.[i] ? pad + c : c + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** A value in a table cell: strings as they are, everything else as compact JSON. */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return oneLine(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  return oneLine(compactJson(v));
}

/** JSON on one line; bigints as numbers, bytes as `{"$bytes": base64}`. */
export function compactJson(v: unknown): string {
  return (
    JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'bigint' ? Number(x) : x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('base64') } : x,
    ) ?? 'null'
  );
}

function oneLine(s: string): string {
  return s.replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t');
}

/** Display width: code points (the box and arrow characters we print are one column each). */
function width(s: string): number {
  return [...s].length;
}
