/**
 * The `ssdk` command: one registry of commands, one place that turns failures into exit codes.
 * A user's mistake (bad file, bad flag) prints what and where, exit 2, never a stack trace;
 * anything else prints its message (and, with SSDK_DEBUG=1, the stack), exit 1.
 */
import { redact, redactedMessage } from '@ssdk/records';
import type { Diagnostic } from '@ssdk/spec';
import { parseCommand, renderHelp, UsageError, type CommandSpec, type ParsedCommand } from './args.ts';
import { countBySeverity, plural, printDiagnostics } from './diagnostics.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USER_ERROR } from './exit-codes.ts';
import { ssdkVersion } from './installation.ts';
import { processIo, type CliIo } from './io.ts';
import { sinceProcessStart, writeTimings } from './timings.ts';

interface Command {
  spec: CommandSpec;
  run(cmd: ParsedCommand, io: CliIo): Promise<number>;
}

interface LazyCommand {
  name: string;
  load(): Promise<Command>;
}

function lazy<M>(name: string, load: () => Promise<M>, pick: (m: M) => Command): LazyCommand {
  return { name, load: async () => pick(await load()) };
}

/**
 * Every command, loaded when it is asked for: a command's module brings what it needs (NATS,
 * PostgreSQL, OpenTelemetry, the WebAssembly toolchain), and `ssdk validate` should not wait for
 * all of it (measured: `validate` alone loads in ~0.4 s, every command ~1.1 s).
 */
const COMMANDS: readonly LazyCommand[] = [
  lazy('init', () => import('./commands/init.ts'), (m) => ({ spec: m.initSpec, run: m.runInit })),
  lazy('validate', () => import('./commands/validate.ts'), (m) => ({ spec: m.validateSpec, run: m.runValidate })),
  lazy('plan', () => import('./commands/plan.ts'), (m) => ({ spec: m.planSpec, run: m.runPlan })),
  lazy('run', () => import('./commands/run.ts'), (m) => ({ spec: m.runSpec, run: m.runRun })),
  lazy('test', () => import('./commands/test.ts'), (m) => ({ spec: m.testSpec, run: m.runTest })),
  lazy('generate', () => import('./commands/generate.ts'), (m) => ({ spec: m.generateSpec, run: m.runGenerate })),
  lazy('build', () => import('./commands/build.ts'), (m) => ({ spec: m.buildSpec, run: m.runBuild })),
  lazy('operator', () => import('./commands/operator.ts'), (m) => ({ spec: m.operatorSpec, run: m.runOperatorCommand })),
  lazy('produce', () => import('./commands/produce.ts'), (m) => ({ spec: m.produceSpec, run: m.runProduce })),
  lazy('consume', () => import('./commands/consume.ts'), (m) => ({ spec: m.consumeSpec, run: m.runConsume })),
  lazy('redrive', () => import('./commands/redrive.ts'), (m) => ({ spec: m.redriveSpec, run: m.runRedrive })),
  lazy('log', () => import('./commands/log.ts'), (m) => ({ spec: m.logSpec, run: m.runLog })),
  lazy('up', () => import('./commands/up.ts'), (m) => ({ spec: m.upSpec, run: m.runUp })),
  lazy('down', () => import('./commands/up.ts'), (m) => ({ spec: m.downSpec, run: m.runDown })),
  lazy('planner', () => import('./commands/planner.ts'), (m) => ({ spec: m.plannerSpec, run: m.runPlannerCommand })),
  lazy('deploy', () => import('./commands/deploy.ts'), (m) => ({ spec: m.deploySpec, run: m.runDeploy })),
  lazy('status', () => import('./commands/status.ts'), (m) => ({ spec: m.statusSpec, run: m.runStatus })),
  lazy('undeploy', () => import('./commands/undeploy.ts'), (m) => ({ spec: m.undeploySpec, run: m.runUndeploy })),
  lazy('state', () => import('./commands/state.ts'), (m) => ({ spec: m.stateSpec, run: m.runState })),
  lazy('compose', () => import('./commands/compose.ts'), (m) => ({ spec: m.composeSpec, run: m.runCompose })),
  lazy('connector', () => import('./commands/connector.ts'), (m) => ({ spec: m.connectorSpec, run: m.runConnectorCommand })),
  lazy('version', () => import('./commands/housekeeping.ts'), (m) => ({ spec: m.versionSpec, run: m.runVersion })),
  lazy('setup', () => import('./commands/housekeeping.ts'), (m) => ({ spec: m.setupSpec, run: m.runSetup })),
  lazy('clean', () => import('./commands/housekeeping.ts'), (m) => ({ spec: m.cleanSpec, run: m.runClean })),
  lazy('nexmark', () => import('./commands/nexmark.ts'), (m) => ({ spec: m.nexmarkSpec, run: m.runNexmark })),
];

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(target ? renderHelp((await target.load()).spec) : await renderOverview());
    return EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(`ssdk ${ssdkVersion()}\n`);
    return EXIT_OK;
  }
  const known = COMMANDS.find((c) => c.name === name);
  let command: Command | undefined;
  try {
    if (!known) throw new UsageError(`unknown command \`${name}\`${suggest(name)}`);
    command = await known.load();
    sinceProcessStart('start');
    const parsed = parseCommand(command.spec, rest);
    if (parsed.help) {
      io.out(renderHelp(command.spec));
      return EXIT_OK;
    }
    return await command.run(parsed, io);
  } catch (err) {
    return reportFailure(err, io, known?.name);
  } finally {
    writeTimings();
  }
}

function reportFailure(err: unknown, io: CliIo, command: string | undefined): number {
  if (isUserError(err)) {
    const diagnostics = diagnosticsOf(err);
    if (diagnostics.length > 0) {
      // A services file that does not plan: every problem at its FILE:LINE:COL, as `ssdk validate` shows them.
      printDiagnostics(io, diagnostics);
      io.err(`ssdk${command ? ` ${command}` : ''}: error: ${plural(countBySeverity(diagnostics).errors, 'error')} in the services file\n`);
      return EXIT_USER_ERROR;
    }
    io.err(`ssdk${command ? ` ${command}` : ''}: error: ${redact(err.message)}\n`);
    io.err(`  hint: run \`ssdk ${command ? `${command} ` : ''}--help\` for usage\n`);
    return EXIT_USER_ERROR;
  }
  io.err(`ssdk${command ? ` ${command}` : ''}: failed: ${redactedMessage(err)}\n`);
  if (process.env['SSDK_DEBUG'] && err instanceof Error && err.stack) io.err(redact(err.stack) + '\n');
  else io.err('  hint: set SSDK_DEBUG=1 to see where it failed\n');
  return EXIT_FAILURE;
}

function isUserError(err: unknown): err is Error {
  return err instanceof Error && (err as { domain?: unknown }).domain === 'user';
}

/** The diagnostics a user error carries (a `SpecError` of `planOrThrow`, a session's), if any. */
function diagnosticsOf(err: Error): Diagnostic[] {
  const found = (err as { diagnostics?: unknown }).diagnostics;
  return Array.isArray(found) ? (found as Diagnostic[]) : [];
}

async function renderOverview(): Promise<string> {
  const specs = (await Promise.all(COMMANDS.map((c) => c.load()))).map((c) => c.spec);
  const width = Math.max(...specs.map((c) => c.name.length)) + 2;
  return [
    `ssdk ${ssdkVersion()} — Stateful Services Development Kit`,
    '',
    'Usage: ssdk COMMAND [OPTIONS]',
    '',
    'Commands:',
    ...specs.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
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
  const close = COMMANDS.map((c) => c.name).find((n) => n.startsWith(name.slice(0, 3)));
  return close ? ` (did you mean \`${close}\`?)` : '';
}

