/**
 * What an adapter provides: run one statement, run a transaction. Everything else (SQL, codecs,
 * the commit protocol) is shared in `store.ts`. Also the shared reading of driver errors.
 */
import {
  StateClosedError,
  StateConflictError,
  StateError,
  StateUnavailableError,
  type StateErrorOptions,
} from './errors.ts';

export interface SqlRunner {
  /** One statement, always over the extended protocol (so a string holds one statement only). */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface SqlDriver extends SqlRunner {
  readonly kind: 'pglite' | 'postgres';
  /**
   * BEGIN, fn, COMMIT; ROLLBACK when fn throws (rethrowing its error). `timeoutMs`: a driver
   * whose server cannot enforce `statement_timeout` (PGlite) stops the transaction itself after
   * that long, failing it with SQLSTATE 57014 as PostgreSQL would.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>, options?: { timeoutMs?: number }): Promise<T>;
  close(): Promise<void>;
}

/** int8 as a number while exact, else a bigint; both adapters read bigints this way. */
export function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

export const INT8_OID = 20;

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  // A compose service name resolves only once its container exists.
  'ENOTFOUND',
]);

const TRANSIENT_MESSAGES = /connection terminated|connection timeout|timeout exceeded when trying to connect|client has encountered a connection error|server closed the connection|terminating connection/i;

/** The SQLSTATE of a driver error, when it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Errors that mean "the server is (for now) out of reach": connection refused or reset, the
 * connection class 08, admin/crash shutdown and startup (57P01-57P03), too many connections.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof StateError) return error.retryable;
  const state = sqlState(error);
  if (state !== undefined) return state.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(state);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && TRANSIENT_NODE_CODES.has(code)) return true;
  // AggregateError (a host with several addresses) carries the per-address errors.
  const inner = (error as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(inner) && inner.length > 0 && inner.every(isTransient)) return true;
  return error instanceof Error && TRANSIENT_MESSAGES.test(error.message);
}

/**
 * The typed error for failures any statement can meet (outages, conflicts, use after close),
 * or undefined when the caller should decide from the SQLSTATE.
 */
export function commonError(error: unknown, what: string, options: StateErrorOptions = {}): StateError | undefined {
  if (error instanceof StateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isTransient(error)) {
    return new StateUnavailableError(`${what}: the state database is unavailable (${message}); retry with backoff`, { ...options, cause: error });
  }
  const state = sqlState(error);
  if (state === '40001' || state === '40P01') {
    return new StateConflictError(`${what}: ${message}; the transaction was rolled back and can be retried`, { ...options, cause: error });
  }
  if (/pglite is closed|closed pool|cannot use a pool after calling end/i.test(message)) {
    return new StateClosedError(`${what}: the state store is closed`, { ...options, cause: error });
  }
  return undefined;
}
