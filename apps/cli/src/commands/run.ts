import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { formatJsonLine } from '@ssdk/records';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { codeWaitingNote, countBySeverity, plural, printDiagnostics } from '../diagnostics.ts';
import { collectOutputs, collectStates, feed, inputDigest, isolationFlag, openSession, SessionError, type Session, type SessionInput } from '../embedded-session.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import { paint, type CliIo } from '../io.ts';
import { startShell, type ShellIo } from '../shell/terminal.ts';
import { stateDir } from '../state-dir.ts';
import { readInputFile } from '../input-file.ts';
import { openRunObservability } from '../observe.ts';
import { progressScope, progressWanted, startProgress } from '../progress.ts';
import { memoryCheckpointStore, type UnitMetricsSnapshot } from '@ssdk/runtime';

export const runSpec: CommandSpec = {
  name: 'run',
  summary: 'Run a dataflow embedded in this process (no server): an interactive shell, or feed input files and write every output topic.',
  usage: 'ssdk run FILE [--fresh] [--input TOPIC=PATH...]  |  ssdk run FILE --input TOPIC=PATH... [--records] --output-dir DIR --until-idle [--no-end]',
  options: {
    input: { type: 'string', short: 'i', multiple: true, valueName: 'TOPIC=PATH', description: 'produce the JSON lines of PATH to TOPIC (repeatable; fed in order, each drained before the next)' },
    records: { type: 'boolean', description: 'input lines are records {"key","value","timestamp","headers"}, not bare values' },
    'output-dir': { type: 'string', short: 'o', valueName: 'DIR', description: 'write each output topic to DIR/<topic>.jsonl (and dead letters, late events when any)' },
    'output-records': { type: 'boolean', description: 'write records {"key","value","timestamp","headers"} instead of bare values' },
    'until-idle': { type: 'boolean', description: 'run to the end of the input, then exit (the scripting and CI mode; without it, the interactive shell opens)' },
    'no-end': { type: 'boolean', description: 'do not mark the end of input: open windows stay open (for a run continued later)' },
    progress: { type: 'boolean', description: 'with --until-idle: a status line on stderr (records/s, in/out, watermark, dead letters), even when stderr is not a terminal' },
    'no-progress': { type: 'boolean', description: 'no status line, even on a terminal (default: shown when stderr is a terminal)' },
    'dump-state': { type: 'boolean', description: 'also write each keyed state to DIR/state/<state>.json' },
    partitions: { type: 'string', valueName: 'N', description: 'partitions per topic (embedded default: 1, which keeps event order)' },
    resume: { type: 'boolean', description: 'continue from the state and progress of the last run (default with --until-idle: start fresh)' },
    fresh: { type: 'boolean', description: 'start from empty state (the shell resumes the last run\'s state by default)' },
    'state-dir': { type: 'string', valueName: 'DIR', description: 'where state is kept (default: .ssdk/ beside the services file, or $SSDK_HOME)' },
    ephemeral: { type: 'boolean', description: 'keep state in memory only (nothing written to disk)' },
    native: { type: 'boolean', description: 'run every function natively in V8 (trusted code; fastest): no WebAssembly sandbox, no build' },
    trace: { type: 'boolean', description: 'trace every batch with OpenTelemetry, exported over OTLP/HTTP to $OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318, Jaeger); on by itself when that variable is set' },
    ui: { type: 'boolean', description: 'serve the dashboard (graph, live rates, lag, watermarks, dead letters, state browser, logs) and print its URL' },
    'ui-port': { type: 'string', valueName: 'N', description: 'port of the --ui dashboard (default: any free port)' },
    sandbox: { type: 'boolean', description: 'run every function as a WebAssembly component, `isolation: native` ones too (default: as the file says — sandboxed unless `isolation: native`)' },
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: [
    'ssdk run examples/word-count/services.yaml',
    "printf 'produce sentences \"the river flows\"\\nconsume words\\n' | ssdk run examples/word-count/services.yaml --fresh",
    'ssdk run examples/word-count/services.yaml --input sentences=examples/word-count/input/sentences.jsonl --records --output-dir out --until-idle',
    'ssdk run services.yaml -i events=events.jsonl -o out --until-idle --output-records',
  ],
};

export async function runRun(cmd: ParsedCommand, io: CliIo): Promise<number> {
  if (cmd.values['fresh'] && cmd.values['resume']) throw new UsageError('--fresh and --resume contradict each other: give one', 'run');
  if (!cmd.values['until-idle']) return runInteractive(cmd, io);
  const outputDir = cmd.values['output-dir'];
  if (typeof outputDir !== 'string') throw new UsageError('--until-idle needs --output-dir DIR to write the output topics to', 'run');
  const inputs = await readInputs(cmd);
  const resume = cmd.values['resume'] === true;
  const session = await openRunSession(cmd, io, { fresh: !resume, interactive: false, inputs, replay: resume });
  if (!session) return EXIT_USER_ERROR;
  printDiagnostics(io, session.diagnostics);
  const started = performance.now();
  const progress = startProgress(io, progressScope(session.plan), () => session.df.metrics(), { enabled: progressWanted(cmd.values, io) });
  try {
    await feed(session, inputs);
    // A finite inline source (a nexmark-source) publishes beside the inputs: all of it comes in before the end.
    await session.finiteSourcesDone();
    if (!cmd.values['no-end']) {
      await session.df.endInput();
      await session.df.ended();
    } else {
      await session.df.idle();
    }
    progress.stop();
    const outputs = await collectOutputs(session);
    await mkdir(outputDir, { recursive: true });
    const asRecords = cmd.values['output-records'] === true;
    for (const [topic, records] of outputs) {
      const lines = records.map((r) => formatJsonLine({ key: r.key, value: r.value, timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) }, asRecords));
      await writeFile(join(outputDir, `${topic}.jsonl`), lines.length ? lines.join('\n') + '\n' : '');
    }
    if (cmd.values['dump-state']) {
      await mkdir(join(outputDir, 'state'), { recursive: true });
      for (const [name, entries] of await collectStates(session)) {
        await writeFile(join(outputDir, 'state', `${name}.json`), JSON.stringify(entries, null, 2) + '\n');
      }
    }
    const deadLetters = session.plan.topics.filter((t) => t.kind === 'dead-letter').map((t) => t.id);
    summarize(io, session.df.metrics(), outputs, outputDir, performance.now() - started, deadLetters);
    return EXIT_OK;
  } finally {
    progress.stop();
    await session.close();
  }
}

/**
 * `ssdk run FILE` without --until-idle: the interactive shell (commands from stdin when it is not
 * a terminal). State resumes from the last run unless --fresh; --input files are fed first.
 */
async function runInteractive(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = cmd.positionals[0]!;
  for (const flag of ['output-dir', 'output-records', 'no-end', 'dump-state', 'records'] as const) {
    if (cmd.values[flag] !== undefined && !(flag === 'records' && cmd.values['input'])) {
      throw new UsageError(
        flag === 'records' ? '--records describes --input files: give it with --input' : `--${flag} is for --until-idle runs (in the shell, \`consume TOPIC\` prints a topic and \`show state\` the state)`,
        'run',
      );
    }
  }
  const inputs = await readInputs(cmd);
  const ephemeral = cmd.values['ephemeral'] === true;
  const session = await openRunSession(cmd, io, { fresh: cmd.values['fresh'] === true, interactive: true, inputs });
  if (!session) return EXIT_USER_ERROR;
  printDiagnostics(io, session.diagnostics);
  try {
    if (!ephemeral && cmd.values['fresh'] !== true) await warnIfInputEnded(session, file, io);
    await feed(session, inputs);
    const stateDirOption = typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined;
    const home = stateDir(file, stateDirOption);
    const shown = relative(io.cwd, home) || '.';
    const where = shown.startsWith('..') ? home : shown;
    const stateInfo = ephemeral ? 'state in memory' : cmd.values['fresh'] ? `fresh state in ${where}` : `state resumed from ${where}`;
    return await startShell(session, io as ShellIo, { stateInfo, ...(ephemeral ? {} : { historyFile: join(home, 'history') }) });
  } finally {
    await session.close();
  }
}

/**
 * A run that read its input to the end (`--until-idle`) leaves its windows' watermark at +∞:
 * resumed, every record produced is late and no window fires. Said once, with the way out.
 */
async function warnIfInputEnded(session: Session, file: string, io: CliIo): Promise<void> {
  const ended: string[] = [];
  for (const op of session.plan.operators) {
    const meta = (await session.checkpoints.load(op.id)).meta as { watermark?: { watermark?: number } } | null;
    if (meta?.watermark?.watermark === Infinity) ended.push(op.id);
  }
  if (ended.length === 0) return;
  io.err(
    `warning: the state resumed here comes from a run whose input ended (the watermark of ${ended.map((id) => `\`${id}\``).join(', ')} is at +∞): ` +
      `records produced now are late for every window, and no window fires\n  hint: start from empty state with \`ssdk run ${file} --fresh\`\n`,
  );
}

/** Opens the embedded session of `ssdk run`; a file with errors is reported here (undefined is returned). */
async function openRunSession(cmd: ParsedCommand, io: CliIo, o: { fresh: boolean; interactive: boolean; inputs: SessionInput[]; replay?: boolean }): Promise<Session | undefined> {
  const file = cmd.positionals[0]!;
  const stateDirOption = typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined;
  const checkpoints = cmd.values['ephemeral']
    ? ({ kind: 'memory', store: memoryCheckpointStore() } as const)
    : ({ kind: 'pglite', fresh: o.fresh, ...(stateDirOption ? { stateDir: stateDirOption } : {}) } as const);
  // Tracing, metrics, function logs and the dashboard live as long as the session.
  const observed = await openRunObservability(cmd, io, { file, fresh: o.fresh, ephemeral: cmd.values['ephemeral'] === true, printLogs: o.interactive });
  try {
    const session = await openSession({
      observer: observed.telemetry.observer(),
      file,
      checkpoints,
      ...(cmd.values['partitions'] ? { partitions: Number(cmd.values['partitions']) } : {}),
      isolation: isolationFlag(cmd, 'run'),
      // Only a build that compiles says so (it takes seconds); a cache hit is silent.
      onBuild: (line: string) => void (/^(building|built) /.test(line) && io.err(`${line}\n`)),
      ...(stateDirOption ? { stateDir: stateDirOption } : {}),
      // Connectors written inline in sources and sinks run beside the dataflow, on its bus.
      connectors: { log: (line: string) => io.err(`${line}\n`) },
      inputs: o.inputs,
      replay: o.replay === true,
    });
    if (session.replaying) io.err('the same input as the last run: continuing where it committed\n');
    const close = session.close;
    const closeAll = async () => {
      await close();
      await observed.close();
    };
    await observed.attach(session).catch(async (err: unknown) => {
      await closeAll();
      throw err;
    });
    return { ...session, close: closeAll };
  } catch (err) {
    await observed.close();
    if (err instanceof SessionError) {
      printDiagnostics(io, err.diagnostics);
      const { errors } = countBySeverity(err.diagnostics);
      io.err(`${file}: ${paint(io, 'red', plural(errors, 'error'))}: nothing was run${codeWaitingNote(err.left)}\n`);
      return undefined;
    }
    throw err;
  }
}

async function readInputs(cmd: ParsedCommand): Promise<SessionInput[]> {
  const specs = (cmd.values['input'] as string[] | undefined) ?? [];
  const out: SessionInput[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--input takes TOPIC=PATH, got \`${spec}\``, 'run');
    const path = spec.slice(eq + 1);
    try {
      const topic = spec.slice(0, eq);
      const records = cmd.values['records'] === true;
      out.push({ topic, records: await readInputFile(path, records), digest: await inputDigest(topic, path, records) });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { domain?: string };
      if (e.code === 'ENOENT') throw new UsageError(`input file not found: ${path}`, 'run');
      if (e.domain === 'user') throw new UsageError(`${path}: ${e.message}`, 'run');
      throw err;
    }
  }
  return out;
}

/** `; the first: OPERATOR: REASON`: a throw's reason names its line in the user's code (the services file's for `run:` code). */
function firstDeadLetter(outputs: Map<string, unknown[]>, deadLetters: readonly string[]): string {
  for (const topic of deadLetters) {
    const letter = (outputs.get(topic)?.[0] as { value?: { operator?: unknown; reason?: unknown } } | undefined)?.value;
    if (typeof letter?.reason === 'string') return `; the first: ${String(letter.operator)}: ${letter.reason}`;
  }
  return '';
}

function summarize(
  io: CliIo,
  metrics: UnitMetricsSnapshot[],
  outputs: Map<string, unknown[]>,
  dir: string,
  ms: number,
  deadLetters: readonly string[],
): void {
  const recordsIn = metrics.reduce((n, m) => n + m.recordsIn, 0);
  const failed = metrics.reduce((n, m) => n + m.failed, 0);
  const late = metrics.reduce((n, m) => n + m.late, 0);
  const written = [...outputs].map(([t, r]) => `${t} (${r.length})`).join(', ');
  io.err(`ran ${plural(metrics.length, 'operator')} in ${Math.round(ms)} ms: ${recordsIn} records in; wrote ${written || 'nothing'} to ${dir}\n`);
  if (failed) io.err(`${paint(io, 'yellow', plural(failed, 'record'))} went to dead-letter topics (see ${dir}/*.dead-letter.jsonl)${firstDeadLetter(outputs, deadLetters)}\n`);
  if (late) io.err(`${paint(io, 'yellow', plural(late, 'late record'))} went to late-events topics (see ${dir}/*.late-events.jsonl)\n`);
}
