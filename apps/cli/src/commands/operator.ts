import { runOperator } from '@ssdk/runtime';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { serverFlags, serverOptions } from '../distributed.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export const operatorSpec: CommandSpec = {
  name: 'operator',
  summary: 'Run one operator unit of a dataflow as a service, over NATS JetStream and PostgreSQL (foreground; SIGTERM drains).',
  usage: 'ssdk operator FILE --operator ID [--nats URL] [--postgres URL] [--subject-prefix PREFIX] [--partitions N]',
  options: {
    operator: { type: 'string', valueName: 'ID', description: 'the operator unit to run, as `ssdk plan FILE` lists it (default: $SSDK_OPERATOR)' },
    postgres: { type: 'string', valueName: 'URL', description: 'PostgreSQL server holding the state (default: $DATABASE_URL)' },
    schema: { type: 'string', valueName: 'NAME', description: 'state schema (default: ssdk_<namespace>_<name>)' },
    ...serverOptions,
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: [
    'ssdk operator examples/word-count/services.yaml --operator count-words.add-to-total',
    'NATS_URL=nats://127.0.0.1:4222 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test ssdk operator services.yaml --operator top-words.count-in-window',
  ],
};

/** One replica per operator for now: the unit reads every partition of its inputs. */
export async function runOperatorCommand(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const flags = serverFlags(cmd, 'operator');
  const operatorId = typeof cmd.values['operator'] === 'string' ? cmd.values['operator'] : process.env['SSDK_OPERATOR'];
  if (!operatorId) throw new UsageError('give --operator ID (or set SSDK_OPERATOR); `ssdk plan FILE` lists the operators', 'operator');
  const postgres = typeof cmd.values['postgres'] === 'string' ? cmd.values['postgres'] : process.env['DATABASE_URL'];
  if (!postgres) throw new UsageError('give --postgres URL (or set DATABASE_URL)', 'operator');
  const abort = new AbortController();
  const log = (line: string) => io.err(`${new Date().toISOString()} ${line}\n`);
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    log(`${operatorId}: ${sig}, draining`);
    abort.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await runOperator({
      file: cmd.positionals[0]!,
      operatorId,
      natsUrl: flags.natsUrl,
      databaseUrl: postgres,
      subjectPrefix: flags.subjectPrefix,
      ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}),
      ...(typeof cmd.values['schema'] === 'string' ? { schema: cmd.values['schema'] } : {}),
      signal: abort.signal,
      log,
    });
    return EXIT_OK;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
