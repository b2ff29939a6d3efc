/**
 * `ssdk redrive SERVICE FILE`: sends a service's dead letters back through the operator they came
 * from, after a fix — each to its own record's topic and partition (`@ssdk/runtime`'s
 * `redriveDeadLetters`), at most once: a redrive starts after the last one, and republished
 * messages carry ids the bus drops when repeated.
 */
import { parseDuration } from '@ssdk/spec';
import { planOrThrow } from '@ssdk/plan';
import { createNatsBus } from '@ssdk/bus';
import { ensurePlanTopics, planTopology, redriveDeadLetters, RedriveError } from '@ssdk/runtime';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { serverFlags, serverOptions } from '../distributed.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export const redriveSpec: CommandSpec = {
  name: 'redrive',
  summary: "Send a service's dead letters back through the operator they came from (after a fix), each once.",
  usage: 'ssdk redrive SERVICE FILE [--since DURATION|TIME] [--json] [--nats URL] [--subject-prefix PREFIX]',
  options: {
    since: { type: 'string', valueName: 'DURATION|TIME', description: 'only dead letters of records from this long ago (1h, 30m) or this time (ISO 8601) on, by their event time' },
    json: { type: 'boolean', description: 'print the counts as JSON' },
    ...serverOptions,
  },
  minPositionals: 2,
  maxPositionals: 2,
  examples: ['ssdk redrive count examples/word-count/services.yaml', 'ssdk redrive count examples/word-count/services.yaml --since 1h'],
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

export async function runRedrive(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const [service, file] = cmd.positionals as [string, string];
  const flags = serverFlags(cmd, 'redrive');
  const since = sinceOf(typeof cmd.values['since'] === 'string' ? cmd.values['since'] : undefined, Date.now());
  const { plan } = await planOrThrow(file, { subjectPrefix: flags.subjectPrefix, ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}) });
  const topology = await planTopology(plan);
  if (!topology.units.some((u) => u.service === service)) {
    throw new UsageError(`${file} has no service \`${service}\`: its services are ${[...new Set(topology.units.map((u) => `\`${u.service}\``))].join(', ')}`, 'redrive');
  }
  const bus = await createNatsBus({ servers: flags.natsUrl, subjectPrefix: flags.subjectPrefix, name: 'ssdk redrive' });
  try {
    await ensurePlanTopics(bus, plan, [...topology.topics.keys()].filter((id) => plan.topics.some((t) => t.id === id)));
    const r = await redriveDeadLetters({ bus, topology, service, ...(since !== undefined ? { since } : {}) });
    if (cmd.values['json']) io.out(JSON.stringify(r, null, 2) + '\n');
    else {
      const to = Object.entries(r.byTopic).map(([t, n]) => `${n} to ${t}`).join(', ');
      io.out(`redrove ${r.redriven} of ${r.read} dead letter${r.read === 1 ? '' : 's'} of ${service}${to ? ` (${to})` : ''}${r.older ? `; ${r.older} older than --since passed over` : ''}\n`);
      for (const s of r.skipped) io.out(`  skipped ${service}.dead-letter/${s.partition}:${s.seq}: ${s.why}\n`);
    }
  } catch (err) {
    if (err instanceof RedriveError) throw new UsageError(err.message, 'redrive');
    throw err;
  } finally {
    await bus.close();
  }
  return EXIT_OK;
}
