/**
 * A dataflow whose only source is a 200 ms schedule, embedded, its state in PostgreSQL (the
 * schema in argv): schedule.int.test.ts kills it with SIGKILL and starts it again.
 * Each tick's fire time becomes a key of `seen`, incremented once per tick that ran.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceFunctions } from '../functions.ts';
import { planDataflow } from '@ssdk/plan';
import { parseServicesFile } from '@ssdk/spec';
import { openPostgresStore } from '@ssdk/state';
import { startEmbedded } from '../embedded.ts';

export const TICKS_SERVICES = `apiVersion: 0.6.0
meta: {name: ticks, namespace: test, version: 0.1.0}
schedule:
  fast: {interval: 200ms}
services:
  ticker:
    sources: [{type: schedule, id: fast}]
    states:
      seen:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    transforms:
      - operator: map
        run: |
          function fireTime(tick: any): number {
            return tick.time;
          }
    partition:
      assign-key:
        run: |
          function byTime(t: number): string {
            return String(t);
          }
      update-state:
        run: |
          function countTick(t: number, ctx: Ctx): void {
            ctx.state('seen').increment(1);
          }
`;

const [connectionString, schema] = process.argv.slice(2);
if (connectionString && schema) {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-ticks-'));
  const file = join(dir, 'services.yaml');
  await writeFile(file, TICKS_SERVICES);
  const { dataflow } = parseServicesFile(TICKS_SERVICES, file);
  const { plan } = planDataflow(dataflow, { partitions: 1 });
  if (!plan) throw new Error('no plan');
  const store = await openPostgresStore({ connectionString, schema });
  // The store as `ssdk run` gives it: every unit committed together at consistent cuts, so a
  // tick's position and the state it changed land in one transaction.
  await startEmbedded({ plan, store, isolation: 'native', functions: { native: sourceFunctions(file, dataflow) } });
  process.stdout.write('started\n');
}
