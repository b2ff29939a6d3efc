/**
 * The `ssdk` command: one registry of commands, one place that turns failures into exit codes.
 * A user's mistake (bad file, bad flag) prints what and where, exit 2, never a stack trace;
 * anything else prints its message (and, with SSDK_DEBUG=1, the stack), exit 1.
 */
import { readFileSync } from 'node:fs';
import { parseCommand, renderHelp, UsageError, type CommandSpec, type ParsedCommand } from './args.ts';
import { buildSpec, runBuild } from './commands/build.ts';
import { composeSpec, runCompose } from './commands/compose.ts';
import { consumeSpec, runConsume } from './commands/consume.ts';
import { logSpec, runLog } from './commands/log.ts';
import { deploySpec, runDeploy } from './commands/deploy.ts';
import { operatorSpec, runOperatorCommand } from './commands/operator.ts';
import { plannerSpec, runPlannerCommand } from './commands/planner.ts';
import { produceSpec, runProduce } from './commands/produce.ts';
import { downSpec, runDown, runUp, upSpec } from './commands/up.ts';
import { generateSpec, runGenerate } from './commands/generate.ts';
import { planSpec, runPlan } from './commands/plan.ts';
import { runRun, runSpec } from './commands/run.ts';
import { runState, stateSpec } from './commands/state.ts';
import { runStatus, statusSpec } from './commands/status.ts';
import { runTest, testSpec } from './commands/test.ts';
import { runUndeploy, undeploySpec } from './commands/undeploy.ts';
import { runValidate, validateSpec } from './commands/validate.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USER_ERROR } from './exit-codes.ts';
import { processIo, type CliIo } from './io.ts';

interface Command {
  spec: CommandSpec;
  run(cmd: ParsedCommand, io: CliIo): Promise<number>;
}

const COMMANDS: Command[] = [
  { spec: validateSpec, run: runValidate },
  { spec: planSpec, run: runPlan },
  { spec: runSpec, run: runRun },
  { spec: testSpec, run: runTest },
  { spec: generateSpec, run: runGenerate },
  { spec: buildSpec, run: runBuild },
  { spec: operatorSpec, run: runOperatorCommand },
  { spec: produceSpec, run: runProduce },
  { spec: consumeSpec, run: runConsume },
  { spec: logSpec, run: runLog },
  { spec: upSpec, run: runUp },
  { spec: downSpec, run: runDown },
  { spec: plannerSpec, run: runPlannerCommand },
  { spec: deploySpec, run: runDeploy },
  { spec: statusSpec, run: runStatus },
  { spec: undeploySpec, run: runUndeploy },
  { spec: stateSpec, run: runState },
  { spec: composeSpec, run: runCompose },
];

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.spec.name === rest[0]) : undefined;
    io.out(target ? renderHelp(target.spec) : renderOverview());
    return EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(`ssdk ${version()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  try {
    if (!command) throw new UsageError(`unknown command \`${name}\`${suggest(name)}`);
    const parsed = parseCommand(command.spec, rest);
    if (parsed.help) {
      io.out(renderHelp(command.spec));
      return EXIT_OK;
    }
    return await command.run(parsed, io);
  } catch (err) {
    return reportFailure(err, io, command?.spec.name);
  }
}

function reportFailure(err: unknown, io: CliIo, command: string | undefined): number {
  if (isUserError(err)) {
    io.err(`ssdk${command ? ` ${command}` : ''}: error: ${err.message}\n`);
    io.err(`  hint: run \`ssdk ${command ? `${command} ` : ''}--help\` for usage\n`);
    return EXIT_USER_ERROR;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.err(`ssdk${command ? ` ${command}` : ''}: failed: ${message}\n`);
  if (process.env['SSDK_DEBUG'] && err instanceof Error && err.stack) io.err(err.stack + '\n');
  else io.err('  hint: set SSDK_DEBUG=1 to see where it failed\n');
  return EXIT_FAILURE;
}

function isUserError(err: unknown): err is Error {
  return err instanceof Error && (err as { domain?: unknown }).domain === 'user';
}

function renderOverview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return [
    `ssdk ${version()} — Stateful Services Development Kit`,
    '',
    'Usage: ssdk COMMAND [OPTIONS]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    'Run `ssdk COMMAND --help` for a command\'s options and examples.',
    '',
    'Examples:',
    '  ssdk validate examples/word-count/services.yaml',
    '  ssdk plan examples/word-count/services.yaml --format mermaid',
    '',
  ].join('\n');
}

function suggest(name: string): string {
  const close = COMMANDS.map((c) => c.spec.name).find((n) => n.startsWith(name.slice(0, 3)));
  return close ? ` (did you mean \`${close}\`?)` : '';
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
