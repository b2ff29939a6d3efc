/**
 * Typed errors of the bus. Every error has a stable `code`, a `domain` (whose mistake or whose
 * outage: the `user`'s input, an `external` system, or an `internal` bug such as a plan/bus
 * mismatch) and a `retryable` hint. The client's error is kept as `cause`.
 */

export type BusErrorDomain = 'user' | 'external' | 'internal';

export interface BusErrorOptions {
  cause?: unknown;
  /** The topic, where known. */
  topic?: string;
  /** The partition, where known. */
  partition?: number;
}

export abstract class BusError extends Error {
  abstract readonly code: string;
  abstract readonly domain: BusErrorDomain;
  readonly retryable: boolean = false;
  readonly topic: string | undefined;
  readonly partition: number | undefined;

  constructor(message: string, options: BusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.topic = options.topic;
    this.partition = options.partition;
  }
}

/** A topic or partition that does not exist: the caller's mistake (a plan/bus mismatch). */
export class UnknownTopicError extends BusError {
  override name = 'UnknownTopicError';
  readonly code = 'unknown-topic';
  readonly domain = 'internal';
}

/**
 * The server could not be reached (or JetStream did not answer) for longer than the bus's
 * `retryTimeoutMs`, or the operation was aborted while it waited. Nothing is known to be lost:
 * publish again with the same message ids, or read again from the last committed sequence.
 */
export class BusUnavailableError extends BusError {
  override name = 'BusUnavailableError';
  readonly code = 'bus-unavailable';
  readonly domain = 'external';
  override readonly retryable = true;
}

/** A message larger than the server's `max_payload`: the producer must split its frames. */
export class PayloadTooLargeError extends BusError {
  override name = 'PayloadTooLargeError';
  readonly code = 'bus-payload-too-large';
  readonly domain = 'internal';
  /** Bytes of the message (data and headers). */
  readonly size: number;
  /** The limit it broke. */
  readonly limit: number;

  constructor(message: string, details: { size: number; limit: number }, options: BusErrorOptions = {}) {
    super(message, options);
    this.size = details.size;
    this.limit = details.limit;
  }
}

/**
 * The server holds something in the way of a topic: a stream of that name that is not this
 * topic, or another stream that already captures the topic's subjects.
 */
export class TopicConflictError extends BusError {
  override name = 'TopicConflictError';
  readonly code = 'bus-topic-conflict';
  readonly domain = 'external';
}

/** A topic name or subject template that cannot be a NATS subject. */
export class InvalidTopicError extends BusError {
  override name = 'InvalidTopicError';
  readonly code = 'bus-invalid-topic';
  readonly domain = 'user';
}

/** Options that cannot work (a replica count of 0, an invalid subject prefix, ...). */
export class BusConfigError extends BusError {
  override name = 'BusConfigError';
  readonly code = 'bus-config';
  readonly domain = 'user';
}

/**
 * The NATS server refused who we are (no credentials, wrong ones, an expired JWT) or what we
 * asked (a subject or stream the credentials do not allow). Not retryable: retrying with the
 * same credentials cannot succeed. The message names the server (redacted), never a secret.
 */
export class BusAuthError extends BusError {
  override name = 'BusAuthError';
  readonly code = 'bus-auth';
  readonly domain = 'external';
}

/** The bus was used after `close()`. */
export class BusClosedError extends BusError {
  override name = 'BusClosedError';
  readonly code = 'bus-closed';
  readonly domain = 'internal';
}

/** A server answer none of the other errors describe (the client's error is the cause). */
export class BusServerError extends BusError {
  override name = 'BusServerError';
  readonly code = 'bus-server';
  readonly domain = 'external';
}

/** True for errors worth retrying (`BusError.retryable`). */
export function isRetryableBusError(error: unknown): boolean {
  return error instanceof BusError && error.retryable;
}

/** A deployment artifact that is not in the object store (deleted, or another NATS server). */
export class ArtifactMissingError extends BusError {
  override name = 'ArtifactMissingError';
  readonly code = 'artifact-missing';
  readonly domain = 'external';
}

/** An artifact whose bytes do not hash to its name: never run it. */
export class ArtifactCorruptError extends BusError {
  override name = 'ArtifactCorruptError';
  readonly code = 'artifact-corrupt';
  readonly domain = 'internal';
}
