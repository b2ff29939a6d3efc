/**
 * The state store, written once over `SqlDriver`: the adapters (PGlite, `pg`) only run statements
 * and transactions. All SQL lives here and in `schema.ts` / `table.ts`.
 */
import { backticksToDoubleQuotes } from './backticks.ts';
import { checkWindow, commitTables, planCommit, sqlParams, type CommitPlan } from './commit.ts';
import { commonError, sqlState, type SqlDriver, type SqlRunner } from './driver.ts';
import {
  FencedError,
  ReadOnlyQueryError,
  StateClosedError,
  StateDatabaseError,
  StateError,
  StateQueryError,
  StateSchemaError,
  StateUsageError,
  StateWriteError,
} from './errors.ts';
import { decodeKey, encodeKey } from './keys.ts';
import { addColumnsDdl, identifierProblem, mergedSpec, normalizeSpec, qualify, quoteIdent, RESERVED_TABLES, schemaDdl, specChange, tableDdl } from './schema.ts';
import { CompiledTable } from './table.ts';
import type {
  Commit,
  CommitResult,
  CommittedOffset,
  Lease,
  LeaseRequest,
  LeaseResult,
  LeaseState,
  MemberHeartbeat,
  QueryOptions,
  ScanOptions,
  StateEntry,
  StateKey,
  StateStore,
  StateTableSpec,
  StateWindow,
} from './types.ts';

export interface SqlStateStoreOptions {
  schema: string;
  /** statement_timeout of `query()`, in ms; 0 = none. */
  queryTimeoutMs: number;
  /** Role `query()` runs as (SET LOCAL ROLE), when set; `migrate()` creates it and grants it SELECT on the state tables. */
  queryRole: string | undefined;
  /** Most rows `query()` returns. */
  queryRowLimit: number;
  /** Runs after the driver closed (e.g. releases a directory lock). */
  onClose?: () => Promise<void> | void;
}

/** First keywords `query()` accepts; the READ ONLY transaction is the real guard. */
const READ_KEYWORDS = new Set(['select', 'with', 'values', 'table', 'show', 'explain']);

type LeaseRow = { operator: string; partition: number; owner: string | null; epoch: number; expires_at: Date; expired?: boolean };

export class SqlStateStore implements StateStore {
  readonly kind: 'pglite' | 'postgres';
  readonly schema: string;
  readonly #driver: SqlDriver;
  readonly #options: SqlStateStoreOptions;
  readonly #tables = new Map<string, CompiledTable>();
  readonly #q: (table: string) => string;
  #closed: Promise<void> | undefined;

  constructor(driver: SqlDriver, options: SqlStateStoreOptions) {
    this.kind = driver.kind;
    this.schema = options.schema;
    this.#driver = driver;
    this.#options = options;
    this.#q = (table) => qualify(options.schema, table);
  }

  async createAliases(aliases: ReadonlyMap<string, string>): Promise<void> {
    if (aliases.size === 0) return;
    await this.#run('migrate', () =>
      this.#driver.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ssdk-state:${this.schema}`]);
        const tables = new Set((await tx.query<{ name: string }>(`SELECT name FROM ${this.#q('_tables')}`)).map((r) => r.name));
        for (const [view, table] of aliases) {
          const t = this.#tables.get(table);
          if (!t || tables.has(view) || RESERVED_TABLES.has(view) || identifierProblem(view)) continue;
          const columns = ['key AS _key', ...(t.spec.windowed ? ['window_start', 'window_end'] : []), t.valueSelect];
          await tx.query(`DROP VIEW IF EXISTS ${this.#q(view)}`);
          await tx.query(`CREATE VIEW ${this.#q(view)} AS SELECT ${columns.join(', ')} FROM ${t.qualified}`);
          // The SQL role reads the views as it reads the tables (when migrate could make it).
          const role = this.#options.queryRole;
          if (role && (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [role]))[0]?.n) {
            await tx.query(`GRANT SELECT ON ${this.#q(view)} TO ${quoteIdent(role)}`);
          }
        }
      }),
    );
  }

  async migrate(specs: StateTableSpec[]): Promise<void> {
    const wanted = specs.map(normalizeSpec);
    const names = new Set<string>();
    for (const spec of wanted) {
      if (names.has(spec.table)) throw new StateSchemaError(`state table "${spec.table}" is declared twice`, { table: spec.table });
      names.add(spec.table);
    }
    await this.#run('migrate', () =>
      this.#driver.transaction(async (tx) => {
        // Replicas of a dataflow start together: one migrates, the others wait and find it done.
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ssdk-state:${this.schema}`]);
        for (const statement of schemaDdl(this.schema)) await tx.query(statement);
        const rows = await tx.query<{ name: string; spec: StateTableSpec }>(
          `SELECT name, spec FROM ${this.#q('_tables')} WHERE name = ANY($1::text[])`,
          [[...names]],
        );
        const stored = new Map(rows.map((r) => [r.name, r.spec]));
        for (const spec of wanted) {
          const old = stored.get(spec.table);
          if (old === undefined) {
            for (const statement of tableDdl(this.schema, spec)) await tx.query(statement);
            await this.#saveSpec(tx, spec);
            continue;
          }
          const change = specChange(old, spec);
          if (change.kind === 'conflict') {
            throw new StateSchemaError(
              `state table "${spec.table}" in schema "${this.schema}" exists with another layout: ${change.reason}. ` +
                'Its data cannot be converted automatically: give the state a new name, or drop the stored state (ssdk clean).',
              { table: spec.table },
            );
          }
          if (change.kind === 'add-columns') {
            for (const statement of addColumnsDdl(this.schema, spec.table, change.columns)) await tx.query(statement);
            await this.#saveSpec(tx, mergedSpec(old, spec));
          }
        }
        if (this.#options.queryRole) await this.#grantQueryRole(tx, this.#options.queryRole);
      }),
    );
    for (const spec of wanted) this.#tables.set(spec.table, new CompiledTable(this.schema, spec));
  }

  /**
   * The SQL role: created NOLOGIN when missing, granted to the current user (so it may SET ROLE),
   * USAGE on the schema and SELECT on the state tables and `_tables` — nothing else. Without the
   * right to create roles (a least-privilege operator), the planner's grants stand and a missing
   * role makes `query()` fail with the reason, never run as this user.
   */
  async #grantQueryRole(tx: SqlRunner, role: string): Promise<void> {
    const r = quoteIdent(role);
    await tx.query('SAVEPOINT ssdk_sql_role');
    try {
      const [exists] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [role]);
      if (!exists?.n) await tx.query(`CREATE ROLE ${r} NOLOGIN NOINHERIT`);
      await tx.query(`GRANT ${r} TO CURRENT_USER`);
      await tx.query(`GRANT USAGE ON SCHEMA ${quoteIdent(this.schema)} TO ${r}`);
      const tables = await tx.query<{ name: string }>(`SELECT name FROM ${this.#q('_tables')}`);
      for (const t of ['_tables', ...tables.map((row) => row.name)]) await tx.query(`GRANT SELECT ON ${this.#q(t)} TO ${r}`);
      await tx.query('RELEASE SAVEPOINT ssdk_sql_role');
    } catch (error) {
      if (sqlState(error) !== '42501') throw error; // insufficient_privilege: the planner's grants stand
      await tx.query('ROLLBACK TO SAVEPOINT ssdk_sql_role');
    }
  }

  async tables(): Promise<StateTableSpec[]> {
    return this.#run('tables', async () => {
      try {
        const rows = await this.#driver.query<{ spec: StateTableSpec }>(`SELECT spec FROM ${this.#q('_tables')} ORDER BY name`);
        return rows.map((r) => r.spec);
      } catch (error) {
        if (isMissingRelation(error)) return [];
        throw error;
      }
    });
  }

  async get<V = unknown>(table: string, keys: readonly StateKey[], window?: StateWindow): Promise<Map<StateKey, V>> {
    const t = await this.#table(table);
    checkWindow(t, window);
    const result = new Map<StateKey, V>();
    if (keys.length === 0) return result;
    const encoded = [...new Set(keys.map((key) => encodeKey(t.spec.keyType, key, table)))];
    const params: unknown[] = [encoded];
    let sql = `SELECT key, ${t.valueSelect} FROM ${t.qualified} WHERE key = ANY($1::text[])`;
    if (window) {
      sql += ' AND window_start = $2';
      params.push(window.start);
    }
    const rows = await this.#run('get', () => this.#driver.query<Record<string, unknown>>(sql, params), table);
    for (const row of rows) result.set(decodeKey(t.spec.keyType, row.key as string, table), t.decodeValue(row) as V);
    return result;
  }

  async scan<V = unknown>(table: string, options: ScanOptions = {}): Promise<StateEntry<V>[]> {
    const t = await this.#table(table);
    if (options.window !== undefined) checkWindow(t, options.window);
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.partition !== undefined) {
      params.push(options.partition);
      where.push(`partition = ANY($${params.length}::int[])`);
    }
    if (options.window !== undefined) {
      params.push(options.window.start);
      where.push(`window_start = $${params.length}`);
    }
    if (options.changedSince !== undefined) {
      params.push(options.changedSince);
      where.push(`updated_at >= $${params.length}`);
    }
    const windowed = t.spec.windowed;
    // COLLATE "C": a byte order that is the same on every server, so a replayed flush sees the same order.
    const sql =
      `SELECT key, partition, ${windowed ? 'window_start, window_end, ' : ''}${t.valueSelect}${options.withUpdatedAt ? ', updated_at AS _ssdk_updated_at' : ''} FROM ${t.qualified}` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY ${windowed ? 'window_start, ' : ''}key COLLATE "C"`;
    const rows = await this.#run('scan', () => this.#driver.query<Record<string, unknown>>(sql, params), table);
    return rows.map((row) => {
      const entry: StateEntry<V> = {
        key: decodeKey(t.spec.keyType, row.key as string, table),
        partition: row.partition as number,
        value: t.decodeValue(row) as V,
      };
      if (options.withUpdatedAt) entry.updatedAt = new Date(row._ssdk_updated_at as Date | string).getTime();
      if (windowed) entry.window = { start: Number(row.window_start), end: Number(row.window_end) };
      return entry;
    });
  }

  async windows(table: string): Promise<StateWindow[]> {
    const t = await this.#table(table);
    if (!t.spec.windowed) throw new StateUsageError(`state table "${table}" is not windowed`, { table });
    const rows = await this.#run(
      'windows',
      () => this.#driver.query<{ window_start: number; window_end: number }>(
        `SELECT DISTINCT window_start, window_end FROM ${t.qualified} ORDER BY window_start, window_end`,
      ),
      table,
    );
    return rows.map((r) => ({ start: Number(r.window_start), end: Number(r.window_end) }));
  }

  async commit(commit: Commit): Promise<CommitResult> {
    await this.#load(commitTables(commit));
    const plan = planCommit(commit, (name) => this.#tables.get(name)!);
    const result: CommitResult = {
      upserted: plan.tables.reduce((n, t) => n + t.upserted, 0),
      deleted: plan.tables.reduce((n, t) => n + t.deleted, 0),
      droppedRows: 0,
      offsets: plan.offsets[0].length,
    };
    if (plan.empty) return result;
    return this.#run('commit', () =>
      this.#driver.transaction(async (tx) => {
        if (plan.fence.operators.length > 0) await this.#checkFence(tx, plan.fence);
        for (const writes of plan.tables) {
          for (const params of writes.deletes) await write(tx, writes.table, writes.table.deleteSql, params);
          for (const { sql, params } of writes.upserts) await write(tx, writes.table, sql, params);
        }
        result.droppedRows = 0;
        for (const drop of plan.drops) {
          const [row] = await tx.query<{ n: number }>(
            `WITH d AS (${drop.table.dropWindowsSql} RETURNING 1) SELECT count(*)::int AS n FROM d`,
            sqlParams([drop.starts]),
          );
          result.droppedRows += row?.n ?? 0;
        }
        if (plan.offsets[0].length > 0) {
          await tx.query(
            `INSERT INTO ${this.#q('_offsets')} AS o (operator, partition, seq, epoch, meta, updated_at)
SELECT u.op, u.p, u.seq, u.epoch, u.meta::jsonb, now()
FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[]) AS u(op, p, seq, epoch, meta)
ON CONFLICT (operator, partition) DO UPDATE
SET seq = excluded.seq, epoch = excluded.epoch, meta = COALESCE(excluded.meta, o.meta), updated_at = excluded.updated_at`,
            sqlParams(plan.offsets),
          );
        }
        return result;
      }),
    );
  }

  async offsets(operator: string): Promise<Map<number, CommittedOffset>> {
    const rows = await this.#run('offsets', () =>
      this.#driver.query<{ partition: number; seq: number; epoch: number; meta: unknown; updated_at: Date }>(
        `SELECT partition, seq, epoch, meta, updated_at FROM ${this.#q('_offsets')} WHERE operator = $1 ORDER BY partition`,
        [operator],
      ),
    );
    const out = new Map<number, CommittedOffset>();
    for (const r of rows) {
      const offset: CommittedOffset = { seq: Number(r.seq), epoch: Number(r.epoch), updatedAt: r.updated_at };
      if (r.meta !== null && r.meta !== undefined) offset.meta = r.meta;
      out.set(r.partition, offset);
    }
    return out;
  }

  async acquireLease(request: LeaseRequest): Promise<LeaseResult> {
    checkTtl(request.ttlMs);
    const { operator, partition, owner } = request;
    return this.#run('acquireLease', async () => {
      // One statement: take the row when free, expired or ours; a new owner bumps the epoch.
      const [row] = await this.#driver.query<LeaseRow>(
        `INSERT INTO ${this.#q('_leases')} AS l (operator, partition, owner, epoch, expires_at)
VALUES ($1, $2, $3, 1, now() + $4::bigint * interval '1 millisecond')
ON CONFLICT (operator, partition) DO UPDATE
SET owner = excluded.owner,
    epoch = CASE WHEN l.owner IS NOT DISTINCT FROM excluded.owner THEN l.epoch ELSE l.epoch + 1 END,
    expires_at = excluded.expires_at
WHERE l.owner IS NULL OR l.owner = excluded.owner OR l.expires_at <= now()
RETURNING operator, partition, owner, epoch, expires_at`,
        [operator, partition, owner, Math.ceil(request.ttlMs)],
      );
      if (row) return { acquired: true, lease: toLease(row) } as const;
      const [holder] = await this.#driver.query<LeaseRow>(
        `SELECT operator, partition, owner, epoch, expires_at, expires_at <= now() AS expired FROM ${this.#q('_leases')}
WHERE operator = $1 AND partition = $2`,
        [operator, partition],
      );
      if (!holder) throw new StateDatabaseError(`acquireLease: the lease row of ${operator}/${partition} vanished`, { operator });
      return { acquired: false, holder: toLeaseState(holder) } as const;
    });
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    checkTtl(ttlMs);
    const [row] = await this.#run('renewLease', () =>
      this.#driver.query<LeaseRow>(
        `UPDATE ${this.#q('_leases')} SET expires_at = now() + $5::bigint * interval '1 millisecond'
WHERE operator = $1 AND partition = $2 AND owner = $3 AND epoch = $4
RETURNING operator, partition, owner, epoch, expires_at`,
        [lease.operator, lease.partition, lease.owner, lease.epoch, Math.ceil(ttlMs)],
      ),
    );
    return row ? toLease(row) : undefined;
  }

  async releaseLease(lease: Lease): Promise<boolean> {
    const rows = await this.#run('releaseLease', () =>
      this.#driver.query(
        `UPDATE ${this.#q('_leases')} SET owner = NULL, expires_at = now()
WHERE operator = $1 AND partition = $2 AND owner = $3 AND epoch = $4 RETURNING partition`,
        [lease.operator, lease.partition, lease.owner, lease.epoch],
      ),
    );
    return rows.length > 0;
  }

  async leases(operator: string): Promise<LeaseState[]> {
    const rows = await this.#run('leases', () =>
      this.#driver.query<LeaseRow>(
        `SELECT operator, partition, owner, epoch, expires_at, expires_at <= now() AS expired FROM ${this.#q('_leases')}
WHERE operator = $1 ORDER BY partition`,
        [operator],
      ),
    );
    return rows.map(toLeaseState);
  }

  async heartbeat(h: MemberHeartbeat): Promise<void> {
    checkTtl(h.ttlMs);
    await this.#run('heartbeat', () =>
      this.#driver.query(
        `INSERT INTO ${this.#q('_members')} (operator, member, expires_at) VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')
ON CONFLICT (operator, member) DO UPDATE SET expires_at = excluded.expires_at`,
        [h.operator, h.member, Math.ceil(h.ttlMs)],
      ),
    );
  }

  async members(operator: string): Promise<string[]> {
    const rows = await this.#run('members', () =>
      this.#driver.query<{ member: string }>(
        `SELECT member FROM ${this.#q('_members')} WHERE operator = $1 AND expires_at > now() ORDER BY member COLLATE "C"`,
        [operator],
      ),
    );
    return rows.map((r) => r.member);
  }

  async leave(operator: string, member: string): Promise<void> {
    await this.#run('leave', () => this.#driver.query(`DELETE FROM ${this.#q('_members')} WHERE operator = $1 AND member = $2`, [operator, member]));
  }

  async query<R = Record<string, unknown>>(written: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<R[]> {
    const sql = backticksToDoubleQuotes(written);
    const keyword = firstKeyword(sql);
    if (keyword === undefined) throw new StateQueryError('ctx.sql: the query is empty');
    if (!READ_KEYWORDS.has(keyword)) {
      throw new ReadOnlyQueryError(
        `ctx.sql reads committed state only: ${keyword.toUpperCase()} is not allowed (use SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN)`,
      );
    }
    this.#checkOpen('query');
    // The lower of the store's limit and the caller's (a function's time left); 0 = none.
    const limits = [this.#options.queryTimeoutMs, options.timeoutMs === undefined ? 0 : Math.max(options.timeoutMs, 1)].filter((ms) => ms > 0);
    const timeoutMs = limits.length ? Math.max(1, Math.ceil(Math.min(...limits))) : 0;
    const pending = options.pending ?? [];
    let overlay: ReturnType<typeof planCommit> | undefined;
    if (pending.length > 0) {
      await this.#load(pending.map((p) => p.table));
      overlay = planCommit(
        {
          writes: pending.flatMap((p) => p.rows.map((r) => ({ table: p.table, key: r.key, partition: r.partition, window: p.window, value: r.value }))),
          dropWindows: pending.map((p) => ({ table: p.table, window: p.window })),
          offsets: [],
        },
        (name) => this.#tables.get(name)!,
      );
    }
    try {
      return await this.#driver.transaction(async (tx) => {
        if (overlay) {
          // The windows as the caller holds them: their committed rows out, the held ones in, as
          // the table owner (before the role); then read only, and rolled back below.
          for (const drop of overlay.drops) await tx.query(drop.table.dropWindowsSql, sqlParams([drop.starts]));
          for (const writes of overlay.tables) {
            for (const params of writes.deletes) await write(tx, writes.table, writes.table.deleteSql, params);
            for (const { sql, params } of writes.upserts) await write(tx, writes.table, sql, params);
          }
        }
        // Allowed after writes: PostgreSQL refuses only the way back to read-write.
        await tx.query('SET TRANSACTION READ ONLY');
        await tx.query("SELECT set_config('search_path', $1, true), set_config('statement_timeout', $2, true)", [
          quoteIdent(this.schema),
          String(timeoutMs),
        ]);
        if (this.#options.queryRole) await tx.query(`SET LOCAL ROLE ${quoteIdent(this.#options.queryRole)}`);
        // A row limit the server enforces: the query as a subquery, one row past the limit to tell.
        const limit = this.#options.queryRowLimit;
        const limited = keyword === 'show' || keyword === 'explain' ? sql : `SELECT * FROM (${sql.replace(/[\s;]+$/, '')}\n) AS ssdk_sql LIMIT ${limit + 1}`;
        const rows = await tx.query<R>(limited, params);
        if (rows.length > limit) throw new StateQueryError(`ctx.sql: the query returns more than ${limit} rows (the limit); aggregate or add a LIMIT`);
        // The overlay's writes must never commit: leaving by a throw rolls the transaction back.
        if (overlay) throw new RolledBack(rows);
        return rows;
      }, timeoutMs ? { timeoutMs } : {});
    } catch (error) {
      if (error instanceof RolledBack) return error.rows as R[];
      if (error instanceof StateQueryError) throw error;
      const common = commonError(error, 'ctx.sql');
      if (common) throw common;
      const message = error instanceof Error ? error.message : String(error);
      const state = sqlState(error);
      // A WITH … INSERT, nested under the row limit's subquery, is refused before the transaction's read-only check.
      if (state === '25006' || /data-modifying statement/i.test(message)) throw new ReadOnlyQueryError(`ctx.sql reads committed state only: ${message}`, { cause: error });
      if (state === '57014') {
        throw new StateQueryError(`ctx.sql: the query ran past ${timeoutMs} ms and was cancelled`, { cause: error });
      }
      const hint = (error as { hint?: string }).hint;
      throw new StateQueryError(
        `ctx.sql: ${message}${hint ? ` (${hint})` : ''}` +
          (state === '42P01' ? `; state tables live in schema "${this.schema}": SELECT name FROM _tables lists them` : ''),
        { cause: error },
      );
    }
  }

  async destroy(): Promise<void> {
    await this.#run('destroy', async () => {
      await this.#driver.query(`DROP SCHEMA IF EXISTS ${quoteIdent(this.schema)} CASCADE`);
      // The role's grants went with the schema; the role itself is cluster-wide.
      if (this.#options.queryRole) await this.#driver.query(`DROP ROLE IF EXISTS ${quoteIdent(this.#options.queryRole)}`).catch(() => {});
    });
    this.#tables.clear();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        await this.#driver.close();
      } finally {
        await this.#options.onClose?.();
      }
    })();
    return this.#closed;
  }

  /** Loads specs of tables this store did not migrate itself (ref-state readers, flushers). */
  async #load(names: Iterable<string>): Promise<void> {
    const missing = [...names].filter((name) => !this.#tables.has(name));
    if (missing.length === 0) return;
    let rows: { spec: StateTableSpec }[] = [];
    try {
      rows = await this.#run('load tables', () =>
        this.#driver.query<{ spec: StateTableSpec }>(`SELECT spec FROM ${this.#q('_tables')} WHERE name = ANY($1::text[])`, [missing]),
      );
    } catch (error) {
      if (!(error instanceof StateSchemaError)) throw error;
    }
    for (const { spec } of rows) this.#tables.set(spec.table, new CompiledTable(this.schema, spec));
    const unknown = missing.filter((name) => !this.#tables.has(name));
    if (unknown.length > 0) {
      throw new StateSchemaError(
        `unknown state table${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} in schema "${this.schema}": ` +
          'migrate() creates the tables of a dataflow before they are used',
        { table: unknown[0] },
      );
    }
  }

  async #table(name: string): Promise<CompiledTable> {
    await this.#load([name]);
    return this.#tables.get(name)!;
  }

  async #checkFence(tx: SqlRunner, fence: CommitPlan['fence']): Promise<void> {
    // FOR SHARE: a takeover's UPDATE of these rows waits until this commit is done, so a new
    // owner always reads offsets that include it.
    const rows = await tx.query<{ operator: string; partition: number; owner: string | null; epoch: number }>(
      `SELECT l.operator, l.partition, l.owner, l.epoch FROM ${this.#q('_leases')} AS l
JOIN unnest($1::text[], $2::int[]) AS f(operator, partition) ON l.operator = f.operator AND l.partition = f.partition
FOR SHARE OF l`,
      sqlParams([fence.operators, fence.partitions]),
    );
    const current = new Map(rows.map((r) => [`${r.operator}\0${r.partition}`, r]));
    const lost: string[] = [];
    const lostPartitions: number[] = [];
    let operator: string | undefined;
    fence.operators.forEach((op, i) => {
      const partition = fence.partitions[i]!;
      const epoch = fence.epochs[i]!;
      const row = current.get(`${op}\0${partition}`);
      if (row && Number(row.epoch) === epoch) return;
      operator ??= op;
      lostPartitions.push(partition);
      lost.push(
        row
          ? `${op}/${partition} is at epoch ${row.epoch}${row.owner ? ` (owner ${row.owner})` : ' (released)'}, not ${epoch}`
          : `${op}/${partition} has no lease`,
      );
    });
    if (lost.length > 0) {
      throw new FencedError(
        `commit fenced off: ${lost.join('; ')}. Another replica owns these partitions now; ` +
          'stop processing them and acquire their leases again (nothing was written)',
        { operator: operator!, partitions: lostPartitions, epoch: fence.epochs[0]! },
      );
    }
  }

  async #saveSpec(tx: SqlRunner, spec: StateTableSpec): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.#q('_tables')} (name, spec) VALUES ($1, $2::jsonb)
ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = now()`,
      [spec.table, JSON.stringify(spec)],
    );
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new StateClosedError(`${what}: the state store is closed`);
  }

  /** Runs a store operation, turning driver errors into typed ones. */
  async #run<T>(what: string, fn: () => Promise<T>, table?: string): Promise<T> {
    this.#checkOpen(what);
    try {
      return await fn();
    } catch (error) {
      const options = { cause: error, ...(table === undefined ? {} : { table }) };
      const common = commonError(error, what, options);
      if (common) throw common;
      const message = error instanceof Error ? error.message : String(error);
      if (isMissingRelation(error)) {
        throw new StateSchemaError(`${what}: ${message} (schema "${this.schema}"): run migrate() first`, options);
      }
      throw new StateDatabaseError(`${what}: ${message}`, options);
    }
  }
}

/** One write statement; a value PostgreSQL refuses becomes StateWriteError naming the table. */
/** The answer of a query whose transaction held pending writes, carried out past its rollback. */
class RolledBack extends Error {
  readonly rows: unknown[];
  constructor(rows: unknown[]) {
    super('rolled back');
    this.rows = rows;
  }
}

async function write(tx: SqlRunner, table: CompiledTable, sql: string, params: unknown[]): Promise<void> {
  try {
    await tx.query(sql, sqlParams(params));
  } catch (error) {
    const state = sqlState(error);
    if (state !== undefined && (state.startsWith('22') || state.startsWith('23'))) {
      const message = error instanceof Error ? error.message : String(error);
      throw new StateWriteError(`state table "${table.spec.table}" refused a value: ${message}; nothing of this commit was written`, {
        table: table.spec.table,
        cause: error,
      });
    }
    throw error;
  }
}

function isMissingRelation(error: unknown): boolean {
  if (error instanceof StateError) return false;
  const state = sqlState(error);
  return state === '42P01' || state === '3F000';
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new StateUsageError(`lease ttlMs must be a non-negative number of ms, got ${String(ttlMs)}`);
}

function toLease(row: LeaseRow): Lease {
  return { operator: row.operator, partition: row.partition, owner: row.owner!, epoch: Number(row.epoch), expiresAt: row.expires_at };
}

function toLeaseState(row: LeaseRow): LeaseState {
  return {
    operator: row.operator,
    partition: row.partition,
    owner: row.owner,
    epoch: Number(row.epoch),
    expiresAt: row.expires_at,
    expired: row.expired === true,
  };
}

/** The first keyword of a statement, past whitespace, comments and opening parentheses. */
export function firstKeyword(sql: string): string | undefined {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s|\(/.test(c)) i++;
    else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      do {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < sql.length);
    } else break;
  }
  const match = /^[A-Za-z_]+/.exec(sql.slice(i));
  return match ? match[0].toLowerCase() : undefined;
}
