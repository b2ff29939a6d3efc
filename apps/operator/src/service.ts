/**
 * The operator service: one operator unit of a dataflow, configured from flags or environment
 * variables (`SSDK_FILE`, `SSDK_OPERATOR`, `NATS_URL`, `DATABASE_URL`, `SSDK_SUBJECT_PREFIX`,
 * `SSDK_PARTITIONS`), stopped gracefully by SIGTERM / SIGINT (the batch in hand is committed).
 * Start several processes of the same operator to run replicas: they divide its partitions
 * (`SSDK_LEASE_TTL_MS` / `SSDK_HEARTBEAT_MS` tune how fast a dead one's partitions move).
 * Functions run sandboxed as the plan says (`SSDK_ISOLATION=native|sandbox` overrides it); the
 * component is built before the unit starts, once per stack when the processes share the state
 * dir or `SSDK_COMPONENT_CACHE`.
 */
import { runOperator, type OperatorOptions, type OperatorResult } from '@ssdk/runtime';

export type OperatorConfig = Omit<OperatorOptions, 'signal' | 'log'>;

export class OperatorUsageError extends Error {
  override name = 'OperatorUsageError';
  readonly code = 'usage';
  readonly domain = 'user';
}

/** Flags first, then the environment. */
export function operatorConfig(flags: Partial<Record<'file' | 'operator' | 'nats' | 'postgres' | 'subjectPrefix' | 'partitions' | 'schema', string>>, env: Record<string, string | undefined> = process.env): OperatorConfig {
  const file = flags.file ?? env['SSDK_FILE'];
  const operatorId = flags.operator ?? env['SSDK_OPERATOR'];
  if (!file) throw new OperatorUsageError('no services file: give FILE or set SSDK_FILE');
  if (!operatorId) throw new OperatorUsageError('no operator: give --operator ID or set SSDK_OPERATOR (`ssdk plan FILE` lists the operators)');
  const partitionsText = flags.partitions ?? env['SSDK_PARTITIONS'];
  const partitions = partitionsText === undefined ? undefined : Number(partitionsText);
  if (partitions !== undefined && (!Number.isSafeInteger(partitions) || partitions < 1)) throw new OperatorUsageError(`--partitions takes a whole number of 1 or more, got \`${partitionsText}\``);
  const natsUrl = flags.nats ?? env['NATS_URL'];
  const databaseUrl = flags.postgres ?? env['DATABASE_URL'];
  const subjectPrefix = flags.subjectPrefix ?? env['SSDK_SUBJECT_PREFIX'];
  const schema = flags.schema ?? env['SSDK_SCHEMA'];
  return {
    file,
    operatorId,
    ...(natsUrl ? { natsUrl } : {}),
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(subjectPrefix ? { subjectPrefix } : {}),
    ...(schema ? { schema } : {}),
    ...(partitions !== undefined ? { partitions } : {}),
  };
}

/**
 * Runs the service until its inputs end or a signal stops it. The first SIGTERM/SIGINT drains
 * (finishes and commits the batch in hand); a second one exits at once (`kill -9` is safe too).
 */
export async function serveOperator(config: OperatorConfig, log: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<OperatorResult> {
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    log(`${config.operatorId}: ${sig}, draining`);
    abort.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await runOperator({ ...config, signal: abort.signal, log });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
