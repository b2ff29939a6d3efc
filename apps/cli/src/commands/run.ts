import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatJsonLine } from '@ssdk/records';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { countBySeverity, plural, printDiagnostics } from '../diagnostics.ts';
import { collectOutputs, collectStates, feed, openSession, readInputFile, SessionError, type SessionInput } from '../embedded-session.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import { paint, type CliIo } from '../io.ts';
import { memoryCheckpointStore, type UnitMetricsSnapshot } from '@ssdk/runtime';

export const runSpec: CommandSpec = {
  name: 'run',
  summary: 'Run a dataflow embedded in this process (no server): feed input files, write every output topic.',
  usage: 'ssdk run FILE --input TOPIC=PATH... [--records] --output-dir DIR [--until-idle] [--no-end]',
  options: {
    input: { type: 'string', short: 'i', multiple: true, valueName: 'TOPIC=PATH', description: 'produce the JSON lines of PATH to TOPIC (repeatable; fed in order, each drained before the next)' },
    records: { type: 'boolean', description: 'input lines are records {"key","value","timestamp","headers"}, not bare values' },
    'output-dir': { type: 'string', short: 'o', valueName: 'DIR', description: 'write each output topic to DIR/<topic>.jsonl (and dead letters, late events when any)' },
    'output-records': { type: 'boolean', description: 'write records {"key","value","timestamp","headers"} instead of bare values' },
    'until-idle': { type: 'boolean', description: 'run to the end of the input, then exit (the scripting and CI mode)' },
    'no-end': { type: 'boolean', description: 'do not mark the end of input: open windows stay open (for a run continued later)' },
    'dump-state': { type: 'boolean', description: 'also write each keyed state to DIR/state/<state>.json' },
    partitions: { type: 'string', valueName: 'N', description: 'partitions per topic (embedded default: 1, which keeps event order)' },
    resume: { type: 'boolean', description: 'continue from the state and progress of the last run (default with --until-idle: start fresh)' },
    'state-dir': { type: 'string', valueName: 'DIR', description: 'where state is kept (default: .ssdk/ beside the services file, or $SSDK_HOME)' },
    ephemeral: { type: 'boolean', description: 'keep state in memory only (nothing written to disk)' },
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: [
    'ssdk run examples/word-count/services.yaml --input sentences=examples/word-count/input/sentences.jsonl --records --output-dir out --until-idle',
    'ssdk run services.yaml -i events=events.jsonl -o out --until-idle --output-records',
  ],
};

export async function runRun(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = cmd.positionals[0]!;
  if (!cmd.values['until-idle']) {
    throw new UsageError('the interactive shell is not built yet: use --until-idle with --input and --output-dir', 'run');
  }
  const outputDir = cmd.values['output-dir'];
  if (typeof outputDir !== 'string') throw new UsageError('--until-idle needs --output-dir DIR to write the output topics to', 'run');
  const inputs = await readInputs(cmd);
  const stateDirOption = typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined;
  const checkpoints = cmd.values['ephemeral']
    ? ({ kind: 'memory', store: memoryCheckpointStore() } as const)
    : ({ kind: 'pglite', fresh: cmd.values['resume'] !== true, ...(stateDirOption ? { stateDir: stateDirOption } : {}) } as const);
  let session;
  try {
    session = await openSession({ file, checkpoints, ...(cmd.values['partitions'] ? { partitions: Number(cmd.values['partitions']) } : {}) });
  } catch (err) {
    if (err instanceof SessionError) {
      printDiagnostics(io, err.diagnostics);
      const { errors } = countBySeverity(err.diagnostics);
      io.err(`${file}: ${paint(io, 'red', plural(errors, 'error'))}: nothing was run\n`);
      return EXIT_USER_ERROR;
    }
    throw err;
  }
  printDiagnostics(io, session.diagnostics);
  const started = performance.now();
  try {
    await feed(session, inputs);
    if (!cmd.values['no-end']) {
      await session.df.endInput();
      await session.df.ended();
    } else {
      await session.df.idle();
    }
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
    summarize(io, session.df.metrics(), outputs, outputDir, performance.now() - started);
    return EXIT_OK;
  } finally {
    await session.df.stop();
    await session.checkpoints.close();
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
      out.push({ topic: spec.slice(0, eq), records: await readInputFile(path, cmd.values['records'] === true) });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { domain?: string };
      if (e.code === 'ENOENT') throw new UsageError(`input file not found: ${path}`, 'run');
      if (e.domain === 'user') throw new UsageError(`${path}: ${e.message}`, 'run');
      throw err;
    }
  }
  return out;
}

function summarize(
  io: CliIo,
  metrics: UnitMetricsSnapshot[],
  outputs: Map<string, unknown[]>,
  dir: string,
  ms: number,
): void {
  const recordsIn = metrics.reduce((n, m) => n + m.recordsIn, 0);
  const failed = metrics.reduce((n, m) => n + m.failed, 0);
  const late = metrics.reduce((n, m) => n + m.late, 0);
  const written = [...outputs].map(([t, r]) => `${t} (${r.length})`).join(', ');
  io.err(`ran ${plural(metrics.length, 'operator')} in ${Math.round(ms)} ms: ${recordsIn} records in; wrote ${written || 'nothing'} to ${dir}\n`);
  if (failed) io.err(`${paint(io, 'yellow', plural(failed, 'record'))} went to dead-letter topics (see ${dir}/*.dead-letter.jsonl)\n`);
  if (late) io.err(`${paint(io, 'yellow', plural(late, 'late record'))} went to late-events topics (see ${dir}/*.late-events.jsonl)\n`);
}
