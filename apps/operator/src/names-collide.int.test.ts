/**
 * Dataflow names that differ only in punctuation (`pipe-a`, `pipe_a`) once shared one state
 * schema — offsets, leases and state — so the second one skipped all 20,000 of its records as
 * already done. Here both run distributed (operators over NATS JetStream and PostgreSQL, the
 * state schema derived from the name, not given), 20,000 records each, the same service and
 * operator ids: both finish with all their records and their own counts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, encodeFrame, encodeRecordFrames } from '@ssdk/records';
import { dataflowSchema, openPostgresDatabase, sqlRoleOf } from '@ssdk/state';
import { testNats, testPostgres } from '@ssdk/testing';
import { ensurePlanTopics, runOperator } from './index.ts';

const RECORDS = 20_000;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const services = (name: string, tag: string) => `apiVersion: 0.5.0
meta: {name: ${name}, namespace: h6, version: 0.1.0}
config:
  converter: json
topics:
  in-${tag}: {schema: {value: {type: string}}}
  out-${tag}: {schema: {key: {type: string}, value: {type: string}}}
services:
  counter:
    sources: [{type: topic, id: in-${tag}}]
    states:
      counts:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: u32}
    partition:
      assign-key:
        run: |
          function bucket(v: string): string {
            return v.slice(-1);
          }
      update-state:
        run: |
          function count(v: string, ctx: Ctx): void {
            ctx.state('counts').increment();
          }
    sinks: [{type: topic, id: out-${tag}}]
`;

async function readAll(bus: NatsBus, topic: string): Promise<number> {
  const reader = bus.read(topic, 0);
  let n = 0;
  try {
    for (;;) {
      const messages = await reader.fetch(512, 2_000);
      if (messages.length === 0) return n;
      for (const m of messages) {
        const f = decodeFrame(m.data);
        if (f.kind === 'data') n += f.records.length;
      }
      await reader.ack(messages.at(-1)!.seq);
    }
  } finally {
    await reader.close();
  }
}

describe('names that cannot collide', () => {
  it('operator - dataflows pipe-a and pipe_a run distributed side by side, 20,000 records each: both complete, each with its own state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-h6-names-'));
    const nats = await testNats();
    const pg = await testPostgres();
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    const db = openPostgresDatabase({ connectionString: pg.connectionString });
    cleanups.push(
      () => rm(dir, { recursive: true, force: true }),
      () => pg.cleanup(),
      async () => {
        await bus.destroy();
        await bus.close();
      },
      () => db.close(),
    );
    const flows = [
      { name: 'pipe-a', tag: 'a' },
      { name: 'pipe_a', tag: 'b' },
    ];
    const schemas = flows.map((f) => dataflowSchema('h6', f.name, nats.prefix));
    expect(new Set(schemas).size).toBe(2);
    cleanups.push(async () => {
      for (const s of schemas) {
        await db.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
        await db.query(`DROP ROLE IF EXISTS "${sqlRoleOf(s)}"`);
      }
    });

    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const runs: Array<Promise<{ ended: boolean }>> = [];
    for (const f of flows) {
      const file = join(dir, `${f.tag}.yaml`);
      await writeFile(file, services(f.name, f.tag));
      const { plan } = await planOrThrow(file, { subjectPrefix: nats.prefix, partitions: 1 });
      await ensurePlanTopics(bus, plan, plan.topics.map((t) => t.id));
      const input = plan.topics.find((t) => t.id === `in-${f.tag}`)!.name;
      const records = Array.from({ length: RECORDS }, (_, i) => ({ key: null, value: JSON.stringify(`${f.tag}${i}`), timestamp: 1_000 + i }));
      const frames = [...encodeRecordFrames(records, 900_000), encodeFrame({ kind: 'end' })];
      for (let i = 0; i < frames.length; i += 256) await bus.publish(input, 0, frames.slice(i, i + 256).map((data) => ({ data })));
      // No schema given: each derives its own from its name, as a deployed one does.
      for (const op of plan.operators) {
        runs.push(runOperator({ file, operatorId: op.id, natsUrl: nats.url, databaseUrl: pg.connectionString, subjectPrefix: nats.prefix, partitions: 1, isolation: 'native', telemetry: false, signal: abort.signal }));
      }
    }
    expect((await Promise.all(runs)).map((r) => r.ended)).toEqual(runs.map(() => true));

    for (const [i, f] of flows.entries()) {
      const { plan } = await planOrThrow(join(dir, `${f.tag}.yaml`), { subjectPrefix: nats.prefix, partitions: 1 });
      expect(await readAll(bus, plan.topics.find((t) => t.id === `out-${f.tag}`)!.name)).toBe(RECORDS);
      // Ten buckets (the last digit), 2,000 records each, in this dataflow's schema only.
      const counts = await db.query<{ n: number }>(`SELECT count(*)::int AS n, sum(value::text::numeric)::int AS total FROM "${schemas[i]}".counter_counts`);
      expect(counts).toEqual([{ n: 10, total: RECORDS }]);
    }
  }, 600_000);
});
