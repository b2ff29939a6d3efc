/**
 * ssdk's runtime settings (`partitions`, `isolation`, `function-timeout`, `grants`): the same
 * names in `config` and on a step, mapped to `RuntimeSettings`.
 */
import type { RuntimeSettings } from './model.ts';
import type { Values } from './reader.ts';
import type { settingsShape } from './schemas.ts';

export function toRuntimeSettings(values: Values<typeof settingsShape>): RuntimeSettings {
  const settings: RuntimeSettings = {};
  if (values.partitions !== undefined) settings.partitions = values.partitions;
  if (values.isolation !== undefined) settings.isolation = values.isolation;
  if (values['function-timeout'] !== undefined) settings.functionTimeoutMs = values['function-timeout'];
  if (values.grants !== undefined) {
    // `{env: [NAME]}` is the `env` grant with its variables; the names go with the grants, so a
    // step's `grants` replace the file's as a whole (no variable leaks in from `config`).
    const env = values.grants.flatMap((g) => (typeof g === 'object' && 'env' in g ? g.env : []));
    // `http` alone (as SDF's `capabilities: [http]`) is any host; `{http: [HOST]}` names them.
    const http = values.grants.flatMap((g) => (g === 'http' ? ['*'] : typeof g === 'object' && 'http' in g ? g.http : []));
    settings.grants = [...new Set(values.grants.map((g) => (typeof g === 'object' ? ('env' in g ? 'env' : 'http') : g)))];
    if (env.length > 0) settings.env = [...new Set(env)];
    if (http.length > 0) settings.http = http.includes('*') ? ['*'] : [...new Set(http)];
  }
  return settings;
}
