/**
 * SQL written for Fluvio's SDF (Polars SQL) quotes identifiers with backticks
 * (``select * from `count-per-word` where `flow_id` = '…'``); PostgreSQL quotes them with double
 * quotes. `query()` rewrites each backtick-quoted identifier to a double-quoted one, leaving
 * string literals, double-quoted identifiers, dollar-quoted strings and comments as they are, so
 * such SQL runs unchanged against the state views (`createAliases`).
 */
export function backticksToDoubleQuotes(sql: string): string {
  if (!sql.includes('`')) return sql;
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const skipTo = skipEnd(sql, i);
    if (skipTo > i) {
      out += sql.slice(i, skipTo);
      i = skipTo;
    } else if (c === '`') {
      const close = sql.indexOf('`', i + 1);
      // An unclosed backtick is left for PostgreSQL to report, where the user wrote it.
      if (close < 0) return out + sql.slice(i);
      out += `"${sql.slice(i + 1, close).replaceAll('"', '""')}"`;
      i = close + 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** Where the literal, quoted identifier or comment starting at `i` ends (`i` when none starts there). */
function skipEnd(sql: string, i: number): number {
  const c = sql[i];
  if (c === "'" || c === '"') {
    // '' and "" inside are the quote itself.
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === c) {
        if (sql[j + 1] === c) j += 2;
        else return j + 1;
      } else j += 1;
    }
    return sql.length;
  }
  if (c === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end + 1;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  if (c === '$') {
    const tag = /^\$[A-Za-z_]?\w*\$/.exec(sql.slice(i))?.[0];
    if (tag) {
      const end = sql.indexOf(tag, i + tag.length);
      return end < 0 ? sql.length : end + tag.length;
    }
  }
  return i;
}
