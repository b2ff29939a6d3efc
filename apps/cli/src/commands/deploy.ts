/**
 * `ssdk deploy FILE`: builds the plan's functions (and component) and ships them with the plan to
 * the NATS object store, by content hash; then sends the services file and the artifacts'
 * manifest to the planner, which validates
 * and plans them, creates the streams and state tables and stores the plan as the dataflow's
 * next version. A bad file prints as `ssdk validate` prints it (exit 2), and so does a function
 * that does not compile (checked here, before anything is deployed); a redeploy that changes
 * the state layout is refused (exit 2) unless `--reset-state`.
 */
import { type DeployReply, type DeployRequest } from '@ssdk/control-plane';
import { isolationFromEnv, signingSeedFromEnv } from '@ssdk/runtime';
import type { Diagnostic } from '@ssdk/spec';
import type { CommandSpec, ParsedCommand } from '../args.ts';
import { serverFlags, serverOptions } from '../distributed.ts';
import { askPlanner, checkFunctions, readServicesBundle, reportPlannerRefusal, shipArtifacts, signDeploy } from '../distributed-control.ts';
import { printDiagnostics } from '../diagnostics.ts';
import { EXIT_OK } from '../exit-codes.ts';
import { paint, type CliIo } from '../io.ts';

export const deploySpec: CommandSpec = {
  name: 'deploy',
  summary: 'Deploy a dataflow through the planner: validate, plan, create streams and state tables, store the versioned plan.',
  usage: 'ssdk deploy FILE [--reset-state | --reset-offsets] [--partitions N] [--schema NAME] [--signing-key FILE] [--nats URL] [--subject-prefix PREFIX] [--json]',
  options: {
    'signing-key': { type: 'string', valueName: 'FILE', description: 'sign the deployment with the nkey seed in FILE (default: $SSDK_SIGNING_KEY, else the file $SSDK_SIGNING_KEY_FILE); operators with trusted keys run only signed deployments' },
    'reset-state': { type: 'boolean', description: 'accept a change of the state layout: drop the dataflow\'s state, offsets and internal streams first' },
    'reset-offsets': { type: 'boolean', description: 'forget what the operators read (after their input streams were made again): they read from the start, the state is kept' },
    schema: { type: 'string', valueName: 'NAME', description: 'state schema (default: the deployed one, else ssdk_<namespace>_<name>)' },
    json: { type: 'boolean', description: 'print the planner\'s reply as JSON' },
    ...serverOptions,
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: [
    'ssdk deploy examples/word-count/services.yaml',
    'ssdk deploy examples/word-count/services.yaml --partitions 1',
    'ssdk deploy services.yaml --reset-state     # after changing a state\'s type',
  ],
};

export async function runDeploy(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = cmd.positionals[0]!;
  const flags = serverFlags(cmd, 'deploy');
  const bundle = await readServicesBundle(file, 'deploy');
  const checked = await checkFunctions(file, io);
  if (typeof checked === 'number') return checked;
  // The plan and the built functions go to the object store first: operators run from them.
  // What it builds follows SSDK_ISOLATION, as the operators that will run it do (unset: the plan's).
  const artifacts = checked.dataflow ? await shipArtifacts(file, checked.dataflow, flags, { isolation: isolationFromEnv(), onBuild: (line) => io.err(`${line}\n`) }) : undefined;
  // A file path on argv, never the seed: the seed itself comes by environment or file.
  const seed = await signingSeedFromEnv(typeof cmd.values['signing-key'] === 'string' ? { SSDK_SIGNING_KEY_FILE: cmd.values['signing-key'] } : process.env);
  const signature = seed ? await signDeploy(seed, file, flags, bundle, artifacts) : undefined;
  const request: DeployRequest = {
    bundle,
    ...(artifacts ? { artifacts } : {}),
    ...(signature ? { signature } : {}),
    displayPath: file,
    ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}),
    ...(typeof cmd.values['schema'] === 'string' ? { schema: cmd.values['schema'] } : {}),
    ...(cmd.values['reset-state'] ? { resetState: true } : {}),
    ...(cmd.values['reset-offsets'] ? { resetOffsets: true } : {}),
  };
  let reply: DeployReply;
  try {
    reply = await askPlanner<DeployReply>(flags.natsUrl, flags.subjectPrefix, 'deploy', request);
  } catch (err) {
    const code = reportPlannerRefusal(err, io, 'deploy', checked.left);
    if (code !== undefined) return code;
    throw err;
  }
  printDiagnostics(io, reply.warnings as Diagnostic[]);
  if (cmd.values['json']) {
    io.out(JSON.stringify(reply, null, 2) + '\n');
    return EXIT_OK;
  }
  io.out(`${reply.dataflow}: ${paint(io, 'green', describeOutcome(reply))} — version ${reply.version}, plan ${reply.hash.slice(0, 12)}, ${reply.operators.length} operators, state in ${reply.stateSchema}\n`);
  for (const change of reply.changes) io.out(`  ${change}\n`);
  if (reply.outcome !== 'unchanged') io.out(`  operators: ${reply.operators.join(', ')}\n`);
  return EXIT_OK;
}

function describeOutcome(r: DeployReply): string {
  switch (r.outcome) {
    case 'created':
      return 'deployed';
    case 'updated':
      return 'redeployed';
    case 'unchanged':
      return 'unchanged (this plan is deployed already)';
    case 'reset':
      return 'redeployed with its state reset';
  }
}
