/**
 * The settings every process of a stack must agree on — the servers, the subject prefix, the
 * control schema, the partitions — with their environment variables and defaults. Each rule is
 * here once: a front door (the CLI, the planner and dashboard apps, `runOperator`'s `env`) calls
 * `compileStackSettings(flags, env)`, and a lib that needs only a default or a check (the bus,
 * the plan, the state and control-plane libs) imports the constant or the check from here. Before
 * this lib, `SSDK_SUBJECT_PREFIX ?? 'ssdk'` and friends were repeated in eight files, and two of
 * them had drifted (the planner required DATABASE_URL where the CLI used the local server).
 */
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';

/** The environment variable of each setting. */
export const STACK_ENV = {
  natsUrl: 'NATS_URL',
  databaseUrl: 'DATABASE_URL',
  subjectPrefix: 'SSDK_SUBJECT_PREFIX',
  controlSchema: 'SSDK_CONTROL_SCHEMA',
  partitions: 'SSDK_PARTITIONS',
} as const;

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
/** First subject token of a stack, and the prefix of its stream names. */
export const DEFAULT_SUBJECT_PREFIX = 'ssdk';
/** The schema of the control plane's tables under the default subject prefix. */
export const CONTROL_SCHEMA = 'ssdk_control';

/** A subject prefix: dot-separated tokens of letters, digits, `_` and `-` (a NATS subject's first tokens and a stream-name prefix). */
export const SUBJECT_PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export type Env = Readonly<Record<string, string | undefined>>;

/** A setting given wrong (a flag or a variable): a user error, exit 2. */
export class SettingsError extends Error {
  override name = 'SettingsError';
  readonly code = 'settings';
  readonly domain = 'user';
}

/** What a front door was given on its command line (or by its caller); unset ones come from the environment. */
export interface StackFlags {
  natsUrl?: string;
  databaseUrl?: string;
  subjectPrefix?: string;
  controlSchema?: string;
  /** A number, or the text of a flag (checked here like the variable). */
  partitions?: number | string;
}

export interface StackSettings {
  /** Flag, else `NATS_URL`, else nats://127.0.0.1:4222. */
  natsUrl: string;
  /** Flag, else `DATABASE_URL`, else the local server as `psql` with no arguments finds it (`localPostgresUrl`). */
  databaseUrl: string;
  /** Flag, else `SSDK_SUBJECT_PREFIX`, else `ssdk`; checked. */
  subjectPrefix: string;
  /** Flag, else `SSDK_CONTROL_SCHEMA`, else the subject prefix's own (`controlSchemaFor`). */
  controlSchema: string;
  /** Flag, else `SSDK_PARTITIONS`; unset: the plan decides (the file's `config`, else 8). */
  partitions?: number;
}

/** Flags first, then `env`, then the built-in defaults; throws `SettingsError` for a bad value. */
export function compileStackSettings(flags: StackFlags, env: Env): StackSettings {
  const subjectPrefix = subjectPrefixOf(flags.subjectPrefix, env);
  const partitions = partitionsOf(flags.partitions, env);
  return {
    natsUrl: flags.natsUrl ?? nonEmpty(env[STACK_ENV.natsUrl]) ?? DEFAULT_NATS_URL,
    databaseUrl: flags.databaseUrl ?? nonEmpty(env[STACK_ENV.databaseUrl]) ?? localPostgresUrl(env),
    subjectPrefix,
    controlSchema: flags.controlSchema ?? nonEmpty(env[STACK_ENV.controlSchema]) ?? controlSchemaFor(subjectPrefix),
    ...(partitions !== undefined ? { partitions } : {}),
  };
}

/** The subject prefix alone (for a lib that takes nothing else from the environment): flag, else `SSDK_SUBJECT_PREFIX`, else `ssdk`; checked. */
export function subjectPrefixOf(flag: string | undefined, env: Env): string {
  const p = flag ?? nonEmpty(env[STACK_ENV.subjectPrefix]) ?? DEFAULT_SUBJECT_PREFIX;
  if (!SUBJECT_PREFIX_PATTERN.test(p)) {
    const from = flag !== undefined ? 'the subject prefix' : STACK_ENV.subjectPrefix;
    throw new SettingsError(`${from} must be dot-separated tokens of letters, digits, \`_\` and \`-\`, got \`${p}\``);
  }
  return p;
}

function partitionsOf(flag: number | string | undefined, env: Env): number | undefined {
  const given = flag ?? nonEmpty(env[STACK_ENV.partitions]);
  if (given === undefined) return undefined;
  const n = Number(given);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new SettingsError(`${flag !== undefined ? '--partitions' : STACK_ENV.partitions} takes a whole number of 1 or more, got \`${String(given)}\``);
  }
  return n;
}

/**
 * The local PostgreSQL server the way `psql` with no arguments finds it: `PGHOST`, `PGPORT`,
 * `PGUSER`, `PGDATABASE`, else 127.0.0.1:5432, the login name and the database of that name. No
 * password in the URL: the driver reads `PGPASSWORD` or ~/.pgpass itself, so none reaches a
 * child's command line or a log.
 */
export function localPostgresUrl(env: Env): string {
  const user = nonEmpty(env['PGUSER']) ?? loginName();
  const host = nonEmpty(env['PGHOST']) ?? '127.0.0.1';
  const port = nonEmpty(env['PGPORT']) ?? '5432';
  return `postgres://${encodeURIComponent(user)}@${encodeURIComponent(host)}:${port}/${encodeURIComponent(nonEmpty(env['PGDATABASE']) ?? user)}`;
}

/**
 * The control schema of a subject prefix: `ssdk_control` for the default prefix `ssdk`, else one
 * of the prefix's own (its name and a hash of it), so dataflows deployed under two prefixes (two
 * sets of streams) never share a deployment record or its offsets.
 */
export function controlSchemaFor(subjectPrefix: string): string {
  if (subjectPrefix === DEFAULT_SUBJECT_PREFIX) return CONTROL_SCHEMA;
  const suffix = `__${createHash('sha256').update(subjectPrefix).digest('hex').slice(0, 10)}`;
  const clean = subjectPrefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `${CONTROL_SCHEMA}_${clean}`.slice(0, 63 - suffix.length).replace(/_+$/, '') + suffix;
}

// An empty variable counts as unset, as a shell's `VAR= cmd` means.
function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

// A container's user may have no passwd entry (userInfo() throws): then the server's usual superuser.
function loginName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}
