import { randomBytes } from 'node:crypto';

/**
 * A name unique to this call: `<prefix>_<time>_<pid>_<random>`, lowercase letters, digits and
 * `_` only, so it is a valid PostgreSQL identifier, NATS subject token and stream name.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  return `${clean}_${Date.now().toString(36)}_${process.pid.toString(36)}_${randomBytes(4).toString('hex')}`;
}
