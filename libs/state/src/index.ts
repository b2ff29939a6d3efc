/**
 * @ssdk/state — key-value and window state of dataflows, in PostgreSQL. One `StateStore`
 * interface, SQL written once, two adapters: PGlite (embedded mode, a data directory under
 * `.ssdk/`) and a PostgreSQL server through `pg` (distributed mode). Each is loaded on demand.
 *
 * A dataflow's state lives in one schema: a table per state (`key`, `partition`, window bounds,
 * `value jsonb` or typed row columns, `updated_at`), `_offsets` (each partition's last committed
 * input sequence and operator meta) and `_leases` (fenced partition leases). `commit` writes a
 * checkpoint — coalesced writes, dropped windows and offsets — in ONE transaction, and with a
 * fence aborts (`FencedError`) unless the lease rows still hold the committer's epoch.
 *
 * @example
 * import { openStateStore, withRetry } from '@ssdk/state';
 * const store = await openStateStore({ dataDir: '.ssdk/state', schema: 'ssdk_examples_word_count' });
 * await store.migrate([{ table: 'counts', keyType: 'string', windowed: false, value: { kind: 'json' } }]);
 * await withRetry(() =>
 *   store.commit({
 *     writes: [{ table: 'counts', key: 'hello', partition: 3, value: 2 }],
 *     offsets: [{ operator: 'count.count-word', partition: 3, seq: 41 }],
 *   }),
 * );
 * const counts = await store.get('counts', ['hello']); // Map { 'hello' => 2 }
 * const top = await store.query('SELECT key, value FROM counts ORDER BY value DESC LIMIT 3');
 * await store.close();
 */
export type * from './types.ts';
export * from './errors.ts';
export { openStateStore } from './open.ts';
export { openPgliteStore } from './pglite.ts';
export { openPostgresDatabase, openPostgresStore, probePostgres, type SqlDatabase } from './postgres.ts';
export type { SqlRunner } from './driver.ts';
export {
  compilePgliteStoreOptions,
  compilePostgresStoreOptions,
  compileStateStoreOptions,
  dataflowSchema,
  sqlRoleOf,
  DEFAULT_SCHEMA,
  type CompiledPgliteStoreOptions,
  type CompiledPostgresStoreOptions,
  type CompiledStateStoreOptions,
  type PgliteStoreOptions,
  type PostgresPoolOptions,
  type PostgresStoreOptions,
  type StateStoreOptions,
} from './options.ts';
export { withRetry, type RetryOptions } from './retry.ts';
export { stateWriteCheck } from './table.ts';
export { isTransient } from './driver.ts';
