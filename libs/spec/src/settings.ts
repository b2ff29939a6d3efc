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
  if (values.grants !== undefined) settings.grants = [...new Set(values.grants)];
  return settings;
}
