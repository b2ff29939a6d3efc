/**
 * A unit's `ctx.sql`: the state store's `query()`, with a window flush's own window seen as the
 * unit holds it. A window's state lives in memory until the batch that flushes it commits, so a
 * flush that read its window through SQL used to get the committed rows only — none, for a
 * window that opened since the last commit. The executors (sandboxed and native) hand the
 * flush's window states by the names functions use; here they become the unit's tables, and the
 * store shows them in place of the committed rows inside the query's transaction, which it rolls
 * back (nothing is written). Other units' state, and this unit's other windows, read as committed.
 */
import type { PlanOperator } from '@ssdk/plan';
import type { QueryOptions } from '@ssdk/state';
import type { SqlCallOptions } from '@ssdk/wasm-host';
import type { SqlRow } from '@ssdk/engine';

/** `ctx.sql` as a process answers it: the state store's `query()` (tables by name). */
export type StoreSql = (query: string, params: unknown[], options?: QueryOptions) => Promise<SqlRow[]>;

/** `ctx.sql` as a unit's executor calls it (pending window states by state name). */
export type UnitSql = (query: string, params: unknown[], options?: SqlCallOptions) => Promise<SqlRow[]>;

export function unitSql(sql: StoreSql, op: PlanOperator): UnitSql {
  const tables = new Map(op.states.filter((s) => s.access === 'read-write').map((s) => [s.name, s.table]));
  return (query, params, options = {}) => {
    const { pending, ...rest } = options;
    const windows = (pending ?? []).flatMap((p) => {
      const table = tables.get(p.state);
      // Rows only a transaction that is rolled back sees: the partition column reads 0 there.
      return table ? [{ table, window: p.window, rows: p.entries.map(([key, value]) => ({ key, partition: 0, value })) }] : [];
    });
    return sql(query, params, windows.length > 0 ? { ...rest, pending: windows } : rest);
  };
}
