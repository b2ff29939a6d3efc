/**
 * A state table compiled once from its spec: its SQL statements (all multi-row, parameterized by
 * arrays and expanded with `unnest`) and its value codec. Pure: no I/O.
 *
 * Every value column travels as a `text[]` parameter and is cast in SQL, so both drivers send the
 * same bytes and PostgreSQL alone decides what a valid bigint or timestamp is. JSON values are the
 * exception: they travel as one JSON array (the values' texts joined), expanded in SQL. As a
 * `text[]`, pg wrote each value into an array literal in JavaScript, escaping every quote and
 * backslash of its JSON again (a session unit's rows are JSON texts of records: most of its
 * commit's CPU, and the text grew with each escape).
 */
import { StateWriteError } from './errors.ts';
import { assertNever, encodeKey } from './keys.ts';
import { qualify, quoteIdent, sqlType } from './schema.ts';
import type { RowColumn, StateKey, StateTableSpec } from './types.ts';

export class CompiledTable {
  readonly spec: StateTableSpec;
  readonly qualified: string;
  /** The value column(s) to select, in decode order. */
  readonly valueSelect: string;
  readonly upsertSql: string;
  /** A JSON table's upsert of string values given as one text (`textValues`), else undefined. */
  readonly upsertTextsSql: string | undefined;
  readonly deleteSql: string;
  readonly dropWindowsSql: string;
  readonly columns: readonly RowColumn[];
  private readonly columnNames: ReadonlySet<string>;

  constructor(schema: string, spec: StateTableSpec) {
    this.spec = spec;
    this.qualified = qualify(schema, spec.table);
    this.columns = spec.value.kind === 'row' ? spec.value.columns : [];
    this.columnNames = new Set(this.columns.map((c) => c.name));
    const valueNames = spec.value.kind === 'json' ? ['value'] : this.columns.map((c) => quoteIdent(c.name));
    this.valueSelect = valueNames.join(', ');

    // Parameters: $1 keys, $2 partitions, [$3 window starts, $4 window ends], then one per value column.
    const fixed = spec.windowed ? ['k text', 'p int', 'ws bigint', 'we bigint'] : ['k text', 'p int'];
    const valueCasts = spec.value.kind === 'json' ? ['jsonb'] : this.columns.map((c) => sqlType(c.type));
    const json = spec.value.kind === 'json';
    const params = [
      ...fixed.map((f, i) => `$${i + 1}::${f.split(' ')[1]}[]`),
      ...valueCasts.map((_, i) =>
        json ? `ARRAY(SELECT e FROM jsonb_array_elements($${fixed.length + i + 1}::jsonb) WITH ORDINALITY AS a(e, n) ORDER BY n)` : `$${fixed.length + i + 1}::text[]`,
      ),
    ];
    const aliases = [...fixed.map((f) => f.split(' ')[0]), ...valueCasts.map((_, i) => `v${i}`)];
    const selected = [
      'u.k',
      'u.p',
      ...(spec.windowed ? ['u.ws', 'u.we'] : []),
      ...valueCasts.map((cast, i) => `u.v${i}::${cast}`),
      'now()',
    ];
    const targets = ['key', 'partition', ...(spec.windowed ? ['window_start', 'window_end'] : []), ...valueNames, 'updated_at'];
    const updates = ['partition', ...(spec.windowed ? ['window_end'] : []), ...valueNames, 'updated_at'].map((c) => `${c} = excluded.${c}`);
    const upsert = (params: string[]) =>
      `INSERT INTO ${this.qualified} AS t (${targets.join(', ')})\n` +
      `SELECT ${selected.join(', ')} FROM unnest(${params.join(', ')}) AS u(${aliases.join(', ')})\n` +
      `ON CONFLICT (${spec.windowed ? 'window_start, key' : 'key'}) DO UPDATE SET ${updates.join(', ')}`;
    this.upsertSql = upsert(params);
    // string_to_array + unnest, not string_to_table: the same rows on PostgreSQL before 14 too.
    this.upsertTextsSql = json
      ? upsert([...params.slice(0, -1), `ARRAY(SELECT to_jsonb(s) FROM unnest(string_to_array($${fixed.length + 1}::text, E'\\x1e')) WITH ORDINALITY AS a(s, n) ORDER BY n)`])
      : undefined;

    this.deleteSql = spec.windowed
      ? `DELETE FROM ${this.qualified} AS t USING unnest($1::text[], $2::bigint[]) AS d(k, ws) WHERE t.window_start = d.ws AND t.key = d.k`
      : `DELETE FROM ${this.qualified} WHERE key = ANY($1::text[])`;
    this.dropWindowsSql = `DELETE FROM ${this.qualified} WHERE window_start = ANY($1::bigint[])`;
  }

  /** The value parameters of an upsert: one text array per value column, or the JSON values as one JSON array's text. */
  encodeValues(values: readonly unknown[]): Array<(string | null)[] | string> {
    const { table } = this.spec;
    if (this.spec.value.kind === 'json') {
      // The array in one JSON.stringify when each element is written there as it would be alone
      // (one call of the engine's; per value, a window unit's ~10 000 counts a commit cost 2-4 ms
      // the first commits of a process). Else, or when it throws, each value checked and written
      // on its own (`encodeJson` refuses what JSON cannot hold, and words why).
      if (values.every(writtenAsAlone)) {
        try {
          return [JSON.stringify(values)];
        } catch {
          // `encodeJson` below throws for the value, with its own words.
        }
      }
      return [`[${values.map((value) => encodeJson(value, table)).join(',')}]`];
    }
    const arrays = this.columns.map(() => new Array<string | null>(values.length));
    values.forEach((value, row) => {
      const record = this.rowOf(value);
      this.columns.forEach((column, i) => {
        arrays[i]![row] = encodeColumn(column, record[column.name], table);
      });
    });
    return arrays;
  }

  /**
   * For a JSON table whose `values` are all strings (a unit's held rows: JSON texts of records),
   * the value parameter of `upsertTextsSql`: the strings joined by a separator they do not hold,
   * each stored as the JSON string `encodeValues` writes. As one JSON array, each text was
   * escaped again (every quote of the JSON inside), in JavaScript, and parsed back in SQL: about
   * as much CPU as writing the texts, for a q11 session unit ~47 MB a run. Undefined for other
   * values (an empty string too: `string_to_array` gives no element for '').
   */
  textValues(values: readonly unknown[]): string | undefined {
    if (this.upsertTextsSql === undefined) return undefined;
    for (const value of values) if (typeof value !== 'string' || value.length === 0) return undefined;
    const text = values.join(TEXT_SEPARATOR);
    // Every separator must be one the join put there (a value holding one would be split in two).
    // Counted in the joined text, which is flat, not in each value: a long JSON.stringify result is
    // a rope, which a search first flattens into a copy of its own — as much time again as the
    // join in q11's session unit (~47 MB of rows a run).
    let separators = 0;
    for (let at = text.indexOf(TEXT_SEPARATOR); at !== -1; at = text.indexOf(TEXT_SEPARATOR, at + 1)) {
      if (++separators === values.length) return undefined;
    }
    return text;
  }

  /**
   * Throws the `StateWriteError` `encodeValues([value])` would, without encoding: this runs for
   * every write of a keyed step (`stateWriteCheck`), where building the text (an ISO date per
   * timestamp, arrays per call) cost more than the step itself.
   */
  checkValue(value: unknown): void {
    if (this.spec.value.kind === 'json') {
      encodeJson(value, this.spec.table);
      return;
    }
    const record = this.rowOf(value);
    for (const column of this.columns) {
      const v = record[column.name];
      if (v !== null && v !== undefined && !columnAccepts(column, v)) encodeColumn(column, v, this.spec.table);
    }
  }

  /** `value` as a row of this table's columns, or a `StateWriteError` saying why it is not one. */
  private rowOf(value: unknown): Record<string, unknown> {
    const { table } = this.spec;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new StateWriteError(`state table "${table}" holds rows (${this.columns.map((c) => c.name).join(', ')}), got ${describe(value)}`, { table });
    }
    const record = value as Record<string, unknown>;
    for (const field in record) {
      if (!Object.hasOwn(record, field) || this.columnNames.has(field) || record[field] === undefined) continue;
      throw new StateWriteError(`state table "${table}" has no column "${field}" (columns: ${[...this.columnNames].join(', ')})`, { table });
    }
    return record;
  }

  /** A selected row's value columns back to the value a function wrote. */
  decodeValue(row: Record<string, unknown>): unknown {
    if (this.spec.value.kind === 'json') return row.value;
    const out: Record<string, unknown> = {};
    for (const column of this.columns) {
      const v = row[column.name];
      if (v === null || v === undefined) continue; // an absent (optional) field stays absent
      out[column.name] = column.type === 'timestamp' && v instanceof Date ? v.getTime() : v;
    }
    return out;
  }
}

/** Between the strings of `textValues`: a control character, which JSON text never holds unescaped. */
const TEXT_SEPARATOR = '\u001e';

/**
 * Whether JSON.stringify writes `value` inside an array as it writes it alone: not for what it
 * writes alone as nothing (undefined, a function, a symbol: `null` in an array), nor for an
 * object with a `toJSON`, which may answer so.
 */
function writtenAsAlone(value: unknown): boolean {
  switch (typeof value) {
    case 'number':
    case 'string':
    case 'boolean':
      return true;
    case 'object':
      return value === null || typeof (value as { toJSON?: unknown }).toJSON !== 'function';
    default:
      return false;
  }
}

function encodeJson(value: unknown, table: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new StateWriteError(`state table "${table}" stores JSON values; this one cannot be encoded: ${(cause as Error).message}`, { table, cause });
  }
  if (text === undefined) throw new StateWriteError(`state table "${table}" stores JSON values, got ${describe(value)}`, { table });
  return text;
}

/** Whether `encodeColumn` gives text for a (present) value: the same cases, without the text. */
/** Per column type, the `typeof` of a value it takes as it is (and PostgreSQL parses); a timestamp also takes a Date. */
const ACCEPTED_KINDS: Readonly<Record<RowColumn['type'], readonly string[]>> = {
  i64: ['number', 'bigint', 'boolean', 'string'],
  f64: ['number', 'bigint', 'boolean', 'string'],
  bool: ['number', 'bigint', 'boolean', 'string'],
  string: ['number', 'bigint', 'boolean', 'string'],
  timestamp: ['number', 'string'],
};

function columnAccepts(column: RowColumn, value: unknown): boolean {
  return ACCEPTED_KINDS[column.type].includes(typeof value) || (column.type === 'timestamp' && value instanceof Date);
}

/** Text for PostgreSQL to parse; a value it cannot parse fails the commit with StateWriteError. */
function encodeColumn(column: RowColumn, value: unknown, table: string): string | null {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'i64':
    case 'f64':
    case 'bool':
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || typeof value === 'string') return String(value);
      break;
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
      break;
    case 'timestamp': {
      const date = typeof value === 'number' ? new Date(value) : value instanceof Date ? value : undefined;
      if (date) return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
      if (typeof value === 'string') return value;
      break;
    }
    default:
      return assertNever(column.type);
  }
  throw new StateWriteError(`state table "${table}": column "${column.name}" (${column.type}) cannot hold ${describe(value)}`, { table });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `the ${typeof value} ${String(value)}`;
}

/**
 * Checks one state write as a commit will (the key's type, a row's columns), so a write that
 * cannot be stored fails the record that made it, not the checkpoint of a whole batch. Pure and
 * cheap: a `typeof` per key, and the row's fields for a row table. (PostgreSQL still decides
 * what text is a valid bigint or timestamp.)
 */
export function stateWriteCheck(spec: StateTableSpec): (key: StateKey, value: unknown) => void {
  const table = new CompiledTable('', spec);
  const keyType = spec.keyType;
  if (spec.value.kind !== 'row') {
    return (key) => {
      if (typeof key !== keyType) encodeKey(keyType, key, spec.table);
    };
  }
  const checkRow = quickRowCheck(table.columns, (value) => table.checkValue(value));
  return (key, value) => {
    if (typeof key !== keyType) encodeKey(keyType, key, spec.table);
    if (value !== undefined) checkRow(value);
  };
}

/**
 * `checkValue` for a row table, quicker for the usual row: a plain object (no array) whose
 * enumerable keys are all column names, each column absent or of a type its column takes as it
 * is. One generated function per table reads each column by its name (an inline cache per
 * column, where `checkValue` looks names up in a set and reads fields by computed names: about
 * half of a sliding window's state write). Anything else goes to `slow`, which decides (and
 * words the error), so the verdicts are `checkValue`'s. Where code cannot be generated from
 * strings (`--disallow-code-generation-from-strings`), `slow` alone.
 */
function quickRowCheck(columns: readonly RowColumn[], slow: (value: unknown) => void): (value: unknown) => void {
  if (columns.length === 0 || columns.length > 64) return slow;
  const names = columns.map((c) => JSON.stringify(c.name));
  // `columnAccepts`' kinds; a Date (timestamp) or anything else is left to `slow`.
  const accepts = (c: RowColumn, x: string) => `(${ACCEPTED_KINDS[c.type].map((kind) => `typeof ${x} === '${kind}'`).join(' || ')})`;
  const body = `
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return slow(v);
    for (const k in v) if (${names.map((n) => `k !== ${n}`).join(' && ')}) return slow(v);
    ${columns.map((c, i) => `const a${i} = v[${names[i]}];\n    if (a${i} !== undefined && a${i} !== null && !${accepts(c, `a${i}`)}) return slow(v);`).join('\n    ')}`;
  try {
    return new Function('slow', `return function checkRow(v) {${body}\n};`)(slow) as (value: unknown) => void;
  } catch (error) {
    // Refused (an EvalError); anything else is a fault of this function's and must not hide behind `slow`.
    if ((error as Error | undefined)?.name === 'EvalError') return slow;
    throw error;
  }
}
