import { writeFile } from 'node:fs/promises';
import { planServicesFile, renderPlanDot, renderPlanMermaid, renderPlanText, type PhysicalPlan } from '@ssdk/plan';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { printDiagnostics } from '../diagnostics.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

const FORMATS = ['text', 'json', 'dot', 'mermaid'] as const;
type Format = (typeof FORMATS)[number];

export const planSpec: CommandSpec = {
  name: 'plan',
  summary: 'Show the physical plan of a dataflow: operator services, topics and subjects, edges, state tables.',
  usage: 'ssdk plan FILE [--format text|json|dot|mermaid] [--fuse] [--partitions N] [--output PATH]',
  options: {
    format: { type: 'string', short: 'f', valueName: 'FORMAT', description: 'text, json (the plan document), dot or mermaid', default: 'text' },
    fuse: { type: 'boolean', description: 'fuse runs of stateless steps into one operator service' },
    partitions: { type: 'string', valueName: 'N', description: "partitions per topic (overrides the file's config.partitions)" },
    output: { type: 'string', short: 'o', valueName: 'PATH', description: 'write the plan to PATH instead of stdout' },
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: [
    'ssdk plan examples/word-count/services.yaml',
    'ssdk plan examples/word-count/services.yaml --format json > plan.json',
    'ssdk plan examples/car-sensors/services.yaml --format dot | dot -Tsvg > plan.svg',
    'ssdk plan examples/word-count/services.yaml --fuse --partitions 4',
  ],
};

export async function runPlan(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const format = String(cmd.values['format']);
  if (!isFormat(format)) throw new UsageError(`unknown format \`${format}\`: use one of ${FORMATS.join(', ')}`, 'plan');
  const partitions = cmd.values['partitions'] === undefined ? undefined : parsePartitions(String(cmd.values['partitions']));
  const file = cmd.positionals[0]!;
  const planned = await planServicesFile(file, {
    purpose: 'show',
    ...(cmd.values['fuse'] ? { fuse: true } : {}),
    ...(partitions !== undefined ? { partitions } : {}),
  });
  printDiagnostics(io, planned.diagnostics);
  if (!planned.plan) return EXIT_USER_ERROR;
  const text = render(planned.plan, format);
  const output = cmd.values['output'];
  if (typeof output === 'string') await writeFile(output, text);
  else io.out(text);
  return EXIT_OK;
}

function render(plan: PhysicalPlan, format: Format): string {
  switch (format) {
    case 'json':
      return JSON.stringify(plan, null, 2) + '\n';
    case 'text':
      return renderPlanText(plan);
    case 'dot':
      return renderPlanDot(plan);
    case 'mermaid':
      return renderPlanMermaid(plan);
    default: {
      const never: never = format;
      return never;
    }
  }
}

function isFormat(f: string): f is Format {
  return (FORMATS as readonly string[]).includes(f);
}

function parsePartitions(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--partitions must be an integer from 1 to 1024, got \`${v}\``, 'plan');
  return n;
}
