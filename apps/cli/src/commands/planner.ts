/**
 * `ssdk planner`: the control plane as a foreground process. The planner is its own app
 * (apps/planner); this command starts its entry point with the servers from the flags, forwards
 * SIGTERM / SIGINT to it and exits with its exit code.
 */
import type { CommandSpec, ParsedCommand } from '../args.ts';
import { serverFlags, serverOptions } from '../distributed.ts';
import { controlSchemaOf, controlSchemaOption, postgresOption, postgresUrlOf, spawnPlanner } from '../distributed-control.ts';
import type { CliIo } from '../io.ts';

const { partitions: _partitions, ...plannerServerOptions } = serverOptions;

export const plannerSpec: CommandSpec = {
  name: 'planner',
  summary: 'Run the planner (foreground): it deploys, reports and removes dataflows for `ssdk deploy/status/undeploy` over NATS.',
  usage: 'ssdk planner [--nats URL] [--postgres URL] [--subject-prefix PREFIX] [--control-schema NAME]',
  options: { ...postgresOption, ...plannerServerOptions, ...controlSchemaOption },
  maxPositionals: 0,
  examples: [
    'ssdk planner &',
    'NATS_URL=nats://127.0.0.1:4222 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test ssdk planner',
    'ssdk planner --subject-prefix staging --control-schema ssdk_control_staging',
  ],
};

export async function runPlannerCommand(cmd: ParsedCommand, _io: CliIo): Promise<number> {
  const flags = serverFlags(cmd, 'planner');
  const postgres = postgresUrlOf(cmd.values);
  const controlSchema = controlSchemaOf(cmd.values, flags.subjectPrefix);
  const child = spawnPlanner({ natsUrl: flags.natsUrl, databaseUrl: postgres, subjectPrefix: flags.subjectPrefix, ...(controlSchema ? { controlSchema } : {}) });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    process.off('SIGTERM', forward);
    process.off('SIGINT', forward);
  }
}
