import { describe, expect, it } from 'vitest';
import { ownedRecord, runChain, runFlush, type ChainOutput, type ChainResult, type ChainStep, type FunctionContext } from './chain.ts';
import { MemoryState } from './memory-state.ts';
import { chainLogic, noEffects, operatorLogic, ownCopy, windowLogic, type ChainExecutor, type ManyHost, type SectionRunner } from './operator-logic.ts';
import type { WindowConfig } from './window-operator.ts';

describe('engine - operator logic', () => {
  it('engine - an operator writes only `process`: the clock, the end of input and its progress default to nothing', async () => {
    const upper = operatorLogic({
      kind: 'chain',
      process: async (records) => ({ ...noEffects(), outputs: records.map((r) => ({ ...r, value: String(r.value).toUpperCase() })) }),
    });
    expect((await upper.process([{ key: null, value: 'a', timestamp: 1 }], 'in/0', 0)).outputs.map((r) => r.value)).toEqual(['A']);
    expect(await upper.tick(5)).toEqual(noEffects());
    expect(await upper.end()).toEqual(noEffects());
    expect(upper.meta()).toBeNull();
    expect(upper.takeDroppedWindows()).toEqual([]);
    expect(upper.watermark()).toBeUndefined();
    upper.restore({ anything: 1 });
    upper.bound('in/0', 10, 0);
    // What it does give is kept over the defaults.
    const ticking = operatorLogic({ kind: 'passthrough', process: async () => noEffects(), watermark: () => 42 });
    expect(ticking.watermark()).toBe(42);
  });

  it('engine - a chain over owned records changes them in place and still tells which records its timestamp step retimed', async () => {
    const stamp: ChainStep[] = [{ id: 's.stamp', operator: 'assign-timestamp', fn: (v, t) => (v === 'late' ? (t as number) - 500 : t) }];
    const executor: ChainExecutor = { run: async (inputs, state, options) => runChain(stamp, inputs, { state, ...options }), flush: async () => ({}) };
    const logic = chainLogic(executor, new MemoryState(), true);
    const same = [ownedRecord(null, 'a', 1000)];
    expect((await logic.process(same, 'in/0', 0)).times).toEqual({ max: 1000, retimed: false });
    const records = [ownedRecord(null, 'a', 1000), ownedRecord(null, 'late', 2000)];
    const effects = await logic.process(records, 'in/0', 0);
    expect(effects.outputs[1]).toBe(records[1]);
    expect(effects.outputs.map((o) => o.timestamp)).toEqual([1000, 1500]);
    expect(effects.times).toEqual({ max: 1500, retimed: true });
  });

  it('engine - a branched chain in a section: the branch that runs last takes the trunk\'s records as its own, each output still naming its input and branch', async () => {
    // The trunk drops the odd numbers and makes a record of its own for the rest: its records are
    // not where its inputs were. The first branch keeps multiples of four; the last one (which gets
    // the trunk's records) doubles them and fails on 6.
    const trunk = [{ id: 't.evens', operator: 'filter-map', fn: (v: unknown) => ((v as number) % 2 === 0 ? { n: v } : undefined) }] as ChainStep[];
    const fours = [{ id: 'b.fours', operator: 'filter', fn: (v: unknown) => (v as { n: number }).n % 4 === 0 }] as ChainStep[];
    const doubled = [{ id: 'c.double', operator: 'map', fn: (v: unknown) => { const { n } = v as { n: number }; if (n === 6) throw new Error('six'); return { n: n * 2 }; } }] as ChainStep[];
    const given: boolean[] = [];
    const section: SectionRunner = async (_executors, state, job) => ({
      value: job({
        run: (e, inputs, options) => {
          given.push(options?.handOver === true);
          return runChain((e as unknown as { steps: ChainStep[] }).steps, inputs, { state, ...options });
        },
        flush: () => ({}),
        beforeLines: (f) => f(),
        limitUsed: () => 0,
      }),
    });
    const executor = (steps: ChainStep[]): ChainExecutor => Object.assign({ run: async () => ({ outputs: [], failures: [] }), flush: async () => ({}), section }, { steps });
    const logic = chainLogic({ trunk: executor(trunk), branches: [executor(fours), executor(doubled)], copy: (v) => JSON.parse(JSON.stringify(v)) as unknown }, new MemoryState());
    const records = [1, 2, 3, 4, 5, 6, 7, 8].map((n, i) => ownedRecord(null, n, i));
    const effects = await logic.process(records, 'in/0', 0);
    expect(given).toEqual([false, false, true]);
    expect(effects.outputs.map((o) => [(o as ChainOutput).route, (o as ChainOutput).input, o.value])).toEqual([
      [0, 3, { n: 4 }],
      [0, 7, { n: 8 }],
      [1, 1, { n: 4 }],
      [1, 3, { n: 8 }],
      [1, 7, { n: 16 }],
    ]);
    expect(effects.failures.map((f) => [f.route, f.input, f.operator])).toEqual([[1, 5, 'c.double']]);
  });

  it('engine - a sole reader\'s steps after a branch (tails): over copies of that branch\'s records, in the section or call by call alike; its failures name their place among them; run again without some; over records read', async () => {
    // The trunk doubles; branch 0 keeps multiples of four (its records go to the reader), branch 1
    // takes the rest. The reader notes what it sees, changes its value in place (which the
    // branch's records must not see) and fails on 8.
    const seen: number[] = [];
    const trunk = [{ id: 't.double', operator: 'map', fn: (v: unknown) => ({ n: (v as number) * 2 }) }] as ChainStep[];
    const fours = [{ id: 'b.fours', operator: 'filter', fn: (v: unknown) => (v as { n: number }).n % 4 === 0 }] as ChainStep[];
    const rest = [{ id: 'b.rest', operator: 'filter', fn: (v: unknown) => (v as { n: number }).n % 4 !== 0 }] as ChainStep[];
    const reader = [
      {
        id: 'r.count',
        operator: 'map',
        fn: (v: unknown) => {
          const n = v as { n: number; seen?: boolean };
          seen.push(n.n);
          n.seen = true;
          if (n.n === 8) throw new Error('eight');
          return n;
        },
      },
    ] as unknown as ChainStep[];
    const section: SectionRunner = async (_executors, state, job) => ({
      value: job({
        run: (e, inputs, options) => runChain((e as unknown as { steps: ChainStep[] }).steps, inputs, { state, ...options }),
        flush: () => ({}),
        beforeLines: (f) => f(),
        limitUsed: () => 0,
      }),
    });
    for (const sections of [true, false]) {
      seen.length = 0;
      const executor = (steps: ChainStep[]): ChainExecutor =>
        Object.assign({ run: async (inputs: never, state: never, options: never) => runChain(steps, inputs, { state, ...(options as object) }), flush: async () => ({}) }, sections ? { section } : {}, { steps });
      const state = new MemoryState();
      const copies: unknown[] = [];
      const logic = chainLogic(
        { trunk: executor(trunk), branches: [executor(fours), executor(rest)], copy: (v) => JSON.parse(JSON.stringify(v)) as unknown, tails: [executor(reader), undefined], tailCopy: (v, route) => (copies.push(route), JSON.parse(JSON.stringify(v)) as unknown) },
        state,
      );
      const records = [1, 2, 3, 4, 5, 6].map((n, i) => ownedRecord(null, n, i));
      const effects = await logic.process(records, 'in/0', 0);
      // The branch's records as it made them: the reader's change in place is on its own copies.
      expect(effects.outputs.map((o) => [(o as ChainOutput).route, (o as ChainOutput).input, o.value])).toEqual([
        [0, 1, { n: 4 }],
        [0, 3, { n: 8 }],
        [0, 5, { n: 12 }],
        [1, 0, { n: 2 }],
        [1, 2, { n: 6 }],
        [1, 4, { n: 10 }],
      ]);
      expect(copies).toEqual([0, 0, 0]);
      // The reader's failure: its record's place among branch 0's records, and the unit's input it came from.
      expect(effects.failures.map((f) => [f.route, f.tailIndex, f.input, f.operator])).toEqual([[0, 1, 3, 'r.count']]);
      expect(seen).toEqual([4, 8, 12]);
      // Run again without the failed record (the caller took the state back): no failure.
      const again = await logic.tailAgain!(effects.outputs as ChainOutput[], new Map([[0, new Set([1])]]));
      expect(again).toEqual([]);
      expect(seen.slice(3)).toEqual([4, 12]);
      // Over records read from the branch's topic (a redrive): failures name their index there.
      const read = await logic.tailRead!([ownedRecord(null, { n: 16 }, 0), ownedRecord(null, { n: 8 }, 1)], 0);
      expect(read.map((f) => [f.input, f.operator])).toEqual([[1, 'r.count']]);
    }
  });

  it('engine - a window operator makes its calls one by one unless its executor offers sections', async () => {
    const calls: string[] = [];
    const executor = (withSections: boolean): ChainExecutor => {
      const e: ChainExecutor = {
        async run(inputs) {
          calls.push(`run ${inputs.length}`);
          return { outputs: [], failures: [] };
        },
        async flush(window) {
          calls.push(`flush ${window.start}`);
          return { output: { key: null, value: window.start, timestamp: window.end - 1 } };
        },
      };
      if (withSections) {
        const section: SectionRunner = async (_executors, _state, job) => {
          calls.push('section');
          return {
            value: job({
              run: (_e, inputs) => (calls.push(`in section run ${inputs.length}`), { outputs: [], failures: [] }),
              flush: (_e, window) => (calls.push(`in section flush ${window.start}`), { output: { key: null, value: window.start, timestamp: window.end - 1 } }),
              beforeLines: (f) => f(),
              limitUsed: () => 0,
            }),
          };
        };
        e.section = section;
      }
      return e;
    };
    const records = [0, 1_500, 2_500].map((t) => ({ key: 'k', value: 1, timestamp: t }));
    const config: WindowConfig = { assigner: { kind: 'tumbling', durationMs: 1_000, offsetMs: 0 }, watermark: { gracePeriodMs: 0 } };
    for (const withSections of [false, true]) {
      calls.length = 0;
      const logic = windowLogic({ config, body: executor(withSections), windowStates: [], hasFlush: true, state: new MemoryState(), channels: ['in/0'] });
      const effects = await logic.process(records, 'in/0', 0);
      // The record at 2 500 moves the watermark past the windows at 0 and 1 000: both flush.
      expect(effects.flushes.map((f) => f.record.value)).toEqual([0, 1_000]);
      expect(calls).toEqual(withSections ? ['section', 'in section run 3', 'in section flush 0', 'in section flush 1000'] : ['run 3', 'flush 0', 'flush 1000']);
    }
  });

  it.each([false, true])('engine - sliding windows: each record counts once in each of its windows, every message\'s window objects the windows\' own (sections %s)', async (withSections) => {
    // Records of two keys, in messages of several records, each counting for three windows.
    const count: ChainStep = { id: 's.count', operator: 'update-state', fn: (_v, ctx) => (ctx as FunctionContext).state('n').increment() };
    const total: ChainStep = { id: 's.total', operator: 'flush', fn: (ctx) => [...(ctx as FunctionContext).state<number>('n').entries()].map(([k, n]) => `${String(k)}=${n}`).sort().join(' ') };
    const executor: ChainExecutor = {
      run: async (inputs, state, options) => runChain([count], inputs, { state, ...options }),
      flush: async (window, state) => runFlush(total, window, { state }),
    };
    if (withSections) {
      executor.section = async (_executors, state, job) => ({
        value: job({ run: (_e, inputs, options) => runChain([count], inputs, { state, ...options }), flush: (_e, window) => runFlush(total, window, { state }), beforeLines: (f) => f(), limitUsed: () => 0 }),
      });
    }
    const config: WindowConfig = { assigner: { kind: 'sliding', durationMs: 3_000, slideMs: 1_000 }, watermark: { gracePeriodMs: 0 } };
    const logic = windowLogic({ config, body: executor, windowStates: ['n'], hasFlush: true, state: new MemoryState(), channels: ['in/0'] });
    const times = [100, 200, 1_100, 1_200, 1_300, 2_100, 3_100, 3_200, 4_500, 5_500, 7_000];
    const flushed: string[] = [];
    for (let i = 0; i < times.length; i += 4) {
      const records = times.slice(i, i + 4).map((t, j) => ownedRecord(j % 2 ? 'b' : 'a', 1, t));
      const effects = await logic.process(records, 'in/0', 0);
      for (const f of effects.flushes) flushed.push(`${f.window.start}:${String(f.record.value)}`);
    }
    for (const f of (await logic.end()).flushes) flushed.push(`${f.window.start}:${String(f.record.value)}`);
    // By hand: window [s, s + 3 000) holds the records with s <= t < s + 3 000.
    const expected = [-2_000, -1_000, 0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000].map((s) => {
      const keys = new Map<string, number>();
      for (let i = 0; i < times.length; i += 4) times.slice(i, i + 4).forEach((t, j) => t >= s && t < s + 3_000 && keys.set(j % 2 ? 'b' : 'a', (keys.get(j % 2 ? 'b' : 'a') ?? 0) + 1));
      return `${s}:${[...keys].map(([k, n]) => `${k}=${n}`).sort().join(' ')}`;
    });
    expect(flushed).toEqual(expected.filter((e) => !e.endsWith(':')));
  });

  it('engine - a window unit run over many messages holds only its late records and failures, not what its steps fed into windows', async () => {
    // The steps before assignment pass every record on (as assign-timestamp does); the windowed steps keep nothing.
    const pass: ChainResult = { outputs: [], failures: [] };
    const executor: ChainExecutor = {
      run: async () => pass,
      flush: async () => ({}),
      section: async (_executors, _state, job) => ({
        value: job({
          run: (e, inputs) => (e === pre ? { outputs: inputs.map((r, input) => ({ ...r, input })), failures: [] } : pass),
          flush: () => ({}),
          beforeLines: (f) => f(),
          limitUsed: () => 0,
        }),
      }),
    };
    const pre: ChainExecutor = { ...executor };
    const config: WindowConfig = { assigner: { kind: 'sliding', durationMs: 3_000, slideMs: 1_000 }, watermark: { gracePeriodMs: 0 } };
    const logic = windowLogic({ config, pre, body: executor, windowStates: [], hasFlush: false, state: new MemoryState(), channels: ['in/0'] });
    const made: number[] = [];
    const host: ManyHost = { starting: () => undefined, logging: () => undefined, waits: (_i, n) => (made.push(n), false) };
    const at = (...times: number[]) => ({ records: times.map((timestamp) => ({ key: 'k', value: 1, timestamp })), channel: 'in/0', now: 0 });
    // Five records, each in three sliding windows; then one late record (the watermark is at 9 000).
    const effects = await logic.processMany!([at(1_000, 2_000, 3_000, 4_000, 10_000), at(500)], host);
    expect(effects?.map((e) => e.late.length)).toEqual([0, 1]);
    // What the loop bounds a group by: records it keeps until it takes the effects in.
    expect(made).toEqual([0, 1]);
  });
});


describe('engine - ownCopy: a value of its own for a native function', () => {
  it('engine - copies plain objects and arrays at every depth, each field as it is, bytes sliced, other objects cloned', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const v = { n: Number.NaN, z: -0, u: undefined, list: [{ a: 1 }], nested: { deeper: { x: 'y' } }, bytes, when: new Date(0), tags: new Map([['k', 1]]) };
    const c = ownCopy(v) as typeof v;
    expect(c).toEqual(v);
    expect(Object.is(c.z, -0) && Number.isNaN(c.n) && 'u' in c).toBe(true);
    expect(c.list).not.toBe(v.list);
    expect(c.list[0]).not.toBe(v.list[0]);
    expect(c.nested.deeper).not.toBe(v.nested.deeper);
    expect(c.bytes).not.toBe(bytes);
    expect(c.when).not.toBe(v.when);
    expect(c.tags).not.toBe(v.tags);
    expect(ownCopy('s')).toBe('s');
  });

  it('engine - a cycle is copied, not followed forever', () => {
    const v: { self?: unknown; n: number } = { n: 1 };
    v.self = v;
    const c = ownCopy(v) as { self: { n: number } };
    expect(c).not.toBe(v);
    expect(c.self.n).toBe(1);
  });
});
