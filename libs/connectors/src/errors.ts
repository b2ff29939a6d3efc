/**
 * Errors of connectors, one class per condition, with the house's `code`, `domain` and retry
 * hint: a user's mistake (a missing secret, a table that does not exist) stops the connector
 * with exit 2; an endpoint out of reach is retried with backoff and loses nothing.
 */
export type ErrorDomain = 'user' | 'external' | 'internal';

export class ConnectorError extends Error {
  override readonly name: string = 'ConnectorError';
  readonly code: string;
  readonly domain: ErrorDomain;
  readonly retryable: boolean;

  constructor(message: string, options: { code: string; domain: ErrorDomain; retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.domain = options.domain;
    this.retryable = options.retryable;
  }
}

/** The connector's settings cannot work (a secret not given, a table that is not there). */
export class ConnectorConfigError extends ConnectorError {
  override readonly name = 'ConnectorConfigError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'connector-config', domain: 'user', retryable: false, ...options });
  }
}

/** The outside endpoint (HTTP server, MQTT broker, database) did not answer or refused for now. */
export class EndpointUnavailableError extends ConnectorError {
  override readonly name = 'EndpointUnavailableError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'endpoint-unavailable', domain: 'external', retryable: true, ...options });
  }
}

/** A record the endpoint or the mapping cannot take: it goes to the dead-letter topic with this reason. */
export class BadRecordError extends ConnectorError {
  override readonly name = 'BadRecordError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'bad-record', domain: 'user', retryable: false, ...options });
  }
}
