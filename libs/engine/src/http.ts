/**
 * `ctx.http`: a blocking HTTP call from a function to a host its step's `http` grant names.
 * The engine checks the grant and the arguments, and turns the host's answer into the
 * function's response or into an error whose name is the record's dead-letter reason; the host
 * (a sandbox's main thread, or a native chain's callout thread) makes the request.
 */

/** What a function passes: `ctx.http(url, init)`. */
export interface HttpInit {
  /** @default 'GET' (or 'POST' when there is a body) */
  method?: string;
  headers?: Record<string, string>;
  /** Text as it is; anything else is sent as JSON (with `content-type: application/json`). */
  body?: unknown;
  /** Per attempt, ms (at most 60 s). @default 5000 */
  timeoutMs?: number;
  /** Attempts after the first on a connection error, a timeout, 429 or 5xx (at most 5). @default 2 for GET/HEAD/PUT/DELETE/OPTIONS, 0 for POST/PATCH */
  retries?: number;
  /** The largest response body taken, bytes (at most 16 MiB). @default 1 MiB */
  maxBytes?: number;
}

/** What a function gets back (any status: a 404 or a 500 is an answer, not an error). */
export interface HttpResponse {
  status: number;
  /** `status` is 200–299. */
  ok: boolean;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The body as UTF-8 text. */
  body: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = unknown>(): T;
}

/** The request as the host receives it (JSON across the sandbox boundary). */
export interface HttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  retries: number;
  maxBytes: number;
}

export type HttpFailureKind = 'refused' | 'timeout' | 'too-large' | 'failed' | 'invalid';

/** The host's answer: a response, or why there is none. */
export type HttpAnswer = { status: number; headers: Record<string, string>; body: string } | { error: string; kind: HttpFailureKind };

/** Makes the request and answers synchronously (the function waits). */
export type HttpAccess = (request: HttpRequest) => HttpAnswer;

export const HTTP_LIMITS = {
  defaultTimeoutMs: 5000,
  maxTimeoutMs: 60_000,
  defaultMaxBytes: 1 << 20,
  maxMaxBytes: 16 << 20,
  maxRequestBytes: 1 << 20,
  maxRetries: 5,
} as const;

/** A `ctx.http` failure: the record is dead-lettered with `<name>: <message>`. */
export class HttpCalloutError extends Error {
  override name = 'HttpCalloutError';
  readonly kind: HttpFailureKind;
  constructor(kind: HttpFailureKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = HTTP_ERROR_NAMES[kind];
  }
}

const HTTP_ERROR_NAMES: Record<HttpFailureKind, string> = {
  refused: 'HttpRefusedError',
  timeout: 'HttpTimeoutError',
  'too-large': 'HttpTooLargeError',
  failed: 'HttpFailedError',
  invalid: 'HttpRequestError',
};

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * Whether `url`'s host is in `hosts`: `*` is any host; `api.example.com` that host on any port;
 * `api.example.com:8443` that port only; `*.example.com` its subdomains.
 */
export function httpHostAllowed(url: URL, hosts: readonly string[]): boolean {
  const name = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return hosts.some((entry) => {
    const e = entry.toLowerCase();
    if (e === '*') return true;
    const colon = e.lastIndexOf(':');
    const [pattern, wantPort] = colon > 0 && !e.endsWith(']') && /^\d+$/.test(e.slice(colon + 1)) ? [e.slice(0, colon), e.slice(colon + 1)] : [e, undefined];
    if (wantPort !== undefined && wantPort !== port) return false;
    if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1));
    return name === pattern;
  });
}

/** The request a `ctx.http(url, init)` call makes, checked against `hosts` (the step's grant). */
export function httpRequestOf(url: unknown, init: HttpInit | undefined, hosts: readonly string[], step: string | undefined): HttpRequest {
  if (typeof url !== 'string') throw new HttpCalloutError('invalid', `ctx.http needs a URL string, got ${typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HttpCalloutError('invalid', `ctx.http: ${JSON.stringify(url)} is not an absolute URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new HttpCalloutError('invalid', `ctx.http: only http and https URLs, not ${parsed.protocol}`);
  if (!httpHostAllowed(parsed, hosts)) {
    const where = step ? `step \`${step}\`` : 'this step';
    throw new HttpCalloutError(
      'refused',
      `ctx.http: host ${parsed.host} is not in ${where}'s http grant${hosts.length ? ` (${hosts.join(', ')})` : ''}: add it with \`grants: [{http: [${parsed.host}]}]\``,
    );
  }
  const i = init ?? {};
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (i.body !== undefined && i.body !== null) {
    if (typeof i.body === 'string') body = i.body;
    else {
      body = JSON.stringify(i.body);
      headers['content-type'] ??= 'application/json';
    }
    if (utf8Length(body) > HTTP_LIMITS.maxRequestBytes) throw new HttpCalloutError('too-large', `ctx.http: the request body is larger than ${HTTP_LIMITS.maxRequestBytes} bytes`);
  }
  const method = (i.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  return {
    url: parsed.href,
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    timeoutMs: bounded(i.timeoutMs, HTTP_LIMITS.defaultTimeoutMs, 1, HTTP_LIMITS.maxTimeoutMs, 'timeoutMs'),
    retries: bounded(i.retries, IDEMPOTENT.has(method) ? 2 : 0, 0, HTTP_LIMITS.maxRetries, 'retries'),
    maxBytes: bounded(i.maxBytes, HTTP_LIMITS.defaultMaxBytes, 1, HTTP_LIMITS.maxMaxBytes, 'maxBytes'),
  };
}

/** The function's response, or the error that fails its record. */
export function httpResponseOf(answer: HttpAnswer): HttpResponse {
  if ('error' in answer) throw new HttpCalloutError(answer.kind, answer.error);
  const { status, headers, body } = answer;
  return {
    status,
    ok: status >= 200 && status < 300,
    headers,
    body,
    json: <T>() => JSON.parse(body) as T,
  };
}

function bounded(v: unknown, fallback: number, min: number, max: number, what: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new HttpCalloutError('invalid', `ctx.http: ${what} must be a number from ${min} to ${max}`);
  return Math.floor(v);
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? (i++, 4) : 3;
  }
  return n;
}
