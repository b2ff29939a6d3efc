/**
 * Turns a `Commit` into the parameters of its multi-row statements (pure: no I/O). Writes are
 * coalesced per (table, window, key), the last one winning, so a key written three times in a
 * checkpoint costs one row; keys are encoded and values checked here, before any transaction
 * opens.
 */
import { StateUsageError } from './errors.ts';
import { encodeKey } from './keys.ts';
import type { CompiledTable } from './table.ts';
import type { Commit, Fence, OffsetWrite, StateWindow, StateWrite } from './types.ts';

/** Rows per statement: bounds one statement's parameter size for very large checkpoints. */
export const ROWS_PER_STATEMENT = 10_000;

export interface TableWrites {
  table: CompiledTable;
  /**
   * Upserts, chunked: the statement and its parameters [keys, partitions, (starts, ends,) ...value
   * columns] (a JSON value column: one JSON array's text, or its strings as one text: `textValues`).
   */
  upserts: Array<{ sql: string; params: unknown[] }>;
  upserted: number;
  /** Delete parameters, chunked: [keys] or [keys, window starts]. */
  deletes: unknown[][][];
  deleted: number;
}

export interface CommitPlan {
  /** Lease rows to check: [operators, partitions, epochs]; empty when unfenced. */
  fence: { operators: string[]; partitions: number[]; epochs: number[] };
  tables: TableWrites[];
  drops: { table: CompiledTable; starts: number[] }[];
  /** Offset upsert parameters: [operators, partitions, seqs, epochs, metas (JSON text or null)]. */
  offsets: [string[], number[], number[], number[], (string | null)[]];
  empty: boolean;
}

/** Table names a commit touches, so the store can load their specs before planning. */
export function commitTables(commit: Commit): Set<string> {
  const names = new Set<string>();
  for (const w of commit.writes) names.add(w.table);
  for (const d of commit.dropWindows ?? []) names.add(d.table);
  return names;
}

export function fences(commit: Commit): Fence[] {
  if (commit.fence === undefined) return [];
  return Array.isArray(commit.fence) ? commit.fence : [commit.fence];
}

export function planCommit(commit: Commit, tableOf: (name: string) => CompiledTable): CommitPlan {
  const fence = { operators: [] as string[], partitions: [] as number[], epochs: [] as number[] };
  const fenceEpoch = new Map<string, number>();
  for (const f of fences(commit)) {
    checkInteger(f.epoch, 'fence epoch');
    for (const partition of f.partitions) {
      checkPartition(partition);
      const id = `${f.operator}\0${partition}`;
      if (fenceEpoch.has(id)) continue;
      fenceEpoch.set(id, f.epoch);
      fence.operators.push(f.operator);
      fence.partitions.push(partition);
      fence.epochs.push(f.epoch);
    }
  }

  const byTable = new Map<string, Map<string, { write: StateWrite; key: string }>>();
  for (const write of commit.writes) {
    const table = tableOf(write.table);
    checkPartition(write.partition);
    checkWindow(table, write.window);
    const key = encodeKey(table.spec.keyType, write.key, table.spec.table);
    let writes = byTable.get(write.table);
    if (!writes) byTable.set(write.table, (writes = new Map()));
    writes.set(table.spec.windowed ? `${write.window!.start}\0${key}` : key, { write, key });
  }

  const tables: TableWrites[] = [];
  for (const [name, writes] of byTable) {
    const table = tableOf(name);
    const upserts: { write: StateWrite; key: string }[] = [];
    const deletes: { write: StateWrite; key: string }[] = [];
    for (const entry of writes.values()) (entry.write.value === undefined ? deletes : upserts).push(entry);
    tables.push({
      table,
      upserts: chunks(upserts).map((chunk) => {
        const params: unknown[] = [chunk.map((e) => e.key), chunk.map((e) => e.write.partition)];
        if (table.spec.windowed) params.push(chunk.map((e) => e.write.window!.start), chunk.map((e) => e.write.window!.end));
        const values = chunk.map((e) => e.write.value);
        const texts = table.textValues(values);
        if (texts !== undefined) return { sql: table.upsertTextsSql!, params: [...params, texts] };
        params.push(...table.encodeValues(values));
        return { sql: table.upsertSql, params };
      }),
      upserted: upserts.length,
      deletes: chunks(deletes).map((chunk) =>
        table.spec.windowed ? [chunk.map((e) => e.key), chunk.map((e) => e.write.window!.start)] : [chunk.map((e) => e.key)],
      ),
      deleted: deletes.length,
    });
  }

  const dropsByTable = new Map<string, Set<number>>();
  for (const drop of commit.dropWindows ?? []) {
    const table = tableOf(drop.table);
    if (!table.spec.windowed) throw new StateUsageError(`dropWindows: state table "${drop.table}" is not windowed`, { table: drop.table });
    checkWindow(table, drop.window);
    let starts = dropsByTable.get(drop.table);
    if (!starts) dropsByTable.set(drop.table, (starts = new Set()));
    starts.add(drop.window.start);
  }
  const drops = [...dropsByTable].map(([name, starts]) => ({ table: tableOf(name), starts: [...starts] }));

  const offsets = coalesceOffsets(commit.offsets);
  const offsetParams: CommitPlan['offsets'] = [[], [], [], [], []];
  for (const o of offsets) {
    checkPartition(o.partition);
    checkInteger(o.seq, 'offset seq');
    offsetParams[0].push(o.operator);
    offsetParams[1].push(o.partition);
    offsetParams[2].push(o.seq);
    offsetParams[3].push(fenceEpoch.get(`${o.operator}\0${o.partition}`) ?? 0);
    offsetParams[4].push(o.meta === undefined ? null : JSON.stringify(o.meta));
  }

  return {
    fence,
    tables,
    drops,
    offsets: offsetParams,
    empty: tables.length === 0 && drops.length === 0 && offsets.length === 0 && fence.operators.length === 0,
  };
}

/** Last write per (operator, partition); a later write without meta keeps an earlier one's meta. */
function coalesceOffsets(offsets: readonly OffsetWrite[]): OffsetWrite[] {
  const last = new Map<string, OffsetWrite>();
  for (const o of offsets) {
    const id = `${o.operator}\0${o.partition}`;
    const before = last.get(id);
    last.set(id, o.meta === undefined && before?.meta !== undefined ? { ...o, meta: before.meta } : o);
  }
  return [...last.values()];
}

/**
 * A commit's parameters as the drivers get them: each array (keys, partitions, window bounds,
 * value columns, offsets) as PostgreSQL's array text (`arrayText`); the rest as they are.
 */
export function sqlParams(params: readonly unknown[]): unknown[] {
  return params.map((p) => (Array.isArray(p) ? arrayText(p as ArrayElement[]) : p));
}

/** What the arrays of a commit hold: text, integers, and null for a column left empty. */
type ArrayElement = string | number | null | undefined;

/**
 * An array parameter as the text PostgreSQL reads for it (`{…}`), which both drivers pass on as
 * a string: numbers as they are, strings quoted with their quotes and backslashes escaped, null as
 * NULL — what pg (node-postgres) writes, without its generic path per element (prepareValue, then
 * two regular-expression replaces, numbers included): a q5 window unit commits ~50 000 rows of
 * five arrays a run, ~4× the time of writing them here (an in-process measurement).
 */
export function arrayText(values: readonly ArrayElement[]): string {
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) text += ',';
    if (v === null || v === undefined) text += 'NULL';
    else if (typeof v === 'number') text += String(v);
    else text += `"${v.includes('"') || v.includes('\\') ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') : v}"`;
  }
  return `${text}}`;
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}

export function checkWindow(table: CompiledTable, window: StateWindow | undefined): void {
  const name = table.spec.table;
  if (!table.spec.windowed) {
    if (window !== undefined) throw new StateUsageError(`state table "${name}" is not windowed, yet a window was given`, { table: name });
    return;
  }
  if (window === undefined) throw new StateUsageError(`state table "${name}" is windowed: give the window`, { table: name });
  checkInteger(window.start, 'window start');
  checkInteger(window.end, 'window end');
}

function checkPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) {
    throw new StateUsageError(`partition must be a non-negative integer, got ${String(partition)}`);
  }
}

function checkInteger(n: number, what: string): void {
  if (!Number.isSafeInteger(n)) throw new StateUsageError(`${what} must be an integer, got ${String(n)}`);
}
