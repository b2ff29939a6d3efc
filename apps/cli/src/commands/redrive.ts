/**
 * `ssdk redrive SERVICE FILE`: sends a service's dead letters back through the operator they came
 * from, after a fix — each to its own record's topic and partition (`@ssdk/runtime`'s
 * `redriveDeadLetters`), at most once: a redrive starts after the last one, and republished
 * messages carry ids the bus drops when repeated.
 *
 * Three places a dataflow's dead letters live, one command:
 * - on NATS (the default): a stack run from FILE (`ssdk up`), the plan made from FILE;
 * - on NATS, the plan from the planner's tables (`--dataflow NS/NAME`, as `ssdk operator` takes
 *   it): no services file needed;
 * - in an embedded run's state (`--embedded`): what `ssdk run` stored at its commits. The dataflow
 *   runs here, on that state, just long enough to process the records sent back.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDuration } from '@ssdk/spec';
import { planOrThrow, type PhysicalPlan } from '@ssdk/plan';
import { createNatsBus } from '@ssdk/bus';
import { loadDeployedRecord } from '@ssdk/control-plane';
import { formatJsonLine } from '@ssdk/records';
import { ensurePlanTopics, planTopology, redriveDeadLetters, RedriveError, type RedriveResult } from '@ssdk/runtime';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { isolationOptions, serverFlags, serverOptions } from '../distributed.ts';
import { controlSchemaOf, controlSchemaOption, deployedDataflowOf, postgresOption, postgresUrlOf } from '../distributed-control.ts';
import { collectOutputs, isolationFlag, openSession, SessionError } from '../embedded-session.ts';
import { printDiagnostics } from '../diagnostics.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export const redriveSpec: CommandSpec = {
  name: 'redrive',
  summary: "Send a service's dead letters back through the operator they came from (after a fix), each once: on NATS, or an embedded run's (--embedded).",
  usage:
    'ssdk redrive SERVICE FILE [--since DURATION|TIME] [--json] [--nats URL] [--subject-prefix PREFIX]  |  ssdk redrive SERVICE --dataflow NS/NAME [--postgres URL]  |  ssdk redrive SERVICE FILE --embedded [--output-dir DIR] [--state-dir DIR]',
  options: {
    since: { type: 'string', valueName: 'DURATION|TIME', description: 'only dead letters of records from this long ago (1h, 30m) or this time (ISO 8601) on, by their event time' },
    json: { type: 'boolean', description: 'print the counts as JSON' },
    dataflow: { type: 'string', valueName: 'NS/NAME', description: 'a deployed dataflow (`ssdk deploy`): its plan comes from the planner\'s tables, no FILE (default: $SSDK_DATAFLOW when no FILE is given)' },
    embedded: { type: 'boolean', description: 'the dead letters of embedded runs of FILE (`ssdk run`, state under --state-dir): the dataflow runs here on that state until the records sent back are processed and committed' },
    'output-dir': { type: 'string', short: 'o', valueName: 'DIR', description: 'with --embedded: append what the records sent back produced to DIR/<topic>.jsonl (dead letters that failed again too)' },
    'output-records': { type: 'boolean', description: 'with --output-dir: write records {"key","value","timestamp","headers"} instead of bare values' },
    'state-dir': { type: 'string', valueName: 'DIR', description: 'with --embedded: where the run kept its state (default: .ssdk/ beside the services file, or $SSDK_HOME)' },
    ...isolationOptions,
    ...serverOptions,
    ...postgresOption,
    ...controlSchemaOption,
  },
  minPositionals: 1,
  maxPositionals: 2,
  examples: [
    'ssdk redrive count examples/word-count/services.yaml',
    'ssdk redrive count examples/word-count/services.yaml --since 1h',
    'ssdk redrive count --dataflow examples/word-count',
    'ssdk redrive count examples/word-count/services.yaml --embedded -o out/word-count',
  ],
};

/** `--since`: a duration back from `now`, or a time. */
export function sinceOf(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const back = parseDuration(text);
  if (back !== undefined) return now - back;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new UsageError(`--since takes a duration such as 1h or 30m, or a time such as 2026-12-06T10:00:00Z, got \`${text}\``, 'redrive');
  return at;
}

function noSuchService(where: string, service: string, services: readonly string[]): UsageError {
  return new UsageError(`${where} has no service \`${service}\`: its services are ${[...new Set(services.map((s) => `\`${s}\``))].join(', ')}`, 'redrive');
}

export async function runRedrive(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const [service, file] = cmd.positionals as [string, string | undefined];
  const since = sinceOf(typeof cmd.values['since'] === 'string' ? cmd.values['since'] : undefined, Date.now());
  const flagged = typeof cmd.values['dataflow'] === 'string' ? cmd.values['dataflow'] : undefined;
  if (flagged !== undefined && file !== undefined) throw new UsageError('give FILE or --dataflow NS/NAME, not both', 'redrive');
  const embedded = cmd.values['embedded'] === true;
  if (!embedded) {
    for (const flag of ['output-dir', 'output-records', 'state-dir', 'native', 'sandbox'] as const) {
      if (cmd.values[flag] !== undefined) throw new UsageError(`--${flag} is for --embedded (on NATS, the operators already running process the records sent back)`, 'redrive');
    }
  }
  if (embedded) {
    if (file === undefined) throw new UsageError('--embedded needs the services FILE of the run', 'redrive');
    if (flagged !== undefined) throw new UsageError('--dataflow names a deployed dataflow; --embedded the runs of a services file: give one', 'redrive');
    return redriveEmbedded(cmd, io, service, file, since);
  }
  const dataflowRef = file === undefined ? deployedDataflowOf(cmd.values) : undefined;
  if (file === undefined && dataflowRef === undefined) throw new UsageError('give the services FILE, or --dataflow NS/NAME of a deployed dataflow', 'redrive');
  const flags = serverFlags(cmd, 'redrive');
  let plan: PhysicalPlan;
  let where: string;
  if (file !== undefined) {
    ({ plan } = await planOrThrow(file, { subjectPrefix: flags.subjectPrefix, ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}) }));
    where = file;
  } else {
    // The deployed plan knows its own subject prefix and partitions: the flags do not re-plan it.
    const deployment = await loadDeployedRecord({ databaseUrl: postgresUrlOf(cmd.values), dataflow: dataflowRef!, controlSchema: controlSchemaOf(cmd.values, flags.subjectPrefix) });
    plan = deployment.plan;
    where = `${deployment.namespace}/${deployment.name}`;
  }
  const topology = await planTopology(plan);
  if (!topology.units.some((u) => u.service === service)) {
    throw noSuchService(where, service, topology.units.map((u) => u.service));
  }
  const bus = await createNatsBus({ servers: flags.natsUrl, subjectPrefix: plan.options.subjectPrefix, name: 'ssdk redrive' });
  try {
    await ensurePlanTopics(bus, plan, [...topology.topics.keys()].filter((id) => plan.topics.some((t) => t.id === id)));
    report(io, cmd, service, await redriveDeadLetters({ bus, topology, service, ...(since !== undefined ? { since } : {}) }));
  } catch (err) {
    if (err instanceof RedriveError) throw new UsageError(err.message, 'redrive');
    throw err;
  } finally {
    await bus.close();
  }
  return EXIT_OK;
}

/**
 * `--embedded`: the run's state (PGlite under the state dir) is opened as `ssdk run --resume`
 * would, but nothing is replayed and the sinks' stored outputs stay as they are; the dead letters
 * that the run's commits stored go back through the units here, and the redrive's mark is
 * committed with what they did.
 */
async function redriveEmbedded(cmd: ParsedCommand, io: CliIo, service: string, file: string, since: number | undefined): Promise<number> {
  const stateDir = typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined;
  const outputDir = typeof cmd.values['output-dir'] === 'string' ? cmd.values['output-dir'] : undefined;
  let session;
  try {
    session = await openSession({
      file,
      checkpoints: { kind: 'pglite', fresh: false, ...(stateDir ? { stateDir } : {}) },
      ...(stateDir ? { stateDir } : {}),
      isolation: isolationFlag(cmd, 'redrive'),
      onBuild: (line: string) => void (/^(building|built) /.test(line) && io.err(`${line}\n`)),
      keepOutputs: true,
    });
  } catch (err) {
    if (err instanceof SessionError) {
      printDiagnostics(io, err.diagnostics);
      io.err(`${file}: nothing was redriven\n`);
      return EXIT_USER_ERROR;
    }
    throw err;
  }
  try {
    if (!session.plan.operators.some((op) => op.service === service)) {
      throw noSuchService(file, service, session.plan.operators.map((op) => op.service));
    }
    const r = await session.df.redrive(service, since !== undefined ? { since } : {});
    report(io, cmd, service, r);
    if (outputDir !== undefined) {
      const asRecords = cmd.values['output-records'] === true;
      const written: string[] = [];
      for (const [topic, records] of await collectOutputs(session)) {
        if (records.length === 0) continue;
        await mkdir(outputDir, { recursive: true });
        const lines = records.map((x) => formatJsonLine({ key: x.key, value: x.value, timestamp: x.timestamp, ...(x.headers ? { headers: x.headers } : {}) }, asRecords));
        await appendFile(join(outputDir, `${topic}.jsonl`), lines.join('\n') + '\n');
        written.push(`${topic} (${records.length})`);
      }
      if (written.length > 0) io.err(`appended ${written.join(', ')} to ${outputDir}\n`);
    }
  } finally {
    await session.close();
  }
  return EXIT_OK;
}

function report(io: CliIo, cmd: ParsedCommand, service: string, r: RedriveResult): void {
  if (cmd.values['json']) {
    io.out(JSON.stringify(r, null, 2) + '\n');
    return;
  }
  const to = Object.entries(r.byTopic).map(([t, n]) => `${n} to ${t}`).join(', ');
  io.out(`redrove ${r.redriven} of ${r.read} dead letter${r.read === 1 ? '' : 's'} of ${service}${to ? ` (${to})` : ''}${r.older ? `; ${r.older} older than --since passed over` : ''}\n`);
  for (const s of r.skipped) io.out(`  skipped ${service}.dead-letter/${s.partition}:${s.at}: ${s.why}\n`);
}
