/**
 * The one rule for keeping secrets out of sight: every URL, connection string or error text that
 * may reach a log, an error message, a status line, a trace or the dashboard goes through
 * `redact` first. It hides the password of `scheme://user:password@host` (and a lone token,
 * `scheme://token@host`, which NATS and PostgreSQL both accept) and the values of query
 * parameters and key=value pairs that name a secret (`password=`, `sslpassword=`, `token=`, …).
 */

const HIDDEN = '***';

/** `scheme://user:password@` → `scheme://user:***@`; `scheme://token@` → `scheme://***@`. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(:[^\s/@]*)?@/gi;
/** `password=…`, `pass=…`, `token=…`, `secret=…`, `sslpassword=…`, `sslkey=…` in query strings and libpq key=value text. */
const SECRET_PAIR = /\b((?:ssl)?pass(?:word)?|token|secret|auth_token|nkey|seed)=('[^']*'|"[^"]*"|[^\s&;'"]+)/gi;
/** An nkey seed (`SU…`, `SA…`, `SO…`: 58 base32 characters) pasted into a message. */
const NKEY_SEED = /\bS[UAONPX][A-Z2-7]{56}\b/g;

/**
 * `text` with every credential it may carry replaced by `***`: user:password in URLs (the user
 * name stays, it says which account), bare tokens in URLs, secret query parameters and nkey seeds.
 *
 * @example
 * redact('postgres://app:s3cret@db:5432/x?sslmode=require') // 'postgres://app:***@db:5432/x?sslmode=require'
 * redact('nats://tok@127.0.0.1:4222')                        // 'nats://***@127.0.0.1:4222'
 */
export function redact(text: string): string {
  return text
    .replace(URL_USERINFO, (_all, scheme: string, user: string, password: string | undefined) =>
      password === undefined ? `${scheme}${HIDDEN}@` : `${scheme}${user}:${HIDDEN}@`,
    )
    .replace(SECRET_PAIR, (_all, name: string) => `${name}=${HIDDEN}`)
    .replace(NKEY_SEED, HIDDEN);
}

/** An error's message, redacted (what a log line or an error report shows of a failure). */
export function redactedMessage(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}
