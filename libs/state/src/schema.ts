/**
 * Table layout of a dataflow's schema (pure: SQL text only). One table per state, plus three
 * bookkeeping tables:
 * - `_tables`: the spec each state table was created from, so a reader finds the layout without
 *   the plan and a changed spec is caught at migrate time;
 * - `_offsets`: each (operator, partition)'s last committed input sequence, with operator meta;
 * - `_leases`: the distributed runtime's fenced partition leases;
 * - `_members`: the live replicas of each operator (heartbeats), so they can divide partitions.
 */
import { StateSchemaError } from './errors.ts';
import type { RowColumn, RowColumnType, StateTableSpec } from './types.ts';

export const RESERVED_TABLES: ReadonlySet<string> = new Set(['_tables', '_offsets', '_leases', '_members']);
export const RESERVED_COLUMNS: ReadonlySet<string> = new Set(['key', 'partition', 'window_start', 'window_end', 'updated_at']);

const COLUMN_TYPES: Record<RowColumnType, string> = {
  i64: 'bigint',
  f64: 'double precision',
  bool: 'boolean',
  string: 'text',
  timestamp: 'timestamptz',
};

export function sqlType(type: RowColumnType): string {
  return COLUMN_TYPES[type];
}

/** Quotes an identifier, so any name the planner gives is used verbatim. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualify(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** PostgreSQL truncates identifiers past 63 bytes, which would silently merge names. */
export function identifierProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'is empty';
  if (Buffer.byteLength(name, 'utf8') > 63) return 'is longer than 63 bytes';
  if (name.includes('\0')) return 'contains a NUL character';
  return undefined;
}

/** Checks a spec and returns its canonical form (the one stored in `_tables` and compared). */
export function normalizeSpec(spec: StateTableSpec): StateTableSpec {
  const where = `state table ${JSON.stringify(spec?.table)}`;
  const fail = (problem: string) => new StateSchemaError(`${where} ${problem}`, { table: spec?.table });
  const nameProblem = identifierProblem(spec?.table);
  if (nameProblem) throw fail(`: the name ${nameProblem}`);
  if (RESERVED_TABLES.has(spec.table)) throw fail(`: the name is reserved for ssdk's bookkeeping`);
  if (!['string', 'number', 'boolean'].includes(spec.keyType)) throw fail(`has an unknown key type ${JSON.stringify(spec.keyType)}`);
  if (typeof spec.windowed !== 'boolean') throw fail('needs windowed: true | false');
  const value = spec.value;
  if (value?.kind === 'json') return { table: spec.table, keyType: spec.keyType, windowed: spec.windowed, value: { kind: 'json' } };
  if (value?.kind !== 'row') throw fail(`has an unknown value kind ${JSON.stringify((value as { kind?: unknown })?.kind)}`);
  if (!Array.isArray(value.columns) || value.columns.length === 0) throw fail('has a row value without columns');
  const seen = new Set<string>();
  const columns: RowColumn[] = value.columns.map((column) => {
    const problem = identifierProblem(column?.name);
    if (problem) throw fail(`has a column whose name ${problem}`);
    if (RESERVED_COLUMNS.has(column.name)) throw fail(`has a column named "${column.name}", which the table layout uses`);
    if (seen.has(column.name)) throw fail(`has the column "${column.name}" twice`);
    seen.add(column.name);
    if (!(column.type in COLUMN_TYPES)) throw fail(`has the column "${column.name}" of unknown type ${JSON.stringify(column.type)}`);
    return { name: column.name, type: column.type };
  });
  return { table: spec.table, keyType: spec.keyType, windowed: spec.windowed, value: { kind: 'row', columns } };
}

export type SpecChange =
  | { kind: 'same' }
  | { kind: 'add-columns'; columns: RowColumn[] }
  | { kind: 'conflict'; reason: string };

/** What migrating from the stored spec to the wanted one takes: only new row columns are automatic. */
export function specChange(stored: StateTableSpec, wanted: StateTableSpec): SpecChange {
  if (stored.keyType !== wanted.keyType) return { kind: 'conflict', reason: `its key type changed from ${stored.keyType} to ${wanted.keyType}` };
  if (stored.windowed !== wanted.windowed) return { kind: 'conflict', reason: wanted.windowed ? 'it became windowed' : 'it is no longer windowed' };
  if (stored.value.kind !== wanted.value.kind) return { kind: 'conflict', reason: `its value changed from ${stored.value.kind} to ${wanted.value.kind}` };
  if (stored.value.kind === 'json' || wanted.value.kind === 'json') return { kind: 'same' };
  const old = new Map(stored.value.columns.map((c) => [c.name, c.type]));
  const added: RowColumn[] = [];
  for (const column of wanted.value.columns) {
    const type = old.get(column.name);
    if (type === undefined) added.push(column);
    else if (type !== column.type) return { kind: 'conflict', reason: `its column "${column.name}" changed from ${type} to ${column.type}` };
  }
  // Columns dropped from the spec stay in the table (their data is kept) and are no longer read.
  return added.length > 0 ? { kind: 'add-columns', columns: added } : { kind: 'same' };
}

/** The spec to store after a compatible change: the wanted columns plus any no longer declared. */
export function mergedSpec(stored: StateTableSpec, wanted: StateTableSpec): StateTableSpec {
  if (stored.value.kind !== 'row' || wanted.value.kind !== 'row') return wanted;
  const wantedNames = new Set(wanted.value.columns.map((c) => c.name));
  const kept = stored.value.columns.filter((c) => !wantedNames.has(c.name));
  return { ...wanted, value: { kind: 'row', columns: [...wanted.value.columns, ...kept] } };
}

export function schemaDdl(schema: string): string[] {
  const q = (table: string) => qualify(schema, table);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${q('_tables')} (
  name text PRIMARY KEY,
  spec jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
    `CREATE TABLE IF NOT EXISTS ${q('_offsets')} (
  operator text NOT NULL,
  partition int NOT NULL,
  seq bigint NOT NULL,
  epoch bigint NOT NULL DEFAULT 0,
  meta jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator, partition)
)`,
    `CREATE TABLE IF NOT EXISTS ${q('_leases')} (
  operator text NOT NULL,
  partition int NOT NULL,
  owner text,
  epoch bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (operator, partition)
)`,
    `CREATE TABLE IF NOT EXISTS ${q('_members')} (
  operator text NOT NULL,
  member text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (operator, member)
)`,
  ];
}

export function valueColumnsDdl(spec: StateTableSpec): string[] {
  if (spec.value.kind === 'json') return ['value jsonb'];
  return spec.value.columns.map((c) => `${quoteIdent(c.name)} ${sqlType(c.type)}`);
}

export function tableDdl(schema: string, spec: StateTableSpec): string[] {
  const columns = [
    'key text NOT NULL',
    'partition int NOT NULL',
    ...(spec.windowed ? ['window_start bigint NOT NULL', 'window_end bigint NOT NULL'] : []),
    ...valueColumnsDdl(spec),
    'updated_at timestamptz NOT NULL DEFAULT now()',
    spec.windowed ? 'PRIMARY KEY (window_start, key)' : 'PRIMARY KEY (key)',
  ];
  return [
    `CREATE TABLE IF NOT EXISTS ${qualify(schema, spec.table)} (\n  ${columns.join(',\n  ')}\n)`,
    // Index names live in the schema's namespace; unnamed, PostgreSQL picks a unique one.
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName(spec.table))} ON ${qualify(schema, spec.table)} (partition)`,
  ];
}

/** `<table>_partition_idx`, shortened with a hash when it would pass 63 bytes. */
export function indexName(table: string): string {
  const name = `${table}_partition_idx`;
  if (Buffer.byteLength(name, 'utf8') <= 63) return name;
  let hash = 0;
  for (const ch of table) hash = (Math.imul(hash, 31) + ch.codePointAt(0)!) >>> 0;
  return `partition_idx_${hash.toString(16)}_${[...table].slice(0, 20).join('')}`;
}

export function addColumnsDdl(schema: string, table: string, columns: RowColumn[]): string[] {
  return columns.map((c) => `ALTER TABLE ${qualify(schema, table)} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${sqlType(c.type)}`);
}
