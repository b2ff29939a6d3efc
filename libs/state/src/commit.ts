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

  // Per table, per window start (undefined: not windowed), per encoded key: its last write. A
  // state's changes come window by window, so the window's map is looked up once per run of
  // writes and no id is made per row.
  const byTable = new Map<string, { table: CompiledTable; windows: Map<number | undefined, Map<string, StateWrite>> }>();
  let lastName: string | undefined;
  let last: { table: CompiledTable; windows: Map<number | undefined, Map<string, StateWrite>> } | undefined;
  let lastStart: number | undefined;
  let lastWindow: Map<string, StateWrite> | undefined;
  for (const write of commit.writes) {
    if (write.table !== lastName || last === undefined) {
      lastName = write.table;
      last = byTable.get(write.table);
      if (last === undefined) byTable.set(write.table, (last = { table: tableOf(write.table), windows: new Map() }));
      lastWindow = undefined;
    }
    const { table } = last;
    checkPartition(write.partition);
    checkWindow(table, write.window);
    const key = encodeKey(table.spec.keyType, write.key, table.spec.table);
    const start = write.window?.start;
    if (lastWindow === undefined || start !== lastStart) {
      lastStart = start;
      lastWindow = last.windows.get(start);
      if (lastWindow === undefined) last.windows.set(start, (lastWindow = new Map()));
    }
    lastWindow.set(key, write);
  }

  const tables: TableWrites[] = [];
  for (const { table, windows } of byTable.values()) {
    const { windowed } = table.spec;
    const upserts = new Rows(windowed);
    const deletes = new Rows(windowed);
    for (const writes of windows.values()) {
      for (const [key, write] of writes) (write.value === undefined ? deletes : upserts).add(key, write);
    }
    tables.push({
      table,
      upserts: upserts.chunks().map((chunk) => {
        const params: unknown[] = [chunk.keys, chunk.partitions];
        if (windowed) params.push(chunk.starts, chunk.ends);
        const texts = table.textValues(chunk.values);
        if (texts !== undefined) return { sql: table.upsertTextsSql!, params: [...params, texts] };
        params.push(...table.encodeValues(chunk.values));
        return { sql: table.upsertSql, params };
      }),
      upserted: upserts.keys.length,
      deletes: deletes.chunks().map((chunk) => (windowed ? [chunk.keys, chunk.starts] : [chunk.keys])),
      deleted: deletes.keys.length,
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
  // All numbers, or all strings without a quote or backslash (a window unit's keys, partitions
  // and bounds): joined in one call of the engine's, not concatenated element by element — a
  // commit runs a few times a process, mostly before the loop below is optimised.
  if (values.every(isNumber)) return `{${values.join(',')}}`;
  if (values.every(isString) && !QUOTE_OR_BACKSLASH.test(values.join(''))) return `{"${values.join('","')}"}`;
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

const isNumber = (v: ArrayElement): v is number => typeof v === 'number';
const isString = (v: ArrayElement): v is string => typeof v === 'string';
const QUOTE_OR_BACKSLASH = /["\\]/;

/** The rows of a table's upserts or deletes, column by column, as their statements take them. */
class Rows {
  readonly keys: string[] = [];
  readonly partitions: number[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly values: unknown[] = [];
  readonly #windowed: boolean;

  constructor(windowed: boolean) {
    this.#windowed = windowed;
  }

  add(key: string, write: StateWrite): void {
    this.keys.push(key);
    this.partitions.push(write.partition);
    if (this.#windowed) {
      this.starts.push(write.window!.start);
      this.ends.push(write.window!.end);
    }
    if (write.value !== undefined) this.values.push(write.value);
  }

  /** The rows in statements of at most ROWS_PER_STATEMENT (the arrays themselves when they fit in one). */
  chunks(): Array<Pick<Rows, 'keys' | 'partitions' | 'starts' | 'ends' | 'values'>> {
    if (this.keys.length <= ROWS_PER_STATEMENT) return this.keys.length === 0 ? [] : [this];
    const out: Array<Pick<Rows, 'keys' | 'partitions' | 'starts' | 'ends' | 'values'>> = [];
    for (let i = 0; i < this.keys.length; i += ROWS_PER_STATEMENT) {
      const end = i + ROWS_PER_STATEMENT;
      out.push({
        keys: this.keys.slice(i, end),
        partitions: this.partitions.slice(i, end),
        starts: this.starts.slice(i, end),
        ends: this.ends.slice(i, end),
        values: this.values.slice(i, end),
      });
    }
    return out;
  }
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
