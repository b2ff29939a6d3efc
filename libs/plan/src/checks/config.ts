/** ssdk's own settings under `config`. */
import type { Diagnostic } from '@ssdk/spec';
import { diagnostic } from '../diagnostics.ts';
import type { DataflowGraph } from '../graph.ts';
import { isValidPartitions, MAX_PARTITIONS } from '../options.ts';

export function checkConfig({ dataflow: df }: DataflowGraph): Diagnostic[] {
  const partitions = df.config.settings.partitions;
  if (partitions === undefined || isValidPartitions(partitions)) return [];
  // The model keeps no position for `config`; the dataflow's `meta` is the nearest one.
  return [
    diagnostic(
      'invalid-partitions',
      df.meta.pos,
      `\`config.partitions\` is ${String(partitions)}, not an integer from 1 to ${MAX_PARTITIONS}`,
      'set `config.partitions` to the number of partitions each topic gets, such as 8',
    ),
  ];
}
