/**
 * The state store interface every runtime talks to, written once for both adapters (PGlite in
 * embedded mode, a PostgreSQL server in distributed mode).
 *
 * The runtime keeps state in memory and writes it per checkpoint: `commit` takes the checkpoint's
 * writes (coalesced per key here, last one wins), the windows to drop, and each partition's last
 * input sequence, and applies them in ONE transaction with multi-row statements, fenced by the
 * partitions' lease epochs in distributed mode.
 */

/** A key as functions see it. Stored as text, decoded by the table's declared key type. */
export type StateKey = string | number | boolean;

export type StateKeyType = 'string' | 'number' | 'boolean';

export type RowColumnType = 'i64' | 'f64' | 'bool' | 'string' | 'timestamp';

export interface RowColumn {
  name: string;
  type: RowColumnType;
}

export type StateValueSpec = { kind: 'json' } | { kind: 'row'; columns: RowColumn[] };

/** One state of a dataflow; the planner names the table. */
export interface StateTableSpec {
  table: string;
  keyType: StateKeyType;
  /** Window state: one value per (window, key). */
  windowed: boolean;
  /**
   * `json`: any JSON value in a `value jsonb` column. `row`: one typed column per field, so SQL
   * reads them directly; `i64` reads back as a number (a bigint beyond 2^53), `timestamp` is
   * epoch milliseconds (a number, a Date or an ISO string on write).
   */
  value: StateValueSpec;
}

/** Event-time bounds in epoch ms, end exclusive. A windowed table is keyed by (start, key). */
export interface StateWindow {
  start: number;
  end: number;
}

export interface StateWrite {
  table: string;
  key: StateKey;
  /** The key's partition: state follows its partition when replicas rebalance. */
  partition: number;
  /** Required on windowed tables, not allowed on the others. */
  window?: StateWindow;
  /** The new value; `undefined` deletes the key. */
  value: unknown;
}

export interface WindowDrop {
  table: string;
  window: StateWindow;
}

export interface OffsetWrite {
  operator: string;
  partition: number;
  /** The last input sequence of the partition this commit covers. */
  seq: number;
  /** Operator-private state committed with the offset (e.g. watermarks); omitted = unchanged. */
  meta?: unknown;
}

/** The lease epoch this commit was computed under; the commit aborts if a lease row moved on. */
export interface Fence {
  operator: string;
  partitions: number[];
  epoch: number;
}

export interface Commit {
  writes: StateWrite[];
  /** Windows whose rows are deleted, after this commit's writes. */
  dropWindows?: WindowDrop[];
  offsets: OffsetWrite[];
  /** One fence, or several when partitions hold different epochs. */
  fence?: Fence | Fence[];
}

export interface CommitResult {
  /** Rows inserted or updated, after coalescing. */
  upserted: number;
  /** Keys deleted (requested, after coalescing). */
  deleted: number;
  /** Rows removed by `dropWindows`. */
  droppedRows: number;
  offsets: number;
}

export interface StateEntry<V = unknown> {
  key: StateKey;
  partition: number;
  window?: StateWindow;
  value: V;
  /** When the row was last written (the committing transaction's start), epoch ms: what a state's `ttl` counts from. */
  updatedAt?: number;
}

export interface ScanOptions {
  /** Only these partitions (e.g. the ones a replica just took over). */
  partition?: number[];
  /** Only this window (windowed tables). */
  window?: StateWindow;
  /** Also return each row's `updatedAt`. @default false */
  withUpdatedAt?: boolean;
  /** Only rows committed at or after this time (by the committing transaction's start). */
  changedSince?: Date;
}

export interface CommittedOffset {
  seq: number;
  /** Absent when never committed with a meta. */
  meta?: unknown;
  /** The fence epoch of the commit that wrote it (0 without a fence). */
  epoch: number;
  updatedAt: Date;
}

export interface LeaseRequest {
  operator: string;
  partition: number;
  /** Unique per process incarnation (e.g. host + pid + random). */
  owner: string;
  /** How long the lease lasts without a renewal, in ms (by the database's clock). */
  ttlMs: number;
}

export interface Lease {
  operator: string;
  partition: number;
  owner: string;
  /** Fencing token: grows each time the partition changes owner. */
  epoch: number;
  expiresAt: Date;
}

export interface LeaseState {
  operator: string;
  partition: number;
  /** null after a release. */
  owner: string | null;
  epoch: number;
  expiresAt: Date;
  expired: boolean;
}

export type LeaseResult = { acquired: true; lease: Lease } | { acquired: false; holder: LeaseState };

export interface MemberHeartbeat {
  operator: string;
  /** Unique per process incarnation, like a lease owner. */
  member: string;
  /** How long the member counts as alive without another heartbeat, in ms (the database's clock). */
  ttlMs: number;
}

export interface StateStore {
  readonly kind: 'pglite' | 'postgres';
  /** The PostgreSQL schema holding this dataflow's tables. */
  readonly schema: string;

  /** Creates the schema, bookkeeping tables and state tables; idempotent; adds new row columns. */
  migrate(tables: StateTableSpec[]): Promise<void>;
  /**
   * Views that show state tables as Fluvio's SQL names them (`aliases`: view name → table): the
   * key as `_key`, then the window bounds and the value columns. Made after `migrate`; a view
   * whose name a table already has is skipped. Replaces views of the same names.
   */
  createAliases(aliases: ReadonlyMap<string, string>): Promise<void>;
  /** The state tables stored in the schema. */
  tables(): Promise<StateTableSpec[]>;

  /** The committed values of many keys in one query; absent keys are absent from the map. */
  get<V = unknown>(table: string, keys: readonly StateKey[], window?: StateWindow): Promise<Map<StateKey, V>>;
  /** Committed entries, ordered by (window, key) bytewise, so replays see the same order. */
  scan<V = unknown>(table: string, options?: ScanOptions): Promise<StateEntry<V>[]>;
  /** The distinct windows holding state, by start. */
  windows(table: string): Promise<StateWindow[]>;

  /** Applies a checkpoint in one transaction (see `Commit`). Idempotent, so safe to retry. */
  commit(commit: Commit): Promise<CommitResult>;
  /** Committed input sequences (and meta) of an operator, by partition. */
  offsets(operator: string): Promise<Map<number, CommittedOffset>>;

  /** Takes a free, expired or already-owned lease; a new owner gets epoch + 1. */
  acquireLease(request: LeaseRequest): Promise<LeaseResult>;
  /** Extends a lease still held at its epoch; undefined when it was lost. */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  /** Gives a lease up (the next owner gets epoch + 1); false when it was no longer held. */
  releaseLease(lease: Lease): Promise<boolean>;
  /** Every lease row of an operator, by partition. */
  leases(operator: string): Promise<LeaseState[]>;

  /** Registers a replica of an operator as alive (or keeps it so) for `ttlMs`. */
  heartbeat(heartbeat: MemberHeartbeat): Promise<void>;
  /** The live replicas of an operator (heartbeat not expired), sorted. */
  members(operator: string): Promise<string[]>;
  /** Removes a replica at once (a graceful stop), so the others rebalance without waiting. */
  leave(operator: string, member: string): Promise<void>;

  /**
   * Read-only SQL over committed state (`ctx.sql`): one statement, in a READ ONLY transaction with
   * `search_path` set to the store's schema. Writes fail with `ReadOnlyQueryError`.
   * `options.timeoutMs` lowers the store's own time limit for this query (a function's time
   * left under `function-timeout`); past it the query is cancelled (`StateQueryError`).
   */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<R[]>;

  /** Drops the schema and everything in it (`ssdk clean`, tests). */
  destroy(): Promise<void>;
  close(): Promise<void>;
}

/** Per query limits of `StateStore.query()`. */
export interface QueryOptions {
  /** At most this long (ms), below the store's own `queryTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Uncommitted state the query sees as if committed: each window's rows are replaced by the
   * given ones (a window flush's own window, held in memory until its commit), inside the
   * query's transaction, which is then rolled back — nothing is written.
   */
  pending?: PendingWindow[];
}

/** A window's rows as the caller holds them now: the query sees these and no others for that window. */
export interface PendingWindow {
  table: string;
  window: StateWindow;
  rows: Array<{ key: StateKey; partition: number; value: unknown }>;
}
