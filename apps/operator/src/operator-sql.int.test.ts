/**
 * `ctx.sql` in operator services: a sandboxed window flush ranks the running totals another
 * unit committed to PostgreSQL with a SQL query (read-only, over the dataflow's state schema),
 * and a function that tries to write through it has its record dead-lettered with the reason.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, encodeFrame, encodeRecordFrames, readUtf8 } from '@ssdk/records';
import { CTX_SQL_SERVICES, testNats, testPostgres, writeServicesFile } from '@ssdk/testing';
import { ensurePlanTopics, runOperator } from './index.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('operator ctx.sql', () => {
  it('operator - a sandboxed flush ranks committed PostgreSQL state with SQL; a write is dead-lettered with the reason', async () => {
    const { dir, file } = await writeServicesFile(CTX_SQL_SERVICES);
    const nats = await testNats();
    const pg = await testPostgres();
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    cleanups.push(
      () => rm(dir, { recursive: true, force: true }),
      () => pg.cleanup(),
      async () => {
        await bus.destroy();
        await bus.close();
      },
    );
    const { plan } = await planOrThrow(file, { subjectPrefix: nats.prefix, partitions: 1 });
    await ensurePlanTopics(bus, plan, plan.topics.map((t) => t.id));
    const topic = (id: string) => plan.topics.find((t) => t.id === id)!;
    const produce = async (id: string, values: string[]) => {
      const records = values.map((v, i) => ({ key: null, value: JSON.stringify(v), timestamp: 1_000 + i }));
      await bus.publish(topic(id).name, 0, [...encodeRecordFrames(records, 900_000), encodeFrame({ kind: 'end' })].map((data) => ({ data })));
    };
    const read = async (id: string) => {
      const reader = bus.read(topic(id).name, 0);
      try {
        const out: unknown[] = [];
        for (const m of await reader.fetch(100, 1_000)) {
          const f = decodeFrame(m.data);
          if (f.kind === 'data') for (const r of f.records) out.push(JSON.parse(readUtf8(r.value)));
        }
        return out;
      } finally {
        await reader.close();
      }
    };
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    // The machine's component cache of the tests; the build goes beside the services file.
    const componentCache = process.env['SSDK_COMPONENT_CACHE'] ?? join(tmpdir(), 'ssdk-test-components');
    const run = (operatorId: string) =>
      runOperator({ file, operatorId, natsUrl: nats.url, databaseUrl: pg.connectionString, schema: pg.schema, subjectPrefix: nats.prefix, partitions: 1, componentCache, telemetry: false, signal: abort.signal });
    const units = (service: string) => plan.operators.filter((op) => op.service === service).map((op) => run(op.id));

    // The totals are committed before the window that reads them closes.
    const tally = units('tally');
    await produce('words', ['pear', 'apple', 'pear', 'fig', 'apple', 'pear']);
    expect((await Promise.all(tally)).map((r) => r.ended)).toEqual(tally.map(() => true));
    const leaders = units('leaders');
    const vandal = units('vandal');
    await produce('ticks', ['a']);
    await produce('attempts', ['DELETE FROM tally_totals', 'SELECT count(*) AS n FROM tally_totals']);
    expect((await Promise.all([...leaders, ...vandal])).map((r) => r.ended)).toEqual([...leaders, ...vandal].map(() => true));

    expect(await read('leaders')).toEqual([[{ word: 'pear', total: 3 }, { word: 'apple', total: 2 }]]);
    expect(await read('written')).toEqual(['SELECT count(*) AS n FROM tally_totals']);
    const dead = (await read('vandal.dead-letter')) as Array<{ operator: string; reason: string }>;
    expect(dead.map((d) => d.operator)).toEqual(['vandal.erase']);
    expect(dead[0]!.reason).toContain('DELETE is not allowed');
  }, 300_000);
});
