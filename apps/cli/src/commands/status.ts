/**
 * `ssdk status [NS/NAME]`: what the planner knows of the deployed dataflows: per operator the
 * live processes (heartbeats) and leases, records in/out since the planner started hearing
 * them, lag (stream sequences not yet committed) and watermark.
 */
import type { DataflowStatus } from '@ssdk/control-plane';
import type { CommandSpec, ParsedCommand } from '../args.ts';
import { serverFlags, serverOptions } from '../distributed.ts';
import { askPlanner, reportPlannerRefusal } from '../distributed-control.ts';
import { EXIT_OK } from '../exit-codes.ts';
import { paint, type CliIo } from '../io.ts';

const { partitions: _partitions, ...clientServerOptions } = serverOptions;

export const statusSpec: CommandSpec = {
  name: 'status',
  summary: 'Show deployed dataflows: per operator the live processes, leases, records in/out, lag and watermark.',
  usage: 'ssdk status [NS/NAME] [--json] [--nats URL] [--subject-prefix PREFIX]',
  options: {
    json: { type: 'boolean', description: 'print the status as JSON' },
    ...clientServerOptions,
  },
  maxPositionals: 1,
  examples: ['ssdk status', 'ssdk status examples/word-count', 'ssdk status examples/word-count --json | jq \'.[0].operators[] | {id, lag}\''],
};

export async function runStatus(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const flags = serverFlags(cmd, 'status');
  let reply: DataflowStatus[];
  try {
    reply = await askPlanner<DataflowStatus[]>(flags.natsUrl, flags.subjectPrefix, 'status', cmd.positionals[0] ? { dataflow: cmd.positionals[0] } : {});
  } catch (err) {
    const code = reportPlannerRefusal(err, io, 'status');
    if (code !== undefined) return code;
    throw err;
  }
  if (cmd.values['json']) {
    io.out(JSON.stringify(reply, null, 2) + '\n');
    return EXIT_OK;
  }
  if (reply.length === 0) {
    io.out(`no dataflow is deployed (subject prefix ${flags.subjectPrefix})\n`);
    return EXIT_OK;
  }
  io.out(reply.map((d) => renderStatus(d, io)).join('\n'));
  return EXIT_OK;
}

export function renderStatus(d: DataflowStatus, io: CliIo): string {
  const head = `${paint(io, 'bold', d.dataflow)}  version ${d.version}  plan ${d.hash.slice(0, 12)}  deployed ${new Date(d.deployedAt).toISOString()}  state ${d.stateSchema}  partitions ${d.partitions}\n`;
  const rows = [
    ['OPERATOR', 'KIND', 'PROCESSES', 'LEASES', 'IN', 'OUT', 'FAILED', 'LATE', 'LAG', 'WATERMARK', 'STATE'],
    ...d.operators.map((op) => [
      op.id,
      op.kind,
      String(op.processes),
      String(op.leases),
      String(op.recordsIn),
      String(op.recordsOut),
      String(op.failed),
      String(op.late),
      String(op.lag),
      op.watermark !== undefined ? new Date(op.watermark).toISOString() : op.state === 'ended' ? 'end of input' : '-',
      op.state,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  // One reason per refusal under the table: the same reason for every unit is said once.
  const reasons = [...new Set(d.operators.flatMap((op) => (op.refused ? [op.refused] : [])))];
  // A unit that cannot make progress says why, under the table, one line per unit.
  const failing = d.operators.filter((op) => (op.state === 'failing' || op.state === 'failed') && op.reason);
  return (
    head +
    rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('').trimEnd() + '\n').join('') +
    reasons.map((r) => `  ${paint(io, 'red', 'refused')}: ${r}\n`).join('') +
    failing.map((op) => `  ${paint(io, 'red', op.state)} ${op.id}: ${op.reason}\n`).join('')
  );
}
