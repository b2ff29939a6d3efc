import { describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { decodeFrame } from '@ssdk/records';
import { startEmbedded } from './embedded.ts';
import { createMemoryBus, type Bus } from '@ssdk/bus';
import { encodeFrame, encodeRecords } from '@ssdk/records';
import { CarriedBatch, carriedBatchOf, carriesRecords, carry, carryingBus, ownBytes, wrapping } from './carried.ts';
import { memoryCheckpointStore } from './checkpoint.ts';
import { UnitMetrics } from './metrics.ts';
import { buildTopology, type RuntimeTopic } from './topology.ts';
import { runUnitTask } from './unit-task.ts';
import { planNative } from './dataflow.testkit.ts';

// Two services read one topic; one changes the value it was given in place.
const SERVICES = `apiVersion: 0.5.0
meta: {name: carried, namespace: test, version: 0.1.0}
types:
  reading:
    type: object
    properties:
      sensor: {type: string}
      value: {type: u8}
topics:
  readings: {schema: {key: {type: string}, value: {type: reading}}}
  bumped: {schema: {key: {type: string}, value: {type: reading}}}
  kept: {schema: {key: {type: string}, value: {type: reading}}}
services:
  bump:
    sources: [{type: topic, id: readings}]
    transforms:
      - operator: map
        run: |
          function bumpInPlace(r: Reading): Reading {
            r.value = r.value + 100;
            return r;
          }
    sinks: [{type: topic, id: bumped}]
  keep:
    sources: [{type: topic, id: readings}]
    transforms:
      - operator: filter
        run: |
          function everything(r: Reading): boolean {
            return true;
          }
    sinks: [{type: topic, id: kept}]
`;

async function planned() {
  const { plan, functions } = await planNative(SERVICES);
  return { plan, functions };
}

async function start() {
  return startEmbedded({ ...(await planned()), isolation: 'native' });
}

/** Runs the `keep` unit over one record on `bus` (publishing through `publishOn`), and reads the raw messages of its output from `raw`. */
async function keepOnce(raw: Bus, bus: Bus, publishOn: Bus = bus) {
  const { plan, functions } = await planned();
  const topology = await buildTopology(plan, functions, { isolation: 'native' });
  for (const t of topology.topics.values()) await raw.ensureTopic({ name: t.name, partitions: t.partitions });
  const unit = topology.units.find((u) => u.id.includes('keep'))!;
  const source = topology.topics.get('readings')!;
  await raw.publish(source.name, 0, [{ data: encodeRecords([{ key: '"a"', value: '{"sensor":"a","value":1}', timestamp: 1 }]) }, { data: encodeFrame({ kind: 'end' }) }]);
  await runUnitTask({ unit, bus: publishOn, checkpoints: memoryCheckpointStore(), metrics: new UnitMetrics(unit.id), resumeOffsets: false, signal: new AbortController().signal });
  const reader = raw.read(topology.topics.get('kept')!.name, 0);
  const messages = await reader.fetch(10, 0);
  await reader.close();
  return messages.map((m) => {
    try {
      return decodeFrame(m.data).kind;
    } catch {
      return 'not a frame';
    }
  });
}

describe('runtime - records carried between units in process', () => {
  it('runtime - each reader gets its own copy: a function changing its input changes nothing another unit sees', async () => {
    const df = await start();
    const input = [{ sensor: 'a', value: 1 }, { sensor: 'b', value: 2 }];
    await df.produce('readings', input.map((value, i) => ({ key: value.sensor, value, timestamp: 1_000 + i })));
    await df.endInput();
    await df.ended();
    expect((await df.read('kept')).map((r) => r.value)).toEqual(input);
    expect((await df.read('bumped')).map((r) => r.value)).toEqual([{ sensor: 'a', value: 101 }, { sensor: 'b', value: 102 }]);
    // What the caller gave is untouched too.
    expect(input).toEqual([{ sensor: 'a', value: 1 }, { sensor: 'b', value: 2 }]);
    await df.stop();
  });

  it('runtime - a reader of bytes gets real frames: keys, values and timestamps as a unit writing bytes would write them', async () => {
    const df = await start();
    await df.produce('readings', [{ key: 'a', value: { sensor: 'a', value: 5 }, timestamp: 1_000.7 }]);
    await df.endInput();
    await df.ended();
    const t = df.topology.topics.get('kept')!;
    const reader = df.bus.read(t.name, 0);
    const frames = (await reader.fetch(10, 0)).map((m) => decodeFrame(m.data));
    await reader.close();
    const data = frames.flatMap((f) => (f.kind === 'data' ? f.records : []));
    expect(data.map((r) => [new TextDecoder().decode(r.key!), new TextDecoder().decode(r.value), r.timestamp])).toEqual([['"a"', '{"sensor":"a","value":5}', 1_000]]);
    expect(frames.at(-1)!.kind).toBe('end');
    await df.stop();
  });

  // A function that changes its input in place (bump: +100), and a message whose second record's
  // output (300) does not fit `u8`: it is dead-lettered and the message runs again without it.
  // The run again must see the first record as it was read, not as the first run left it.
  it('runtime - a message run again without a refused record gives each function the values as they were read (carried records)', async () => {
    const df = await start();
    await df.produce('readings', [{ key: 'a', value: { sensor: 'a', value: 1 }, timestamp: 1 }, { key: 'b', value: { sensor: 'b', value: 200 }, timestamp: 2 }]);
    await df.endInput();
    await df.ended();
    expect((await df.read('bumped')).map((r) => r.value)).toEqual([{ sensor: 'a', value: 101 }]);
    expect((await df.read('bump.dead-letter')).map((r) => (r.value as { reason: string }).reason)).toEqual([expect.stringContaining('300 is out of range for u8')]);
    await df.stop();
  });

  it('runtime - a message run again without a refused record gives each function the values as they were read (frames)', async () => {
    const bus = createMemoryBus();
    const { plan, functions } = await planned();
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    const unit = topology.units.find((u) => u.id.includes('bump'))!;
    const source = topology.topics.get('readings')!;
    const records = [{ key: '"a"', value: '{"sensor":"a","value":1}', timestamp: 1 }, { key: '"b"', value: '{"sensor":"b","value":200}', timestamp: 2 }];
    await bus.publish(source.name, 0, [{ data: encodeRecords(records) }, { data: encodeFrame({ kind: 'end' }) }]);
    await runUnitTask({ unit, bus, checkpoints: memoryCheckpointStore(), metrics: new UnitMetrics(unit.id), resumeOffsets: false, signal: new AbortController().signal });
    const reader = bus.read(topology.topics.get('bumped')!.name, 0);
    const frames = (await reader.fetch(10, 0)).map((m) => decodeFrame(m.data));
    await reader.close();
    expect(frames.flatMap((f) => (f.kind === 'data' ? f.records.map((r) => new TextDecoder().decode(r.value)) : []))).toEqual(['{"sensor":"a","value":101}']);
  });

  // Messages taken together into one guarded call, which is taken back (a function left a promise
  // behind) and made again message by message: each message's records as they were read.
  it('runtime - messages run again one by one after their call was taken back get the values as they were read', async () => {
    const leaving = SERVICES.replace('r.value = r.value + 100;', 'r.value = r.value + 100;\n            void Promise.resolve().then(() => undefined);');
    expect(leaving).not.toBe(SERVICES);
    const df = await startEmbedded({ ...(await planNative(leaving)), isolation: 'native', produceBatch: 1 });
    await df.produce('readings', [1, 2, 3].map((value) => ({ key: 'k', value: { sensor: 'k', value }, timestamp: value })));
    await df.endInput();
    await df.ended();
    expect((await df.read('bumped')).map((r) => (r.value as { value: number }).value)).toEqual([101, 102, 103]);
    await df.stop();
  });

  // A unit that writes state: a message run again takes back what the messages after it in the
  // same call wrote, so they run again too — from the values as they were read. Its update-state
  // step counts and changes the record it passes on in place.
  it('runtime - messages after one run again without a refused record run again from the values as they were read', async () => {
    const counting = `apiVersion: 0.5.0
meta: {name: carried, namespace: test, version: 0.1.0}
types:
  reading:
    type: object
    properties:
      sensor: {type: string}
      value: {type: u8}
topics:
  readings: {schema: {key: {type: string}, value: {type: reading}}}
  bumped: {schema: {key: {type: string}, value: {type: reading}}}
services:
  bump:
    sources: [{type: topic, id: readings}]
    states:
      seen: {type: keyed-state, properties: {key: {type: string}, value: {type: u32}}}
    partition:
      assign-key:
        run: |
          function bySensor(r: Reading): string {
            return r.sensor;
          }
      update-state:
        run: |
          function countAndBump(r: Reading, ctx: Ctx): void {
            ctx.state('seen').increment();
            r.value = r.value + 100;
          }
    sinks: [{type: topic, id: bumped}]
`;
    const { plan, functions } = await planNative(counting);
    const df = await startEmbedded({ plan, functions, isolation: 'native', produceBatch: 2 });
    // Two messages: [a 1, b 200] (b's 300 is refused) and [c 2].
    await df.produce('readings', [{ key: 'a', value: { sensor: 'a', value: 1 }, timestamp: 1 }, { key: 'b', value: { sensor: 'b', value: 200 }, timestamp: 2 }, { key: 'c', value: { sensor: 'c', value: 2 }, timestamp: 3 }]);
    await df.endInput();
    await df.ended();
    expect((await df.read('bumped')).map((r) => r.value)).toEqual([{ sensor: 'a', value: 101 }, { sensor: 'c', value: 102 }]);
    await df.stop();
  });

  // Runs again inside the native executor: a batch past its limit is halved and its halves run
  // again (a spinning record), in both data paths. Each run starts from the values as read.
  const SPINNING = SERVICES.replace('services:\n  bump:', 'config: {function-timeout: 200ms}\nservices:\n  bump:').replace(
    '            return r;\n          }\n    sinks: [{type: topic, id: bumped}]',
    `            return r;
          }
      - operator: filter
        run: |
          function stopsSometimes(r: Reading): boolean {
            if (r.sensor === 'spin') for (;;) {}
            return true;
          }
    sinks: [{type: topic, id: bumped}]`,
  );
  const spinning = [
    { key: 'a', value: { sensor: 'a', value: 1 }, timestamp: 1 },
    { key: 'spin', value: { sensor: 'spin', value: 0 }, timestamp: 2 },
    { key: 'b', value: { sensor: 'b', value: 7 }, timestamp: 3 },
  ];

  it('runtime - the halves of a batch run again past its limit see the values as they were read (carried records)', async () => {
    expect(SPINNING).toContain('stopsSometimes');
    expect(SPINNING).toContain('function-timeout: 200ms');
    // Fused, as `ssdk run` plans it: both steps in one unit, so the halves run the bump again.
    const df = await startEmbedded({ ...(await planNative(SPINNING, { fuse: true })), isolation: 'native' });
    await df.produce('readings', spinning);
    await df.endInput();
    await df.ended();
    expect((await df.read('bumped')).map((r) => r.value)).toEqual([{ sensor: 'a', value: 101 }, { sensor: 'b', value: 107 }]);
    expect((await df.read('bump.dead-letter')).map((r) => (r.value as { reason: string }).reason)).toEqual([expect.stringContaining('timed out after 200 ms')]);
    await df.stop();
  });

  it('runtime - the halves of a batch run again past its limit see the values as they were read (frames)', async () => {
    const bus = createMemoryBus();
    // Fused: both steps in the unit that reads the frames.
    const { plan, functions } = await planNative(SPINNING, { fuse: true });
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    const unit = topology.units.find((u) => u.id.startsWith('bump'))!;
    expect(unit.plan.steps.map((s) => s.id)).toEqual(['bump.bump-in-place', 'bump.stops-sometimes']);
    const records = spinning.map((r) => ({ key: JSON.stringify(r.key), value: JSON.stringify(r.value), timestamp: r.timestamp }));
    await bus.publish(topology.topics.get('readings')!.name, 0, [{ data: encodeRecords(records) }, { data: encodeFrame({ kind: 'end' }) }]);
    await runUnitTask({ unit, bus, checkpoints: memoryCheckpointStore(), metrics: new UnitMetrics(unit.id), resumeOffsets: false, signal: new AbortController().signal });
    const reader = bus.read(topology.topics.get('bumped')!.name, 0);
    const frames = (await reader.fetch(10, 0)).map((m) => decodeFrame(m.data));
    await reader.close();
    expect(frames.flatMap((f) => (f.kind === 'data' ? f.records.map((r) => new TextDecoder().decode(r.value)) : []))).toEqual(['{"sensor":"a","value":101}', '{"sensor":"b","value":107}']);
  });

  it('runtime - a value that breaks its topic\'s type on the way in is dead-lettered with what arrived', async () => {
    const df = await start();
    await df.produce('readings', [{ key: 'a', value: { sensor: 'a', value: 200 }, timestamp: 1 }, { key: 'b', value: { sensor: 'b', value: 300 }, timestamp: 2 }]);
    await df.endInput();
    await df.ended();
    // 200 + 100 does not fit u8 on the way out of bump; 300 does not fit on the way in.
    const dead = (await df.read('bump.dead-letter')).map((r) => r.value as { reason: string; raw?: string; value?: unknown });
    expect(dead).toEqual([
      expect.objectContaining({ reason: 'record does not match topic `readings`: value: 300 is out of range for u8 (0 to 255)', raw: '{"sensor":"b","value":300}' }),
      expect.objectContaining({ reason: expect.stringContaining('returned a value that does not fit topic `bumped`: value: 300 is out of range for u8') }),
    ]);
    await df.stop();
  });

  it('runtime - a batch of snapshots checked as they were made is adopted without checking them again; one other value and every record is checked', async () => {
    const { plan, functions } = await planned();
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    const source = topology.topics.get('readings')!;
    const usual = source.value.usual!;
    // The codec's checked adopt, counted: what a reader's copy costs when it is not skipped.
    let checked = 0;
    const topic: RuntimeTopic = { ...source, value: { ...source.value, adopt: (s: unknown) => (checked++, source.value.adopt(s)) } };
    const values = [{ sensor: 'a', value: 1 }, { sensor: 'b', value: -0 }];
    const made = new CarriedBatch(topic, 2);
    for (const v of values) made.push('k', usual.snapshot(v), 1, undefined, undefined, true);
    const read = (batch: CarriedBatch) => Array.from({ length: batch.length }, (_, i) => batch.adopt(i).value);
    const first = read(made);
    expect(first).toEqual([{ sensor: 'a', value: 1 }, { sensor: 'b', value: 0 }]);
    expect(first.map((v) => Object.keys(v as object))).toEqual([['sensor', 'value'], ['sensor', 'value']]);
    // Each read is the reader's own copy, equal to what the checked adopt gives.
    expect(read(made)[0]).not.toBe(first[0]);
    expect(first).toEqual(values.map((v) => source.value.adopt(source.value.snapshot(v))));
    expect(checked).toBe(0);
    // A value pushed as JSON gives it (a producer's, unchecked: it may not fit) makes every record of the batch go the checked way.
    const mixed = new CarriedBatch(topic, 3);
    mixed.push('k', usual.snapshot(values[0]), 1, undefined, undefined, true);
    mixed.push('k', topic.value.copy({ sensor: 'c', value: 300 }), 2);
    mixed.push('k', usual.snapshot(values[0]), 3, undefined, undefined, true);
    expect(() => mixed.adopt(1)).toThrow(/out of range/);
    expect(mixed.adopt(0).value).toEqual(values[0]);
    expect(mixed.adopt(2).value).toEqual(values[0]);
    expect(checked).toBe(3);
    // The usual shape only: a value that does not pass has no usual snapshot (the general way words why).
    expect(usual.snapshot({ sensor: 'c', value: 300 })).toBeUndefined();
    expect(usual.snapshot({ value: 1, sensor: 'c' })).toBeUndefined();
  });

  it('runtime - a record held past its message (a session) reads its value again from its own snapshot, not from its whole batch', async () => {
    const { plan, functions } = await planned();
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    const topic = topology.topics.get('readings')!;
    const batch = new CarriedBatch(topic, 2);
    batch.push('a', topic.value.snapshot({ sensor: 'a', value: 1 }), 1, undefined);
    batch.push('b', topic.value.snapshot({ sensor: 'b', value: 2 }), 2, undefined);
    const own = batch.detach(1);
    expect(own.again).not.toBe(batch);
    expect(own.from).not.toBe(batch);
    const value = own.again.valueAgain(own.from);
    expect(value).toEqual({ sensor: 'b', value: 2 });
    // Each read is the reader's own copy.
    expect(own.again.valueAgain(own.from)).not.toBe(value);
  });

  it('runtime - a record held past its frame keeps its value bytes as a string of its own, one character a byte, and reads the same value again from it', async () => {
    const { plan, functions } = await planned();
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    const topic = topology.topics.get('readings')!;
    const value = { sensor: 'ünï 🙂 "q"', value: 2 };
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    // A view into a larger frame, as a reader hands it over.
    const frame = new Uint8Array(bytes.length + 10);
    frame.set(bytes, 5);
    const own = ownBytes(topic, frame.subarray(5, 5 + bytes.length));
    // Not a Uint8Array (an ArrayBuffer of its own per held record), and nothing of the frame.
    expect(typeof own.from).toBe('string');
    expect((own.from as string).length).toBe(bytes.length);
    frame.fill(0);
    expect(own.again.valueAgain(own.from)).toEqual(value);
    expect(own.again.valueAgain(own.from)).not.toBe(own.again.valueAgain(own.from));
  });

  it.each([0, 1, 3, 5, 100])('runtime - a batch made with room for %i records holds exactly the records it was given, as a reader and a frame read them', async (room) => {
    const { plan, functions } = await planned();
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    const topic = topology.topics.get('readings')!;
    const batch = new CarriedBatch(topic, room);
    const given = [
      { key: 'a', value: { sensor: 'a', value: 1 }, timestamp: 1_736_154_000_000 },
      { key: 'b', value: { sensor: 'b', value: 2 }, timestamp: 1_736_154_000_020, headers: { h: '1' } },
      { key: null, value: { sensor: 'c', value: 3 }, timestamp: 7 },
    ];
    for (const r of given) batch.push(r.key, topic.value.snapshot(r.value), r.timestamp, r.headers);
    const read = () => Array.from({ length: batch.length }, (_, i) => batch.adopt(i)).map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) }));
    expect(read()).toEqual(given);
    // Published, the room left over is given back; what it holds stays.
    const bus = carryingBus(createMemoryBus());
    await bus.ensureTopic({ name: topic.name, partitions: 1 });
    await bus.publish(topic.name, 0, [{ data: carry(batch) }]);
    const reader = bus.read(topic.name, 0);
    const [message] = await reader.fetch(1, 0);
    await reader.close();
    expect(carriedBatchOf(message!)).toBe(batch);
    expect(batch.length).toBe(3);
    expect(read()).toEqual(given);
    const frame = decodeFrame(message!.data);
    expect(frame.kind === 'data' ? frame.records.map((r) => [r.key && new TextDecoder().decode(r.key), new TextDecoder().decode(r.value), r.timestamp, r.headers]) : []).toEqual([
      ['"a"', '{"sensor":"a","value":1}', 1_736_154_000_000, undefined],
      ['"b"', '{"sensor":"b","value":2}', 1_736_154_000_020, { h: '1' }],
      [null, '{"sensor":"c","value":3}', 7, undefined],
    ]);
  });

  it('runtime - a batch holds a text it carries again and again once per topic, not a copy per record', async () => {
    const { plan, functions } = await planned();
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const value = topology.topics.get('readings')!.value.snapshot({ sensor: 'a', value: 1 });
    const N = 200_000;
    /** Heap bytes a batch of N records keyed `key(i)` holds (one shared value: the keys are what differ). */
    const held = (topic: RuntimeTopic, key: (i: number) => string) => {
      gc();
      const before = v8.getHeapStatistics().used_heap_size;
      const batch = new CarriedBatch(topic, N);
      for (let i = 0; i < N; i++) batch.push(key(i), value, 1, undefined);
      gc();
      const bytes = v8.getHeapStatistics().used_heap_size - before;
      expect(batch.adopt(N - 1).key).toBe(key(N - 1));
      return bytes;
    };
    // A copy of its own of one text per record, as a function's split makes them (key `sensor-1`)…
    const repeated = held(topology.topics.get('readings')!, (i) => `sensor-1~${i}`.slice(0, 8));
    // …against a text of its own per record (`s-000001`…, the same length): a string each either way unpooled.
    const distinct = held(topology.topics.get('kept')!, (i) => `s-${String(i).padStart(6, '0')}`);
    // 200 000 strings of 8 characters are ~4.8 MB; the columns (~4.8 MB) are the same in both.
    expect(distinct - repeated).toBeGreaterThan(3_000_000);
  });

  it('runtime - a batch keeps its times and its pooled texts off the heap: nothing per record for the collector to copy', async () => {
    const { plan, functions } = await planned();
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const topic = topology.topics.get('bumped')!;
    const N = 200_000;
    const T0 = 1_736_154_000_000;
    gc();
    const before = v8.getHeapStatistics().used_heap_size;
    const batch = new CarriedBatch(topic, N);
    // Keys as a function's split makes them (a string of its own each, one text), times past the
    // small integers (a number object each, as a record holds it), the value the one snapshot.
    const value = topic.value.snapshot({ sensor: 'a', value: 1 });
    for (let i = 0; i < N; i++) batch.push(`sensor-1~${i}`.slice(0, 8), value, T0 + i, undefined);
    gc();
    const held = v8.getHeapStatistics().used_heap_size - before;
    // Columns of references (keys, values, times: 4.8 MB) and a number object per time (3.2 MB)
    // were ~8 MB; what stays on the heap is the list of the values that are no pooled text (1.6 MB).
    expect(held).toBeLessThan(3_000_000);
    for (const i of [0, 1, N - 1]) {
      const r = batch.adopt(i);
      expect([r.key, r.value, r.timestamp]).toEqual(['sensor-1', { sensor: 'a', value: 1 }, T0 + i]);
    }
  });

  it('runtime - keys and values of every kind come back as pushed, whether the pool holds their text or not', async () => {
    const { plan, functions } = await planned();
    const topology = await buildTopology(plan, functions, { isolation: 'native' });
    const topic = topology.topics.get('kept')!;
    const value = topic.value.snapshot({ sensor: 'a', value: 1 });
    // Room for two: the columns grow past it.
    const batch = new CarriedBatch(topic, 2);
    const keys = [null, 'a', 'a'.repeat(100), 'b', null, 'a'];
    keys.forEach((key, i) => batch.push(key, value, i === 3 ? -5 : 2 ** 40 + i, i === 4 ? { h: 'x' } : undefined));
    batch.fit();
    expect(batch.length).toBe(keys.length);
    keys.forEach((key, i) => {
      const r = batch.adopt(i);
      expect(r.key).toBe(key);
      expect(r.value).toEqual({ sensor: 'a', value: 1 });
      expect(r.timestamp).toBe(i === 3 ? -5 : 2 ** 40 + i);
      expect(r.headers).toEqual(i === 4 ? { h: 'x' } : undefined);
    });
    expect(decodeFrame(batch.bytes())).toMatchObject({ kind: 'data', records: { length: keys.length } });
  });

  it('runtime - how outputs travel is the bus\'s to say: carried on a carrying bus and on wrappers of it, frames on any other', async () => {
    const memory = createMemoryBus();
    const carrying = carryingBus(memory);
    expect(carriesRecords(carrying)).toBe(true);
    expect(carriesRecords(memory)).toBe(false);
    const plain = { ...carrying };
    // A wrapper made without `wrapping` does not claim readers in this process.
    expect(carriesRecords(plain)).toBe(false);
    expect(carriesRecords(wrapping(plain, carrying))).toBe(true);
    // On a plain bus the loop writes frames any reader can decode…
    const onPlain = createMemoryBus();
    expect(await keepOnce(onPlain, onPlain)).toEqual(['data', 'end']);
    // …on a carrying one, a placeholder only a reader in this process turns back into records.
    const inner = createMemoryBus();
    const outer = carryingBus(inner);
    expect(await keepOnce(inner, outer)).toEqual(['not a frame', 'end']);
    // A wrapper of the carrying bus carries too.
    const inner2 = createMemoryBus();
    const outer2 = carryingBus(inner2);
    expect(await keepOnce(inner2, outer2, wrapping({ ...outer2 }, outer2))).toEqual(['not a frame', 'end']);
  });
});
