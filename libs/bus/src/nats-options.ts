/**
 * Options of the NATS JetStream bus: typed here with their defaults, compiled once by
 * `compileNatsBusOptions` (defaults filled, ranges checked), so the adapter never guesses.
 */
import { SettingsError, subjectPrefixOf } from '@ssdk/settings';
import { BusConfigError } from './errors.ts';
import { compileNatsConnection, type CompiledNatsConnection, type NatsConnectionOptions } from './nats-connection.ts';

/** The connection (servers, credentials, TLS: `NatsConnectionOptions`), then the bus's own settings. */
export interface NatsBusOptions extends NatsConnectionOptions {
  /**
   * First subject token(s) of the topics without a subject of their own, and the prefix of
   * every stream name this bus creates: dot-separated tokens of letters, digits, `_` and `-`.
   * @default env.SSDK_SUBJECT_PREFIX, else 'ssdk' (`subjectPrefixOf` of @ssdk/settings)
   */
  subjectPrefix?: string;
  /** Client name the server shows in its monitoring. @default 'ssdk' */
  name?: string;

  /** Replicas of each stream (3 on an R3 cluster). Applies when a stream is created. @default 1 */
  replicas?: number;
  /** Where streams keep their messages. Applies when a stream is created. @default 'file' */
  storage?: 'file' | 'memory';
  /**
   * How long JetStream remembers a message id to drop a republished message, ms. Must outlast
   * the longest operator restart plus redelivery (DESIGN.md section 9). @default 120000
   */
  duplicateWindowMs?: number;
  /** Age after which messages are removed, ms; 0 keeps them. @default 0 */
  maxAgeMs?: number;
  /** Bytes a stream keeps before the oldest messages go; -1 for no limit. @default -1 */
  maxBytes?: number;
  /** Messages a stream keeps before the oldest go; -1 for no limit. @default -1 */
  maxMessages?: number;

  /**
   * Largest message (data and headers) this bus publishes, bytes. The server's `max_payload`
   * (1 MB by default) always applies too; a lower value here leaves room for intermediaries.
   * @default the server's max_payload
   */
  maxPayload?: number;
  /** Publishes awaiting their acks at once, per `publish()` call. @default 256 */
  maxPublishInFlight?: number;
  /** How long one publish waits for its ack before it counts as failed and is retried, ms. @default 5000 */
  publishTimeoutMs?: number;

  /** Messages a partition reader's consumer delivers without an ack (`max_ack_pending`). @default 1000 */
  maxAckPending?: number;
  /**
   * Bytes a partition reader buffers ahead of `fetch()`. Raised to twice the largest message
   * when lower, so one full message always fits. @default 8388608 (8 MiB)
   */
  readBufferBytes?: number;
  /** How long a delivered, unacknowledged message waits before JetStream redelivers it, ms. @default 60000 */
  ackWaitMs?: number;
  /** How long one pull request waits on the server for messages, ms (at least 1000). @default 10000 */
  pullExpiresMs?: number;

  /**
   * How long a publish, a read or an admin call keeps retrying a lost server (with backoff)
   * before it fails with a `BusUnavailableError`, ms. @default 60000
   */
  retryTimeoutMs?: number;
  /** First retry delay, ms; doubles up to `retryMaxDelayMs` (with jitter). @default 100 */
  retryInitialDelayMs?: number;
  /** Longest retry delay, ms. @default 2000 */
  retryMaxDelayMs?: number;
  /** Reconnect attempts per server before the connection closes; -1 never gives up. @default -1 */
  maxReconnectAttempts?: number;
  /** Longest delay between reconnect attempts, ms (the delay starts at 100 ms and doubles). @default 2000 */
  reconnectMaxDelayMs?: number;
  /** How long the first connection may take, ms. @default 5000 */
  connectTimeoutMs?: number;
  /** Timeout of JetStream API calls (stream and consumer management), ms. @default 5000 */
  apiTimeoutMs?: number;
  /** Stops retries and waits (a service's shutdown): they fail with `BusUnavailableError`. */
  signal?: AbortSignal;
  /** @internal tests: the environment to read `NATS_*` and `SSDK_SUBJECT_PREFIX` from. @default process.env */
  env?: Record<string, string | undefined>;
}

export interface CompiledNatsBusOptions {
  servers: string[];
  /** Servers, credentials and TLS. */
  connection: CompiledNatsConnection;
  subjectPrefix: string;
  name: string;
  replicas: number;
  storage: 'file' | 'memory';
  duplicateWindowMs: number;
  maxAgeMs: number;
  maxBytes: number;
  maxMessages: number;
  maxPayload: number | undefined;
  maxPublishInFlight: number;
  publishTimeoutMs: number;
  maxAckPending: number;
  readBufferBytes: number;
  ackWaitMs: number;
  pullExpiresMs: number;
  retryTimeoutMs: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  maxReconnectAttempts: number;
  reconnectMaxDelayMs: number;
  connectTimeoutMs: number;
  apiTimeoutMs: number;
  signal: AbortSignal | undefined;
}

/** The stack's one rule (@ssdk/settings), its refusal typed as the bus's. */
function busSubjectPrefix(given: string | undefined, env: Record<string, string | undefined>): string {
  try {
    return subjectPrefixOf(given, env);
  } catch (err) {
    if (err instanceof SettingsError) throw new BusConfigError(err.message);
    throw err;
  }
}

export function compileNatsBusOptions(options: NatsBusOptions = {}): CompiledNatsBusOptions {
  const env = options.env ?? process.env;
  const connection = compileNatsConnection(options, env);
  const subjectPrefix = busSubjectPrefix(options.subjectPrefix, env);
  const storage = options.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') throw new BusConfigError(`storage must be 'file' or 'memory', got \`${String(storage)}\``);
  const duplicateWindowMs = int('duplicateWindowMs', options.duplicateWindowMs, 120_000, 100);
  const maxAgeMs = int('maxAgeMs', options.maxAgeMs, 0, 0);
  if (maxAgeMs > 0 && duplicateWindowMs > maxAgeMs) {
    throw new BusConfigError(`duplicateWindowMs (${duplicateWindowMs}) cannot be longer than maxAgeMs (${maxAgeMs})`);
  }
  const retryInitialDelayMs = int('retryInitialDelayMs', options.retryInitialDelayMs, 100, 1);
  return {
    servers: connection.servers,
    connection,
    subjectPrefix,
    name: options.name ?? 'ssdk',
    replicas: int('replicas', options.replicas, 1, 1, 5),
    storage,
    duplicateWindowMs,
    maxAgeMs,
    maxBytes: limit('maxBytes', options.maxBytes),
    maxMessages: limit('maxMessages', options.maxMessages),
    maxPayload: options.maxPayload === undefined ? undefined : int('maxPayload', options.maxPayload, 0, 1024),
    maxPublishInFlight: int('maxPublishInFlight', options.maxPublishInFlight, 256, 1),
    publishTimeoutMs: int('publishTimeoutMs', options.publishTimeoutMs, 5_000, 10),
    maxAckPending: int('maxAckPending', options.maxAckPending, 1_000, 1),
    readBufferBytes: int('readBufferBytes', options.readBufferBytes, 8 * 1024 * 1024, 1),
    ackWaitMs: int('ackWaitMs', options.ackWaitMs, 60_000, 1_000),
    pullExpiresMs: int('pullExpiresMs', options.pullExpiresMs, 10_000, 1_000),
    retryTimeoutMs: int('retryTimeoutMs', options.retryTimeoutMs, 60_000, 0),
    retryInitialDelayMs,
    retryMaxDelayMs: int('retryMaxDelayMs', options.retryMaxDelayMs, Math.max(2_000, retryInitialDelayMs), retryInitialDelayMs),
    maxReconnectAttempts: int('maxReconnectAttempts', options.maxReconnectAttempts, -1, -1),
    reconnectMaxDelayMs: int('reconnectMaxDelayMs', options.reconnectMaxDelayMs, 2_000, 100),
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, 5_000, 100),
    apiTimeoutMs: int('apiTimeoutMs', options.apiTimeoutMs, 5_000, 100),
    signal: options.signal,
  };
}

function int(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new BusConfigError(`${name} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got ${value}`);
  }
  return value;
}

function limit(name: string, value: number | undefined): number {
  if (value === undefined || value === -1) return -1;
  return int(name, value, -1, 1);
}
