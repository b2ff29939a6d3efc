/**
 * @ssdk/settings — the settings every process of a stack agrees on (servers, subject prefix,
 * control schema, partitions), their environment variables and defaults, in one place.
 *
 * @example
 * import { compileStackSettings } from '@ssdk/settings';
 * const { natsUrl, databaseUrl, subjectPrefix, controlSchema } = compileStackSettings({ subjectPrefix: flag }, process.env);
 */
export {
  compileStackSettings,
  CONTROL_SCHEMA,
  controlSchemaFor,
  DEFAULT_NATS_URL,
  DEFAULT_SUBJECT_PREFIX,
  localPostgresUrl,
  SettingsError,
  STACK_ENV,
  subjectPrefixOf,
  SUBJECT_PREFIX_PATTERN,
  type Env,
  type StackFlags,
  type StackSettings,
} from './stack.ts';
