/**
 * Records → SQL rows: Fluvio's `infinyon/json-sql` mapping (a column per `json-key` path, with
 * defaults and required columns), and Fluvio's SQL operations (`{"Insert": {table, values}}`,
 * what its sql-sink reads when records were mapped upstream). Pure: a record that cannot be a
 * row is a `BadRecordError` with the reason (it is dead-lettered).
 */
import type { JsonSqlMapping } from '@ssdk/spec';
import { BadRecordError } from './errors.ts';

export interface SqlRow {
  table: string;
  operation: 'insert' | 'upsert';
  uniqueColumns: string[];
  /** Column → JSON value; PostgreSQL converts each to its column's type. */
  values: Record<string, unknown>;
}

/** `device.device_id` → the value at that path; `$` (or an empty path) is the whole record. */
export function valueAtPath(record: unknown, path: string): unknown {
  const trimmed = path.replace(/^\$\.?/, '');
  if (trimmed === '') return record;
  let current: unknown = record;
  for (const part of trimmed.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Array.isArray(current) && /^\d+$/.test(part) ? current[Number(part)] : (current as Record<string, unknown>)[part];
  }
  return current;
}

export function rowOfJsonSql(mapping: JsonSqlMapping, record: unknown): SqlRow {
  const values: Record<string, unknown> = {};
  for (const column of mapping.columns) {
    let value = valueAtPath(record, column.jsonKey);
    if (value === undefined || value === null) {
      if (column.default !== undefined) value = column.default;
      else if (column.required) throw new BadRecordError(`column \`${column.name}\` is required and the record has no \`${column.jsonKey}\``);
      else continue;
    }
    // A JSON column keeps the value as JSON; other columns take text for objects PostgreSQL cannot convert.
    values[column.name] = column.type === 'json' || column.type === 'jsonb' || typeof value !== 'object' ? value : JSON.stringify(value);
  }
  return { table: mapping.table, operation: mapping.operation, uniqueColumns: mapping.uniqueColumns, values };
}

interface FluvioValue {
  column: string;
  raw_value: string;
  type: string;
}

/** Fluvio's `Operation` (fluvio-model-sql): `{"Insert": {...}}` or `{"Upsert": {..., "uniq_idx"}}`. */
export function rowsOfFluvioOperation(record: unknown): SqlRow[] {
  const entries = record !== null && typeof record === 'object' && !Array.isArray(record) ? Object.entries(record) : [];
  const [kind, body] = entries.length === 1 ? entries[0]! : [undefined, undefined];
  const op = body as { table?: unknown; values?: unknown; uniq_idx?: unknown } | undefined;
  if ((kind !== 'Insert' && kind !== 'Upsert') || typeof op?.table !== 'string' || !Array.isArray(op.values)) {
    throw new BadRecordError('a sql-sink without `table` or a json-sql transform reads Fluvio SQL operations (`{"Insert": {"table", "values": [{"column", "raw_value", "type"}]}}`); this record is not one');
  }
  const values: Record<string, unknown> = {};
  for (const v of op.values as FluvioValue[]) {
    if (typeof v?.column !== 'string' || typeof v.raw_value !== 'string') throw new BadRecordError('each of `values` needs a `column` and a `raw_value` (text)');
    if (v.type === 'Json') {
      try {
        values[v.column] = JSON.parse(v.raw_value) as unknown;
      } catch {
        throw new BadRecordError(`\`${v.column}\` is typed Json and its raw_value is not JSON`);
      }
    } else values[v.column] = v.raw_value;
  }
  const unique = kind === 'Upsert' ? (typeof op.uniq_idx === 'string' ? [op.uniq_idx] : []) : [];
  if (kind === 'Upsert' && unique.length === 0) throw new BadRecordError('an Upsert needs `uniq_idx`, the column of the unique index');
  return [{ table: op.table, operation: kind === 'Upsert' ? 'upsert' : 'insert', uniqueColumns: unique, values }];
}
