/**
 * Typed errors of the state store. Every error has a stable `code`, a `domain` (whose mistake or
 * whose outage: `user` code or SQL, an `external` system, or an `internal` bug) and a `retryable`
 * hint; `withRetry` retries exactly the retryable ones. The driver's error is kept as `cause`.
 */

export type StateErrorDomain = 'user' | 'external' | 'internal';

export interface StateErrorOptions {
  cause?: unknown;
  /** The operator id, where known. */
  operator?: string;
  /** The state table, where known. */
  table?: string;
}

export abstract class StateError extends Error {
  abstract readonly code: string;
  abstract readonly domain: StateErrorDomain;
  readonly retryable: boolean = false;
  readonly operator: string | undefined;
  readonly table: string | undefined;

  constructor(message: string, options: StateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.operator = options.operator;
    this.table = options.table;
  }
}

/** The database cannot be reached or dropped the connection. Retry with `withRetry`. */
export class StateUnavailableError extends StateError {
  override name = 'StateUnavailableError';
  readonly code = 'state-unavailable';
  readonly domain = 'external';
  override readonly retryable = true;
}

/** A serialization failure or deadlock: the transaction did nothing and may simply be retried. */
export class StateConflictError extends StateError {
  override name = 'StateConflictError';
  readonly code = 'state-conflict';
  readonly domain = 'external';
  override readonly retryable = true;
}

/**
 * A commit carried a fence whose epoch no longer matches the lease rows: another replica owns
 * (some of) these partitions now. Nothing was written. The replica must stop processing the
 * partitions and re-acquire their leases; retrying the same commit would fail again.
 */
export class FencedError extends StateError {
  override name = 'FencedError';
  readonly code = 'state-fenced';
  readonly domain = 'external';
  /** Partitions whose lease epoch differs from the commit's. */
  readonly partitions: number[];
  /** The epoch the commit expected. */
  readonly epoch: number;

  constructor(message: string, details: { operator: string; partitions: number[]; epoch: number }, options: StateErrorOptions = {}) {
    super(message, { ...options, operator: details.operator });
    this.partitions = details.partitions;
    this.epoch = details.epoch;
  }
}

/** `query()` was asked to change something: it only reads committed state. */
export class ReadOnlyQueryError extends StateError {
  override name = 'ReadOnlyQueryError';
  readonly code = 'state-read-only';
  readonly domain = 'user';
}

/** `query()` SQL that PostgreSQL refused (syntax, unknown table or column, bad parameter, ...). */
export class StateQueryError extends StateError {
  override name = 'StateQueryError';
  readonly code = 'state-query';
  readonly domain = 'user';
}

/** A value that its state table refused (e.g. a non-integer for an `i64` column). Nothing was written. */
export class StateWriteError extends StateError {
  override name = 'StateWriteError';
  readonly code = 'state-write-rejected';
  readonly domain = 'user';
}

/** A key whose type is not the table's declared key type. */
export class StateKeyError extends StateError {
  override name = 'StateKeyError';
  readonly code = 'state-key';
  readonly domain = 'user';
}

/** A table spec that is invalid, unknown, or conflicts with the table already stored. */
export class StateSchemaError extends StateError {
  override name = 'StateSchemaError';
  readonly code = 'state-schema';
  readonly domain = 'internal';
}

/** The store was used in a way its interface does not allow (e.g. a window on a keyed table). */
export class StateUsageError extends StateError {
  override name = 'StateUsageError';
  readonly code = 'state-usage';
  readonly domain = 'internal';
}

/** Options that cannot work (no connection string, an invalid schema name, ...). */
export class StateConfigError extends StateError {
  override name = 'StateConfigError';
  readonly code = 'state-config';
  readonly domain = 'user';
}

/** Another process holds the embedded state directory. */
export class StateLockedError extends StateError {
  override name = 'StateLockedError';
  readonly code = 'state-locked';
  readonly domain = 'user';
}

/** The store was used after `close()`. */
export class StateClosedError extends StateError {
  override name = 'StateClosedError';
  readonly code = 'state-closed';
  readonly domain = 'internal';
}

/** A database failure none of the other errors describe (the driver's error is the cause). */
export class StateDatabaseError extends StateError {
  override name = 'StateDatabaseError';
  readonly code = 'state-database';
  readonly domain = 'internal';
}

/** True for errors worth retrying (`StateError.retryable`). */
export function isRetryable(error: unknown): boolean {
  return error instanceof StateError && error.retryable;
}
