/** `ssdk undeploy NS/NAME [--purge]`: the planner forgets the dataflow (and with --purge drops its state and streams). */
import type { UndeployReply } from '@ssdk/control-plane';
import type { CommandSpec, ParsedCommand } from '../args.ts';
import { serverFlags, serverOptions } from '../distributed.ts';
import { askPlanner, reportPlannerRefusal } from '../distributed-control.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

const { partitions: _partitions, ...clientServerOptions } = serverOptions;

export const undeploySpec: CommandSpec = {
  name: 'undeploy',
  summary: 'Remove a deployed dataflow\'s plan; with --purge also its state schema and streams.',
  usage: 'ssdk undeploy NS/NAME [--purge] [--nats URL] [--subject-prefix PREFIX]',
  options: {
    purge: { type: 'boolean', description: 'also drop the state schema and delete the dataflow\'s streams (and user topics no other deployed dataflow uses)' },
    ...clientServerOptions,
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: ['ssdk undeploy examples/word-count', 'ssdk undeploy examples/word-count --purge'],
};

export async function runUndeploy(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const flags = serverFlags(cmd, 'undeploy');
  let reply: UndeployReply;
  try {
    reply = await askPlanner<UndeployReply>(flags.natsUrl, flags.subjectPrefix, 'undeploy', { dataflow: cmd.positionals[0]!, purge: cmd.values['purge'] === true });
  } catch (err) {
    const code = reportPlannerRefusal(err, io, 'undeploy');
    if (code !== undefined) return code;
    throw err;
  }
  io.out(`${reply.dataflow}: undeployed (was version ${reply.version})\n`);
  if (reply.droppedSchema) io.out(`  dropped schema ${reply.droppedSchema}\n`);
  for (const s of reply.deletedStreams) io.out(`  deleted stream ${s}\n`);
  if (!cmd.values['purge']) io.out('  state and streams kept (--purge removes them)\n');
  return EXIT_OK;
}
