/**
 * The type check's result, kept per content: an unchanged dataflow is not checked again, so a
 * `ssdk build` / `run` / `validate` with nothing edited never loads the TypeScript compiler
 * (measured: ~1.5 CPU s of every command that checks code, most of it loading the compiler and
 * parsing the standard library's declarations).
 *
 * An entry is found by a key over everything the check is given (the generated types and ctx,
 * each function's text and where it sits in the services file, the modules and which steps use
 * them, the states of each service, the compiler's version and this lib's own code) and holds,
 * beside the diagnostics, every file the compiler read outside its own package with a hash of
 * its content, and every path it probed with the answer. It is used only when all of those are
 * as they were: an edited module, an edited file a module imports, a file that appeared where
 * module resolution looked, all miss. The guarantees of the check are the compiler's: the cache
 * only remembers an answer for inputs that are byte for byte the same.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from '@ssdk/spec';

/**
 * A folder of ssdk's per-user cache: `$<variable>` when set (`off` for none), else
 * `$XDG_CACHE_HOME/ssdk/<kind>` or `~/.cache/ssdk/<kind>`. The one rule for every cache ssdk keeps
 * (components, type checks).
 */
export function userCacheDir(variable: string, kind: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const chosen = env[variable];
  if (chosen === 'off') return undefined;
  if (chosen) return chosen;
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'ssdk', kind);
}

/** Where type-check results are kept: `SSDK_CHECK_CACHE` (`off` for none), else the user's cache folder. */
export function checkCacheDir(env: Record<string, string | undefined> = process.env): string | undefined {
  return userCacheDir('SSDK_CHECK_CACHE', 'checks', env);
}

/** What the compiler saw besides its own files: file → content hash (null: absent), path → existed. */
export interface CheckInputs {
  files: Record<string, string | null>;
  probes: Record<string, boolean>;
  dirs: Record<string, boolean>;
}

interface Entry {
  inputs: CheckInputs;
  diagnostics: Diagnostic[];
}

export function contentHash(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The content hash of a file, null when it cannot be read. */
export function fileHash(path: string): string | null {
  try {
    return contentHash(readFileSync(path));
  } catch {
    return null;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The diagnostics kept for `key`, when every input the compiler saw is as it was. */
export function readCheck(dir: string, key: string): Diagnostic[] | undefined {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as Entry;
  } catch {
    return undefined;
  }
  for (const [path, hash] of Object.entries(entry.inputs.files)) if (fileHash(path) !== hash) return undefined;
  for (const [path, existed] of Object.entries(entry.inputs.probes)) if (existsSync(path) !== existed) return undefined;
  for (const [path, existed] of Object.entries(entry.inputs.dirs)) if (isDir(path) !== existed) return undefined;
  return entry.diagnostics;
}

/** Keeps a result; written whole (a temporary file renamed), so processes may share the folder. A cache that cannot be written is no error. */
export function writeCheck(dir: string, key: string, inputs: CheckInputs, diagnostics: Diagnostic[]): void {
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `${key}.${randomBytes(6).toString('hex')}.tmp`);
    writeFileSync(tmp, JSON.stringify({ inputs, diagnostics } satisfies Entry));
    renameSync(tmp, join(dir, `${key}.json`));
  } catch {
    // A read-only or full cache folder costs the next run a check, nothing more.
  }
}
