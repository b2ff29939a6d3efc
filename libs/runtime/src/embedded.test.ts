import { describe, expect, it } from 'vitest';
import { openPostgresStore, type StateStore } from '@ssdk/state';
import { testPostgres } from '@ssdk/testing';
import { memoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
import { startEmbedded, type ProduceRecord } from './embedded.ts';
import { keyPartition } from './topology.ts';
import { cleanupsAfterAll, planNative, readTopic } from './dataflow.testkit.ts';

const SERVICES = `apiVersion: 0.5.0
meta: {name: counts, namespace: test, version: 0.1.0}
types:
  reading:
    type: object
    properties:
      sensor: {type: string}
      value: {type: u8}
  total:
    type: object
    properties:
      sensor: {type: string}
      sum: {type: u32}
topics:
  readings: {schema: {value: {type: reading}}}
  checked: {schema: {value: {type: reading}}}
  totals: {schema: {value: {type: list, items: {type: total}}}}
services:
  check:
    sources: [{type: topic, id: readings}]
    states:
      per-sensor:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    transforms:
      - operator: map
        run: |
          function validate(r: Reading): Reading {
            if (r.sensor === 'broken') throw new Error('sensor is broken');
            return r;
          }
    partition:
      assign-key:
        run: |
          function bySensor(r: Reading): string {
            return r.sensor;
          }
      update-state:
        run: |
          function addUp(r: Reading, ctx: Ctx): void {
            ctx.state('per-sensor').increment(r.value);
          }
    sinks: [{type: topic, id: checked}]
  window-totals:
    sources: [{type: topic, id: checked}]
    states:
      in-window:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    window:
      tumbling: {duration: 10s}
      watermark: {grace-period: 1s}
      assign-timestamp:
        run: |
          function eventTime(r: Reading, t: number): number {
            return t;
          }
      partition:
        assign-key:
          run: |
            function windowKey(r: Reading): string {
              return r.sensor;
            }
        update-state:
          run: |
            function sumInWindow(r: Reading, ctx: Ctx): void {
              ctx.state('in-window').increment(r.value);
            }
      flush:
        run: |
          function totals(ctx: Ctx): Total[] {
            const out: Total[] = [];
            for (const [sensor, sum] of ctx.state('in-window').entries()) out.push({ sensor: String(sensor), sum: sum as number });
            return out.sort((a, b) => a.sensor.localeCompare(b.sensor));
          }
    sinks: [{type: topic, id: totals}]
`;

const cleanups = cleanupsAfterAll();

/** Starts the dataflow on `checkpoints`, or committing to `store` at consistent cuts (`replayInputs`: a resumed run on the same input). */
async function start(checkpoints: CheckpointStore = memoryCheckpointStore(), store?: { store: StateStore; replayInputs: boolean }) {
  const { plan, functions } = await planNative(SERVICES);
  return startEmbedded({ plan, ...(store ? store : { checkpoints }), isolation: 'native', functions });
}

const T0 = 1_736_154_000_000;
const reading = (sensor: string, value: number, dt: number): ProduceRecord => ({ value: { sensor, value }, timestamp: T0 + dt });

const INPUT: ProduceRecord[] = [
  reading('a', 1, 0),
  reading('b', 2, 1_000),
  reading('a', 3, 9_000),
  reading('a', 4, 12_000),
  reading('b', 5, 15_000),
  reading('a', 6, 21_000),
  reading('b', 7, 2_000), // 2 s into the first window while the watermark is at 20 s: late
  reading('a', 8, 31_000),
];

describe('runtime - embedded', () => {
  it('runtime - runs every stage: keyed state, windows, flush, late events', async () => {
    const df = await start();
    await df.produce('readings', INPUT);
    await df.endInput();
    await df.ended();
    expect((await df.read('totals')).map((r) => r.value)).toEqual([
      [{ sensor: 'a', sum: 4 }, { sensor: 'b', sum: 2 }],
      [{ sensor: 'a', sum: 4 }, { sensor: 'b', sum: 5 }],
      [{ sensor: 'a', sum: 6 }],
      [{ sensor: 'a', sum: 8 }],
    ]);
    expect((await df.read('window-totals.late-events')).map((r) => [r.value, r.headers?.['ssdk-reason']?.slice(0, 5)])).toEqual([[{ sensor: 'b', value: 7 }, 'late:']]);
    expect((await df.read('checked')).length).toBe(8);
    const m = df.metrics().find((x) => x.operator === 'window-totals.sum-in-window')!;
    expect(m).toMatchObject({ recordsIn: 8, recordsOut: 4, late: 1, failed: 0, state: 'ended' });
    await df.stop();
  });

  it('runtime - produce: keyless records go round the partitions from call to call, keyed ones by their key, each partition in order, in batches of produceBatch', async () => {
    const { plan, functions } = await planNative(SERVICES, { partitions: 3 });
    const df = await startEmbedded({ plan, functions, isolation: 'native', produceBatch: 2 });
    const topic = df.topicOf('readings');
    expect(topic.partitions).toBe(3);
    const keyless = (value: number): ProduceRecord => ({ value: { sensor: 's', value }, timestamp: value });
    // Keyed records in between take their key's partition and move no keyless record along.
    await df.produce('readings', [keyless(0), keyless(1), { key: 'k', value: { sensor: 'k', value: 100 }, timestamp: 100 }, keyless(2), keyless(3), keyless(4), keyless(5), keyless(6)]);
    await df.produce('readings', [keyless(7), { key: 'k', value: { sensor: 'k', value: 101 }, timestamp: 101 }, keyless(8), keyless(9)]);
    const k = keyPartition(topic, 'k');
    const held = await Promise.all([0, 1, 2].map(async (p) => (await readTopic(df.bus, topic, p)).map((v) => (v as { value: number }).value)));
    const expected: number[][] = [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]];
    expected[k] = [...expected[k]!, 100, 101].sort((a, b) => a - b);
    // Order within a partition is the order given: the keyed record of each call falls where it was given.
    const inOrder = (p: number) => [0, 1, 100, 2, 3, 4, 5, 6, 7, 101, 8, 9].filter((v) => expected[p]!.includes(v));
    expect(held).toEqual([0, 1, 2].map(inOrder));
    // Messages of at most produceBatch records: a call's records of a partition fill one message after another.
    const messages = await Promise.all([0, 1, 2].map((p) => df.bus.lastSeq(topic.name, p)));
    expect(messages).toEqual([0, 1, 2].map((p) => {
      const first = inOrder(p).filter((v) => v <= 6 || v === 100).length;
      const second = inOrder(p).length - first;
      return Math.ceil(first / 2) + Math.ceil(second / 2);
    }));
    await df.stop();
  });

  it('runtime - bad records and failing functions go to the dead-letter topic with reasons; the rest goes on', async () => {
    const df = await start();
    await df.produce('readings', [
      reading('a', 1, 0),
      { value: { sensor: 'a', value: 300 }, timestamp: T0 }, // out of range for u8
      { value: { sensor: 'a' }, timestamp: T0 }, // missing field
      { value: new TextEncoder().encode('{"sensor": "a", "val'), timestamp: T0 }, // malformed JSON
      reading('broken', 1, 0), // the function throws
      reading('b', 2, 0),
    ]);
    await df.endInput();
    await df.ended();
    const dead = (await df.read('check.dead-letter')).map((r) => r.value as { reason: string; operator: string });
    expect(dead.map((d) => d.reason)).toEqual([
      'record does not match topic `readings`: value: 300 is out of range for u8 (0 to 255)',
      'record does not match topic `readings`: value: missing required field',
      expect.stringMatching(/^record does not match topic `readings`: not valid JSON/),
      // The throw's place: the services file's line of the \`throw\` in the function's \`run:\` block.
      expect.stringMatching(/^sensor is broken \(at .*services\.yaml:29:\d+\)$/),
    ]);
    expect(dead[3]!.operator).toBe('check.validate');
    expect((await df.read('checked')).map((r) => (r.value as { sensor: string }).sensor).sort()).toEqual(['a', 'b']);
    expect(df.metrics().find((x) => x.operator === 'check.validate')).toMatchObject({ recordsIn: 6, failed: 4 });
    await df.stop();
  });

  it('runtime - stopped halfway and restarted, it ends exactly like one uninterrupted run', async () => {
    const whole = await start();
    await whole.produce('readings', INPUT);
    await whole.endInput();
    await whole.ended();
    const expected = (await whole.read('totals')).map((r) => r.value);
    await whole.stop();

    const checkpoints = memoryCheckpointStore();
    const first = await start(checkpoints);
    await first.produce('readings', INPUT.slice(0, 4));
    await first.idle();
    const before = (await first.read('totals')).map((r) => r.value);
    await first.stop();
    // A new process: topics start empty, state and progress (watermark, open windows) resume.
    const second = await start(checkpoints);
    await second.produce('readings', INPUT.slice(4));
    await second.endInput();
    await second.ended();
    const after = (await second.read('totals')).map((r) => r.value);
    expect([...before, ...after]).toEqual(expected);
    await second.stop();
  });

  it('runtime - committing to a store, stopped halfway and resumed on the same input, its sinks and state end exactly like one uninterrupted run', async () => {
    // A record of the first half is dead-lettered: dead letters are a sink too.
    const input = [reading('broken', 1, 0), ...INPUT];
    const whole = await start();
    await whole.produce('readings', input);
    await whole.endInput();
    await whole.ended();
    const expected = { totals: await whole.read('totals'), dead: (await whole.read('check.dead-letter')).length };
    await whole.stop();

    const pg = await testPostgres();
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
    cleanups.push(() => pg.cleanup(), () => store.close());
    const first = await start(undefined, { store, replayInputs: false });
    await first.produce('readings', input.slice(0, 5));
    await first.idle();
    await first.stop();
    // A new process given the same input again: what was committed is skipped, and the sinks
    // get again what they had got by the last commit (the in-memory topics died with the first).
    const second = await start(undefined, { store, replayInputs: true });
    // The same messages as before (an input file is read in the same frames).
    await second.produce('readings', input.slice(0, 5));
    await second.produce('readings', input.slice(5));
    await second.endInput();
    await second.ended();
    expect(await second.read('totals')).toEqual(expected.totals);
    // Dead letters are a sink too: those of the first run's records are published again.
    expect(expected.dead).toBeGreaterThan(0);
    expect((await second.read('check.dead-letter')).length).toBe(expected.dead);
    expect(second.metrics().find((x) => x.operator === 'check.validate')?.recordsIn).toBe(input.length - 5);
    await second.stop();
    // Not resumed (other input, or the shell): the stored outputs no longer count.
    const third = await start(undefined, { store, replayInputs: false });
    await third.endInput();
    await third.ended();
    expect(await third.read('totals')).toEqual([]);
    await third.stop();
  });
});
