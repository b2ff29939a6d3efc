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
import { ticksServices } from './ticks.ts';

const [connectionString, schema] = process.argv.slice(2);
if (connectionString && schema) {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-ticks-'));
  const file = join(dir, 'services.yaml');
  const services = ticksServices({ sink: false });
  await writeFile(file, services);
  const { dataflow } = parseServicesFile(services, file);
  const { plan } = planDataflow(dataflow, { partitions: 1 });
  if (!plan) throw new Error('no plan');
  const store = await openPostgresStore({ connectionString, schema });
  // The store as `ssdk run` gives it: every unit committed together at consistent cuts, so a
  // tick's position and the state it changed land in one transaction.
  await startEmbedded({ plan, store, isolation: 'native', functions: { native: sourceFunctions(file, dataflow) } });
  process.stdout.write('started\n');
}
