import { describe, expect, it } from 'vitest';
import { createMemoryBus, type Bus, type PartitionReader } from '@ssdk/bus';
import { decodeFrame, encodeFrame, encodeRecords } from '@ssdk/records';
import { memoryCheckpointStore } from './checkpoint.ts';
import { nativeTopologyOf, readTopic, runUnitsToEnd } from './dataflow.testkit.ts';
import { UnitMetrics } from './metrics.ts';
import { HELD_ROWS } from './state-tables.ts';
import { runUnitTask } from './unit-task.ts';

const SERVICES = `apiVersion: 0.5.0
meta: {name: bytes, namespace: test, version: 0.1.0}
types:
  word: {type: string}
topics:
  words: {schema: {value: {type: word}}}
  shouted: {schema: {value: {type: word}}}
services:
  shout:
    sources: [{type: topic, id: words}]
    transforms:
      - operator: filter
        run: |
          function long(word: string): boolean {
            return word.length > 3;
          }
      - operator: map
        run: |
          function upper(word: string): string {
            return word.toUpperCase();
          }
    sinks: [{type: topic, id: shouted}]
`;

const text = new TextDecoder();

async function values(bus: Bus, topic: string): Promise<string[]> {
  const reader = bus.read(topic, 0);
  const out: string[] = [];
  for (const m of await reader.fetch(100, 0)) {
    const f = decodeFrame(m.data);
    if (f.kind === 'data') for (const r of f.records) out.push(text.decode(r.value));
  }
  await reader.close();
  return out;
}

describe('runtime - host loop', () => {
  it('runtime - a value that goes through a step unchanged travels as the bytes it came in; a changed one is written anew', async () => {
    const topology = await nativeTopologyOf(SERVICES);
    const bus = createMemoryBus();
    // JSON a producer may write that JSON.stringify would not: spaces, an escape.
    const input = [' "river" ', '"fog"', '"caf\\u00e9"'];
    await runUnitsToEnd(topology, bus, input.map((value) => ({ key: null, value, timestamp: 1 })));
    const [filter, map] = topology.units;
    expect(await values(bus, filter!.outputs[0]!.name)).toEqual([' "river" ', '"caf\\u00e9"']);
    expect(await values(bus, map!.outputs[0]!.name)).toEqual(['"RIVER"', '"CAFÉ"']);
  });

  it('runtime - an object read from a topic of the dataflow\'s own and passed on unchanged travels as the bytes it came in; changed, of another shape, or refused by the topic, it is written anew', async () => {
    const topology = await nativeTopologyOf(READINGS);
    const bus = createMemoryBus();
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    const [, slow] = topology.units;
    const internal = slow!.inputs[0]!.topic;
    expect(internal.kind).toBe('internal');
    // Bytes ssdk would not write (a space), as the copy it kept shows whether the value changed.
    const input = ['{"car":"a", "kph":50}', '{"car":"b", "kph":60}', '{"kph":70, "car":"c"}', '{"car":"d", "kph":1.5}', '{"car":"e","kph":80}'];
    await bus.publish(internal.name, 0, [{ data: encodeRecords(input.map((value) => ({ key: null, value, timestamp: 1 }))) }, { data: encodeFrame({ kind: 'end' }) }]);
    await runUnitTask({ unit: slow!, bus, checkpoints: memoryCheckpointStore(), metrics: new UnitMetrics(slow!.id), resumeOffsets: false, signal: new AbortController().signal });
    expect(await values(bus, slow!.outputs[0]!.name)).toEqual([
      '{"car":"a", "kph":50}',
      // changed in place by the function
      '{"car":"b","kph":0}',
      // not the type's key order: no kept copy
      '{"kph":70,"car":"c"}',
      '{"car":"e","kph":80}',
    ]);
    // Unchanged, but not an i32: the sink's check refuses it, as ever.
    const dead = await values(bus, slow!.deadLetter.name);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toContain('does not fit topic');
  });

  it('runtime - an object read from a declared topic is written anew by the unit that passes it on', async () => {
    const topology = await nativeTopologyOf(READINGS);
    const bus = createMemoryBus();
    await runUnitsToEnd(topology, bus, [{ key: null, value: '{"car":"a", "kph":50}', timestamp: 1 }], 'readings');
    const [first, slow] = topology.units;
    expect(await values(bus, first!.outputs[0]!.name)).toEqual(['{"car":"a","kph":50}']);
    expect(await values(bus, slow!.outputs[0]!.name)).toEqual(['{"car":"a","kph":50}']);
  });
});

const EVENTS = `apiVersion: 0.5.0
meta: {name: events, namespace: test, version: 0.1.0}
types:
  bid:
    type: object
    properties:
      auction: {type: i64}
      price: {type: i64}
      channel: {type: string}
  tick:
    type: object
    properties:
      at: {type: i64}
  event:
    type: enum
    oneOf:
      bid: {type: bid}
      tick: {type: tick}
topics:
  events: {schema: {value: {type: event}}}
  bids: {schema: {value: {type: bid}}}
services:
  only-bids:
    sources: [{type: topic, id: events}]
    transforms:
      - operator: filter-map
        run: |
          function onlyBids(event: Event): Bid | undefined {
            if (!('bid' in event)) return undefined;
            const bid = event.bid as Bid & { extra?: string };
            switch (bid.auction) {
              case 2: bid.price = bid.price + 1; break;
              case 3: bid.extra = 'x'; break;
              case 4: return { ...bid };
              case 5: { const { price } = bid; delete (bid as Partial<Bid>).price; bid.price = price; break; }
              case 6: (event as Record<string, unknown>).more = 1; break;
              case 7: event.bid = { ...bid }; return bid;
            }
            return bid;
          }
    sinks: [{type: topic, id: bids}]
`;

describe('runtime - host loop, values passed on as the bytes they came in', () => {
  /** What the one unit of EVENTS wrote for each input, and how many values it wrote anew (`encodeText`). */
  async function onlyBids(input: string[]): Promise<{ out: string[]; writtenAnew: number }> {
    const topology = await nativeTopologyOf(EVENTS, { partitions: 1 });
    const bus = createMemoryBus();
    const [unit] = topology.units;
    expect(topology.units).toHaveLength(1);
    const bids = unit!.outputs[0]!;
    const codec = bids.value;
    let writtenAnew = 0;
    (bids as { value: typeof codec }).value = { ...codec, encodeText: (v) => (writtenAnew++, codec.encodeText(v)) };
    await runUnitsToEnd(topology, bus, input.map((value) => ({ key: null, value, timestamp: 1 })), 'events');
    return { out: await values(bus, bids.name), writtenAnew };
  }
  const bid = (auction: number, price = 10) => `{"auction":${auction},"price":${price},"channel":"web"}`;

  it('runtime - a source topic\'s variant payload passed on unchanged travels as its slice of the bytes read, as JSON.stringify would write it', async () => {
    const { out, writtenAnew } = await onlyBids([`{"bid":${bid(1)}}`, '{"tick":{"at":3}}', `{"bid":${bid(6)}}`, `{"bid":${bid(1, 11)}}`]);
    expect(out).toEqual([bid(1), bid(6), bid(1, 11)]);
    expect(writtenAnew).toBe(0);
  });

  it('runtime - a payload changed in place, grown, copied, reordered, put back under a new one, or read from bytes JSON.stringify would not write, is written anew', async () => {
    const input = [
      `{"bid":${bid(2)}}`,
      `{"bid":${bid(3)}}`,
      `{"bid":${bid(4)}}`,
      `{"bid":${bid(5)}}`,
      `{"bid":${bid(7)}}`,
      // bytes a producer may write: a space, an escape, -0
      `{"bid": ${bid(8)}}`,
      '{"bid":{"auction":9,"price":10,"channel":"w\\u0065b"}}',
      '{"bid":{"auction":10,"price":-0,"channel":"web"}}',
    ];
    const { out, writtenAnew } = await onlyBids(input);
    expect(out).toEqual([
      bid(2, 11),
      '{"auction":3,"price":10,"channel":"web","extra":"x"}',
      bid(4),
      '{"auction":5,"channel":"web","price":10}',
      bid(7),
      bid(8),
      bid(9),
      '{"auction":10,"price":0,"channel":"web"}',
    ]);
    expect(writtenAnew).toBe(input.length);
  });
});

describe('runtime - host loop, values kept to pass on as read only while that pays', () => {
  /** EVENTS' unit with `fn` as its function over 12 messages of 1 000 bids: how many values its input's codec kept. */
  async function keptOf(fn: string): Promise<{ kept: number; out: string[] }> {
    const topology = await nativeTopologyOf(EVENTS.replace(/function onlyBids[\s\S]*?\n {10}\}\n/, fn), { partitions: 1 });
    const bus = createMemoryBus();
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    const [unit] = topology.units;
    const events = unit!.inputs[0]!.topic;
    const codec = events.value;
    let kept = 0;
    (events as { value: typeof codec }).value = { ...codec, keep: (v) => (kept++, codec.keep(v)) };
    const frames = Array.from({ length: 12 }, (_, m) => ({
      data: encodeRecords(Array.from({ length: 1000 }, (_, i) => ({ key: null, value: `{"bid":{"auction":${m * 1000 + i},"price":1,"channel":"web"}}`, timestamp: 1 }))),
    }));
    await bus.publish(events.name, 0, [...frames, { data: encodeFrame({ kind: 'end' }) }]);
    await runUnitTask({ unit: unit!, bus, checkpoints: memoryCheckpointStore(), metrics: new UnitMetrics(unit!.id), resumeOffsets: false, signal: new AbortController().signal, batchMessages: 4 });
    return { kept, out: await values(bus, unit!.outputs[0]!.name) };
  }

  it('runtime - a unit that makes a new value of each stops keeping after its trial; one that passes them on keeps every one', async () => {
    const copies = await keptOf(`function onlyBids(event: Event): Bid | undefined {
            return 'bid' in event ? { ...event.bid } : undefined;
          }
`);
    expect(copies.kept).toBe(10_000);
    const passed = await keptOf(`function onlyBids(event: Event): Bid | undefined {
            return 'bid' in event ? event.bid : undefined;
          }
`);
    expect(passed.kept).toBe(12_000);
    expect(passed.out).toEqual(copies.out);
    expect(passed.out[11_999]).toBe('{"auction":11999,"price":1,"channel":"web"}');
  });
});

describe('runtime - host loop, quiet', () => {
  /** The waits a task's fetches asked for, per partition, while it read an empty topic for `ms`. */
  async function quietWaits(partitions: number, quietMaxMs: number | undefined, ms: number): Promise<number[][]> {
    const topology = await nativeTopologyOf(READINGS, { partitions });
    const memory = createMemoryBus();
    const waits: number[][] = Array.from({ length: partitions }, () => []);
    const bus: Bus = {
      ...memory,
      ensureTopic: (t) => memory.ensureTopic(t),
      read: (topic, partition, options) => {
        const inner = memory.read(topic, partition, options);
        const reader: PartitionReader = {
          fetch: (max, waitMs) => {
            if (waitMs > 0) waits[partition]!.push(waitMs);
            return inner.fetch(max, waitMs);
          },
          ack: (seq) => inner.ack(seq),
          close: () => inner.close(),
        };
        return reader;
      },
    };
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    const unit = topology.units[0]!;
    const stop = new AbortController();
    const task = runUnitTask({ unit, bus, checkpoints: memoryCheckpointStore(), metrics: new UnitMetrics(unit.id), resumeOffsets: false, signal: stop.signal, ...(quietMaxMs !== undefined ? { quietMaxMs } : {}) });
    await new Promise((r) => setTimeout(r, ms));
    stop.abort();
    await task;
    return waits;
  }

  it('runtime - a task reading one channel waits on it longer while it stays quiet, up to quietMaxMs', async () => {
    const [waits] = await quietWaits(1, 250, 2_000);
    expect(waits!.slice(0, 4)).toEqual([50, 100, 200, 250]);
  });

  it('runtime - a task reading several channels polls them every pollMs, and so does one without quietMaxMs', async () => {
    const several = await quietWaits(2, 250, 600);
    expect(several.flat().length).toBeGreaterThan(3);
    expect(new Set(several.flat())).toEqual(new Set([50]));
    const [alone] = await quietWaits(1, undefined, 400);
    expect(new Set(alone)).toEqual(new Set([50]));
  });
});

describe('runtime - host loop, commits', () => {
  it('runtime - pipelined with quietCommitMs, batches that make nothing (progress frames) are acked without a commit of their own, and their offsets go with the next', async () => {
    const topology = await nativeTopologyOf(SERVICES);
    const unit = topology.units[0]!;
    const run = async (quietCommitMs: number | undefined) => {
      const bus = createMemoryBus();
      for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
      const progress = { data: encodeFrame({ kind: 'progress', entries: [{ origin: 'elsewhere', time: 5, idle: false }] }) };
      const data = (value: string) => ({ data: encodeRecords([{ key: null, value, timestamp: 1 }]) });
      await bus.publish(unit.inputs[0]!.topic.name, 0, [data('"river"'), progress, progress, progress, data('"ocean"'), { data: encodeFrame({ kind: 'end' }) }]);
      const store = memoryCheckpointStore();
      const commits: number[] = [];
      const checkpoints = { ...store, commit: (u: string, states: Parameters<typeof store.commit>[1], c: Parameters<typeof store.commit>[2]) => (commits.push([...c.offsets.values()][0]!), store.commit(u, states, c)) };
      await runUnitTask({ unit, bus, checkpoints, metrics: new UnitMetrics(unit.id), resumeOffsets: false, signal: new AbortController().signal, pipeline: true, batchMessages: 1, ...(quietCommitMs !== undefined ? { quietCommitMs } : {}) });
      return { commits, offsets: [...(await store.load(unit.id)).offsets.values()], out: await values(bus, unit.outputs[0]!.name) };
    };
    const every = await run(undefined);
    expect(every.commits).toEqual([1, 2, 3, 4, 5, 6]);
    const quiet = await run(60_000);
    // The data, then the next data with the progress frames' offsets, then the end.
    expect(quiet.commits).toEqual([1, 5, 6]);
    expect(quiet.offsets).toEqual(every.offsets);
    expect(quiet.out).toEqual(every.out);
  });

  it('runtime - a session unit reading one channel publishes the results of the sessions a message closes as one frame under that message\'s id, the same on a replay batched otherwise; reading several, one frame a session', async () => {
    /** What the session unit published to its output: each message's id (the origin's part) and records. */
    const run = async (partitions: number, batches: number[]) => {
      const topology = await nativeTopologyOf(SESSIONS, { partitions });
      const session = topology.units.find((u) => u.plan.steps.some((s) => s.operator === 'flush'))!;
      const input = session.inputs[0]!.topic;
      const output = session.outputs[0]!;
      const inner = createMemoryBus();
      const published: Array<[origin: string, records: number]> = [];
      const publish: Bus['publish'] = async (topic, partition, messages) => {
          if (topic === output.name) {
            for (const m of messages) {
              const frame = decodeFrame(m.data);
              if (frame.kind === 'data') published.push([m.msgId!.split('|')[1]!, frame.records.length]);
            }
          }
          return inner.publish(topic, partition, messages);
      };
      const bus = new Proxy(inner, { get: (target, name) => (name === 'publish' ? publish : (Reflect.get(target, name) as unknown)) });
      for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
      // One reading a message, all on partition 0: a@0, b@1 s and c@2 s open sessions that d@30 s
      // closes at once; d's and e's close at the end.
      const readings: Array<[string, number]> = [['a', 0], ['b', 1_000], ['c', 2_000], ['d', 30_000], ['e', 31_000]];
      await inner.publish(input.name, 0, [...readings.map(([sensor, t]) => ({ data: encodeRecords([{ key: JSON.stringify(sensor), value: JSON.stringify({ sensor, n: 1 }), timestamp: t }]) })), { data: encodeFrame({ kind: 'end' }) }]);
      for (let p = 1; p < partitions; p++) await inner.publish(input.name, p, [{ data: encodeFrame({ kind: 'end' }) }]);
      // Each run from the start of the input, as a restart that committed nothing: `batches` messages a fetch.
      for (const batchMessages of batches) {
        await runUnitTask({ unit: session, bus, checkpoints: memoryCheckpointStore(), metrics: new UnitMetrics(session.id), resumeOffsets: false, batchMessages, signal: new AbortController().signal });
      }
      return { session, published, totals: await readTopic(bus, output) };
    };
    const one = await run(1, [1, 64]);
    expect(one.session.watermarkByMessages).toBe(true);
    const closedBy = `${one.session.inputs[0]!.topic.id}/0:4`;
    // Fetched one message at a time, then all at once: the same frames, so the replay's are duplicates.
    expect(one.published).toEqual([
      [closedBy, 3],
      ['end', 2],
      [closedBy, 3],
      ['end', 2],
    ]);
    expect(one.totals).toEqual([
      { sensor: 'a', n: 1, start: 0 },
      { sensor: 'b', n: 1, start: 1_000 },
      { sensor: 'c', n: 1, start: 2_000 },
      { sensor: 'd', n: 1, start: 30_000 },
      { sensor: 'e', n: 1, start: 31_000 },
    ]);
    // Two channels: the watermark is their least, which follows how their batches interleave.
    const two = await run(2, [64]);
    expect(two.session.watermarkByMessages).toBeUndefined();
    expect(two.published.map(([origin, records]) => [origin.split(':')[0], records])).toEqual(Array.from({ length: 5 }, () => ['session', 1]));
    expect(two.totals).toEqual(one.totals);
  });

  it('runtime - a session unit reading a topic of the dataflow\'s own holds its records unread until their session closes: a held row carries each value\'s text as it came, a restart from the rows gives the same totals, a late record goes out whole', async () => {
    const topology = await nativeTopologyOf(SESSIONS, { partitions: 1 });
    const session = topology.units.find((u) => u.plan.steps.some((s) => s.operator === 'flush'))!;
    const input = session.inputs[0]!.topic;
    expect(input.kind).toBe('internal');
    const bus = createMemoryBus();
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    const store = memoryCheckpointStore();
    const rows: string[] = [];
    let committed = (): void => undefined;
    const checkpoints: typeof store = {
      ...store,
      async commit(unit, states, c) {
        for (const ch of c.changes) if (ch.state === HELD_ROWS.name && typeof ch.value === 'string') rows.push(ch.value);
        await store.commit(unit, states, c);
        committed();
      },
    };
    const reading = (sensor: string, n: number, t: number, text = JSON.stringify({ sensor, n })) => ({ data: encodeRecords([{ key: JSON.stringify(sensor), value: text, timestamp: t }]) });
    // Bytes the sender's JSON.stringify would not write (a space), which a held row keeps as they
    // are, and UTF-8 beyond ASCII, which it keeps as the text they encode.
    await bus.publish(input.name, 0, [reading('a', 2, 0, '{"sensor":"a", "n":2}'), reading('é', 3, 1_000)]);
    const first = new AbortController();
    committed = () => {
      if (rows.length > 0) first.abort();
    };
    await runUnitTask({ unit: session, bus, checkpoints, metrics: new UnitMetrics(session.id), signal: first.signal });
    expect(rows.join('\n')).toContain('"value":{"sensor":"a", "n":2}');
    expect(rows.join('\n')).toContain('"value":{"sensor":"é","n":3}');
    expect(rows.map((r) => (JSON.parse(r) as Array<{ value: unknown }>).map((h) => h.value)).flat()).toEqual([
      { sensor: 'a', n: 2 },
      { sensor: 'é', n: 3 },
    ]);
    // A restart reads the open sessions back from the rows; c@30 s closes them, a@5 s is late.
    committed = () => undefined;
    await bus.publish(input.name, 0, [reading('c', 4, 30_000), reading('a', 5, 5_000), { data: encodeFrame({ kind: 'end' }) }]);
    await runUnitTask({ unit: session, bus, checkpoints, metrics: new UnitMetrics(session.id), signal: new AbortController().signal });
    expect(await readTopic(bus, session.outputs[0]!)).toEqual([
      { sensor: 'a', n: 2, start: 0 },
      { sensor: 'é', n: 3, start: 1_000 },
      { sensor: 'c', n: 4, start: 30_000 },
    ]);
    expect(await readTopic(bus, session.lateEvents)).toEqual([{ sensor: 'a', n: 5 }]);
  });

  it('runtime - a session\'s step that cannot read its value runs its records unread; a record it fails carries its value, read back from its bytes, to the dead letters', async () => {
    // Counts per sensor without naming the reading (it runs the records unread); sensor `x`'s records fail.
    const counts = SESSIONS.replace(
      `function add(r: Reading, ctx: Ctx): void {
              ctx.state('sums').increment(r.n);
            }`,
      `function add(r: Reading, ctx: Ctx): void {
              if (ctx.key() === 'x') throw new Error('no x');
              ctx.state('sums').increment();
            }`,
    );
    expect(counts).not.toBe(SESSIONS);
    const topology = await nativeTopologyOf(counts, { partitions: 1 });
    const session = topology.units.find((u) => u.plan.steps.some((s) => s.operator === 'flush'))!;
    const input = session.inputs[0]!.topic;
    const bus = createMemoryBus();
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    const reading = (sensor: string, n: number, t: number, text = JSON.stringify({ sensor, n })) => ({ data: encodeRecords([{ key: JSON.stringify(sensor), value: text, timestamp: t }]) });
    await bus.publish(input.name, 0, [reading('a', 2, 0), reading('x', 7, 500, '{"sensor":"x", "n":7}'), reading('a', 3, 1_000), { data: encodeFrame({ kind: 'end' }) }]);
    await runUnitTask({ unit: session, bus, checkpoints: memoryCheckpointStore(), metrics: new UnitMetrics(session.id), resumeOffsets: false, signal: new AbortController().signal });
    expect(await readTopic(bus, session.outputs[0]!)).toEqual([{ sensor: 'a', n: 2, start: 0 }]);
    const dead = (await readTopic(bus, session.deadLetter.name)) as Array<{ value: unknown; reason: string }>;
    // The record's, and the flush's of its session (which counted nothing).
    expect(dead.filter((d) => d.reason.includes('no x')).map((d) => d.value)).toEqual([{ sensor: 'x', n: 7 }]);
    expect(dead).toHaveLength(2);
  });
});

const READINGS = `apiVersion: 0.5.0
meta: {name: readings, namespace: test, version: 0.1.0}
types:
  reading:
    type: object
    properties:
      car: {type: string}
      kph: {type: i32}
topics:
  readings: {schema: {value: {type: reading}}}
  slow: {schema: {value: {type: reading}}}
services:
  watch:
    sources: [{type: topic, id: readings}]
    transforms:
      - operator: filter
        run: |
          function any(r: Reading): boolean {
            return true;
          }
      - operator: filter
        run: |
          function slowDown(r: Reading): boolean {
            if (r.car === 'b') r.kph = 0;
            return r.kph < 200;
          }
    sinks: [{type: topic, id: slow}]
`;

/** A session per sensor (gap 10 s), its readings summed; the result names the session's start. */
const SESSIONS = `apiVersion: 0.5.0
meta: {name: sessions, namespace: test, version: 0.1.0}
types:
  reading:
    type: object
    properties:
      sensor: {type: string}
      n: {type: i64}
  total:
    type: object
    properties:
      sensor: {type: string}
      n: {type: i64}
      start: {type: i64}
topics:
  readings: {schema: {value: {type: reading}}}
  totals: {schema: {value: {type: total}}}
services:
  sessions:
    sources: [{type: topic, id: readings}]
    states:
      sums:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: i64}
    window:
      session: {gap: 10s}
      assign-timestamp:
        run: |
          function at(r: Reading, eventTime: number): number {
            return eventTime;
          }
      partition:
        assign-key:
          run: |
            function bySensor(r: Reading): string {
              return r.sensor;
            }
        update-state:
          run: |
            function add(r: Reading, ctx: Ctx): void {
              ctx.state('sums').increment(r.n);
            }
      flush:
        run: |
          function total(ctx: Ctx): Total {
            const [[sensor, n]] = [...ctx.state('sums').entries()];
            return { sensor, n, start: ctx.window().start };
          }
    sinks: [{type: topic, id: totals}]
`;
