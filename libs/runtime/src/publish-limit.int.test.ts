/**
 * A publish the server would refuse after the function ran — a record larger than the NATS
 * server's own `max_payload` — is dead-lettered with the reason and the record's own offset; its
 * state change is not applied and the partition goes on (issue 14 part 3). Before, the operator
 * made frames of 900 kB whatever the server allowed, the publish was refused, and the operator
 * failed on the same batch after every restart. A private nats-server (a free port) with
 * `max_payload: 64KB`, so the real one keeps its settings.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { encodeFrame, encodeRecords } from '@ssdk/records';
import { dataflowSchema, openPostgresStore } from '@ssdk/state';
import { PrivateNatsServer, testPostgres } from '@ssdk/testing';
import { cleanupsAfterAll, planNative, readTopic } from './dataflow.testkit.ts';
import { runOperator } from './operator.ts';

const NAME = `h1-limit-${randomBytes(3).toString('hex')}`;
const SERVICES = `apiVersion: 0.5.0
meta: {name: ${NAME}, namespace: test, version: 0.1.0}
topics:
  words: {schema: {value: {type: string}}}
  grown: {schema: {value: {type: string}}}
services:
  grow:
    sources: [{type: topic, id: words}]
    states:
      per-word:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    partition:
      assign-key:
        run: |
          function byWord(w: string): string {
            return w;
          }
      update-state:
        run: |
          function addUp(w: string, ctx: Ctx): void {
            ctx.state('per-word').increment(1);
          }
      transforms:
        - operator: map
          run: |
            function grow(w: string): string {
              // 100 kB: over this server's 64 kB max_payload, far under the default 1 MB.
              return w === 'big' ? 'x'.repeat(100_000) : w.repeat(1_000);
            }
    sinks: [{type: topic, id: grown}]
`;

const cleanups = cleanupsAfterAll();

describe('runtime - publishing within the server limits', () => {
  it('runtime - a record over the server max_payload is dead-lettered with its offset, its state change not applied, and the rest goes on', async () => {
    const server = new PrivateNatsServer('h1-limit', { config: 'max_payload: 65536\n' });
    await server.start();
    cleanups.push(() => server.dispose());
    const pg = await testPostgres({ prefix: 'h1_limit' });
    cleanups.push(() => pg.cleanup());
    const { file, plan } = await planNative(SERVICES, { fuse: true });
    const operatorId = plan.operators[0]!.id;
    const topicName = (id: string) => plan.topics.find((t) => t.id === id)!.name;
    const bus = await createNatsBus({ servers: server.url, subjectPrefix: 'h1lim' });
    cleanups.push(() => bus.close());
    expect(bus.maxPayload()).toBe(65_536);
    await bus.ensureTopic({ name: 'words', partitions: 1 });
    // 'a'.repeat(1000) ×60 = 60 kB of outputs from one message: more than one frame of this server.
    const words = ['a', 'big', 'b', ...Array.from({ length: 60 }, () => 'a')];
    await bus.publish('words', 0, [{ data: encodeRecords(words.map((w) => ({ key: null, value: JSON.stringify(w), timestamp: 1_000 }))) }, { data: encodeFrame({ kind: 'end' }) }]);

    const result = await runOperator({ file, operatorId, natsUrl: server.url, databaseUrl: pg.connectionString, subjectPrefix: 'h1lim', partitions: 1, fuse: true, isolation: 'native', telemetry: false, signal: new AbortController().signal });
    expect(result.ended).toBe(true);
    const out = await readTopic(bus, topicName('grown'));
    expect(out).toHaveLength(words.length - 1);
    expect(out.every((v) => typeof v === 'string' && v.length === 1_000)).toBe(true);
    const dead = (await readTopic(bus, topicName('grow.dead-letter'))) as Array<{ reason: string; input: { topic: string; partition: number; seq: number; index: number } }>;
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^grow\.add-up produced a record of \d+ bytes for topic `grown`, over the frame limit of 61440 bytes/);
    expect(dead[0]!.input).toEqual({ topic: 'words', partition: 0, seq: 1, index: 1 });
    // records in = out + dead letters; 'big' was counted by none.
    const snapshot = result.metrics.snapshot();
    expect(snapshot.recordsIn).toBe(words.length);
    expect(snapshot.recordsOut + snapshot.failed).toBe(words.length);
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: dataflowSchema('test', NAME, 'h1lim') });
    cleanups.push(async () => {
      await store.destroy();
      await store.close();
    });
    const rows = await store.query(`SELECT _key, value FROM per_word ORDER BY _key`, []);
    expect(rows).toEqual([
      { _key: 'a', value: 61 },
      { _key: 'b', value: 1 },
    ]);
  }, 120_000);
});
