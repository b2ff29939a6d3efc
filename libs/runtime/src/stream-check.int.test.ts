/**
 * Offsets that no longer match their stream are never skipped silently (issue 14 part 7), on real
 * NATS JetStream and PostgreSQL: the same dataflow under a fresh subject prefix has its own state
 * schema (so all of its records are processed), and a stream deleted and made again stops the
 * operator with the reason and the ways on, until it is started with `resetOffsets`.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { encodeFrame, encodeRecords } from '@ssdk/records';
import { dataflowSchema, openPostgresStore } from '@ssdk/state';
import { testNats, testPostgres } from '@ssdk/testing';
import { bumpServices, cleanupsAfterAll, planNative, readTopic } from './dataflow.testkit.ts';
import { runOperator } from './operator.ts';
import { StreamMismatchError, streamsRowOf } from './stream-check.ts';

const NAME = `h6-streams-${randomBytes(3).toString('hex')}`;
const SERVICES = bumpServices(NAME);
const RECORDS = 1_450;

const cleanups = cleanupsAfterAll();

async function produce(bus: NatsBus, n: number, from = 0): Promise<void> {
  await bus.ensureTopic({ name: 'nums', partitions: 1 });
  const records = Array.from({ length: n }, (_, i) => ({ key: null, value: String(from + i), timestamp: 1_000 + i }));
  await bus.publish('nums', 0, [{ data: encodeRecords(records) }, { data: encodeFrame({ kind: 'end' }) }]);
}

const count = async (bus: NatsBus, topic: string): Promise<number> => (await readTopic(bus, topic)).length;

describe('runtime - offsets against their streams', () => {
  it('runtime - a fresh subject prefix processes every record; a stream made again stops the operator until --reset-offsets', async () => {
    const { file, plan } = await planNative(SERVICES);
    const operatorId = plan.operators[0]!.id;
    const nats = await testNats({ prefix: 'h6_streams' });
    const pg = await testPostgres({ prefix: 'h6_streams' });
    cleanups.push(() => pg.cleanup());
    const prefixes = [`${nats.prefix}_a`, `${nats.prefix}_b`];
    const buses = await Promise.all(prefixes.map((subjectPrefix) => createNatsBus({ servers: nats.url, subjectPrefix })));
    for (const [i, bus] of buses.entries()) {
      cleanups.push(async () => {
        await bus.destroy();
        const store = await openPostgresStore({ connectionString: pg.connectionString, schema: dataflowSchema('test', NAME, prefixes[i]) });
        await store.destroy();
        await store.close();
      });
    }
    // No schema given: each prefix's default one.
    const operate = (subjectPrefix: string, resetOffsets = false) =>
      runOperator({ file, operatorId, natsUrl: nats.url, databaseUrl: pg.connectionString, subjectPrefix, partitions: 1, isolation: 'native', signal: new AbortController().signal, telemetry: false, resetOffsets });

    // The same dataflow name under two prefixes: each one processes all of its records.
    for (const [i, bus] of buses.entries()) {
      await produce(bus, RECORDS);
      expect((await operate(prefixes[i]!)).ended).toBe(true);
      expect(await count(bus, 'out')).toBe(RECORDS);
    }
    expect(dataflowSchema('test', NAME, prefixes[0])).not.toBe(dataflowSchema('test', NAME, prefixes[1]));

    // The input stream deleted and made again with fewer records: their sequences are at or
    // below the committed offset, which would skip them all. The operator stops and says why.
    const [bus] = buses as [NatsBus, NatsBus];
    await bus.deleteTopic('nums');
    await produce(bus, 10, 5_000);
    const stopped = await operate(prefixes[0]!).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(stopped).toBeInstanceOf(StreamMismatchError);
    expect((stopped as Error).message).toMatch(/the stream of topic `nums` \(\S+\) was made again: created \S+, the offsets were committed against the one created \S+/);
    expect((stopped as Error).message).toContain('--reset-offsets');
    expect((stopped as Error).message).toContain('--reset-state');
    expect(await count(bus, 'out')).toBe(RECORDS);

    // --reset-offsets: read from the start of the new stream, the 10 records come out.
    const reset = await operate(prefixes[0]!, true);
    expect(reset.ended).toBe(true);
    expect(await count(bus, 'out')).toBe(RECORDS + 10);
    // And a restart after that is a plain resume (the new stream is the one recorded).
    const again = await operate(prefixes[0]!);
    expect(again.ended).toBe(true);
    expect(await count(bus, 'out')).toBe(RECORDS + 10);

    // Offsets committed before streams were recorded (no record of which stream): an offset
    // above the stream's last sequence still stops the operator.
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: dataflowSchema('test', NAME, prefixes[0]) });
    await store.commit({ writes: [], offsets: [{ operator: streamsRowOf(operatorId), partition: 0, seq: 0, meta: { streams: {} } }] });
    await store.close();
    await bus.deleteTopic('nums');
    await bus.ensureTopic({ name: 'nums', partitions: 1 });
    await bus.publish('nums', 0, [{ data: encodeFrame({ kind: 'end' }) }]);
    await expect(operate(prefixes[0]!)).rejects.toThrow(/the committed offset 2 of topic `nums` partition 0 is ahead of its stream \S+ \(last sequence 1\)/);
  }, 120_000);
});
