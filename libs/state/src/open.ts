import { compileStateStoreOptions, type StateStoreOptions } from './options.ts';
import { openPgliteStore } from './pglite.ts';
import { openPostgresStore } from './postgres.ts';
import type { StateStore } from './types.ts';

/**
 * Opens the state store of a dataflow: a PostgreSQL server when `connectionString` is given
 * (distributed mode, `--postgres URL`), else embedded PGlite in `dataDir` (in memory without one).
 */
export async function openStateStore(options: StateStoreOptions = {}): Promise<StateStore> {
  const compiled = compileStateStoreOptions(options);
  return compiled.kind === 'postgres' ? openPostgresStore(options) : openPgliteStore(options);
}
