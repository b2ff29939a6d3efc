/**
 * Secrets of a connector: from the environment or a secrets file (`NAME=value` lines, Fluvio's
 * `--secrets` format), filled into settings only when the connector starts. Every resolved
 * value is remembered so that `redact` can take it out of any message before it is printed.
 */
import { readFile } from 'node:fs/promises';
import { SECRET_NAME, secretNames, type SecretText } from '@ssdk/spec';
import { ConnectorConfigError } from './errors.ts';

export interface SecretSource {
  /** Values by name; looked up before the environment. */
  values?: ReadonlyMap<string, string>;
  /** The environment to read (tests pass their own). @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

export class Secrets {
  readonly #values: ReadonlyMap<string, string>;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #used = new Set<string>();

  constructor(source: SecretSource = {}) {
    this.#values = source.values ?? new Map();
    this.#env = source.env ?? process.env;
  }

  /** The value of a setting, secrets filled in; a missing secret is a user error naming it. */
  resolve(text: SecretText): string {
    const missing = secretNames(text).filter((name) => this.#lookup(name) === undefined);
    if (missing.length > 0) {
      throw new ConnectorConfigError(
        `secret${missing.length > 1 ? 's' : ''} ${missing.map((n) => `\`${n}\``).join(', ')} not given: set ${missing.length > 1 ? 'them' : 'it'} in the environment or in the --secrets file (NAME=value lines)`,
      );
    }
    return text.parts.map((part) => (typeof part === 'string' ? part : this.#remember(this.#lookup(part.secret)!))).join('');
  }

  /** `text` with every secret value that was resolved (and any URL password) replaced by `***`. */
  redact(text: string): string {
    let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]+@/gi, '$1***@');
    // Longest first, so a secret that contains another is taken out whole.
    for (const value of [...this.#used].sort((a, b) => b.length - a.length)) out = out.split(value).join('***');
    return out;
  }

  #lookup(name: string): string | undefined {
    return this.#values.get(name) ?? this.#env[name];
  }

  #remember(value: string): string {
    if (value.length > 0) this.#used.add(value);
    return value;
  }
}

/** Reads a secrets file: `NAME=value` per line; blank lines and `#` comments are skipped. */
export async function readSecretsFile(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConnectorConfigError(`cannot read the secrets file \`${path}\`: ${(error as Error).message}`, { cause: error });
  }
  const values = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = trimmed.indexOf('=');
    const name = eq < 0 ? trimmed : trimmed.slice(0, eq).trim();
    // The line is never quoted back: it may hold a value.
    if (eq < 0 || !SECRET_NAME.test(name)) throw new ConnectorConfigError(`${path}:${index + 1}: a secrets file line is \`NAME=value\` (NAME: letters, digits and \`_\`)`);
    values.set(name, trimmed.slice(eq + 1));
  });
  return values;
}
