import { describe, expect, it } from 'vitest';
import { sourceFunctions } from './functions.ts';
import { planDataflow } from '@ssdk/plan';
import { parseServicesFile } from '@ssdk/spec';
import { PROGRESS_INTERVAL_MS, ProgressTracker, type UnitProgressPlan } from './progress.ts';
import { buildTopology } from './topology.ts';

const NEG = Number.NEGATIVE_INFINITY;
const WRITERS = ['up|src/0', 'up|src/1', 'up|src/2'];

function tracker(plan: Partial<UnitProgressPlan>, channels = [{ channel: 'mid/0', topic: 'mid' }], now = 0) {
  return new ProgressTracker('me', { originsByTopic: new Map([['mid', WRITERS]]), assignsTime: false, publishTo: ['out'], ...plan }, channels, undefined, now);
}

describe('runtime - event-time progress in band', () => {
  it('runtime - a source channel publishes the highest time it has read, when it changes, at most once an interval', () => {
    const t = tracker({}, [{ channel: 'src/0', topic: 'src' }]);
    expect(t.due(0, true, undefined)).toBeUndefined(); // nothing read yet: nothing to say
    t.observe('src/0', 5_000, false, 1);
    expect(t.due(1, false, undefined)).toEqual([{ origin: 'me|src/0', time: 5_000, idle: false }]);
    t.observe('src/0', 3_000, false, 2); // older: progress stays
    t.observe('src/0', 7_000, false, 3);
    expect(t.due(3, false, undefined)).toBeUndefined(); // within the interval
    expect(t.due(1 + PROGRESS_INTERVAL_MS, false, undefined)).toEqual([{ origin: 'me|src/0', time: 7_000, idle: false }]);
    expect(t.due(1_000, true, undefined)).toBeUndefined(); // unchanged
    expect(t.bound('src/0')).toBeUndefined(); // a window goes by the records of a source channel
  });

  it('runtime - behind a shuffle, a channel is as far as the least of its writers; one not heard from holds it back', () => {
    const t = tracker({});
    t.observe('mid/0', 90_000, false, 0); // records run ahead of what the writers vouch for
    t.receive('mid/0', [{ origin: 'up|src/0', time: 10_000, idle: false }, { origin: 'up|src/1', time: 20_000, idle: false }]);
    expect(t.bound('mid/0')).toBe(NEG);
    expect(t.due(0, true, undefined)).toBeUndefined();
    t.receive('mid/0', [{ origin: 'up|src/2', time: 15_000, idle: false }, { origin: 'someone|else/0', time: 1, idle: false }]);
    expect(t.bound('mid/0')).toBe(10_000);
    expect(t.due(0, true, undefined)).toEqual([{ origin: 'me|mid/0', time: 10_000, idle: false }]);
    // A repeat from a replay says less: time never goes back.
    expect(t.receive('mid/0', [{ origin: 'up|src/0', time: 8_000, idle: false }])).toBe(false);
    t.receive('mid/0', [{ origin: 'up|src/0', time: 30_000, idle: false }]);
    expect(t.bound('mid/0')).toBe(15_000);
  });

  it('runtime - idle writers hold nothing back; when all are idle the channel is idle and goes by its records', () => {
    const t = tracker({});
    t.receive('mid/0', WRITERS.map((origin, i) => ({ origin, time: 10_000 * (i + 1), idle: false })));
    t.receive('mid/0', [{ origin: 'up|src/0', time: 99_000, idle: true }]);
    expect(t.bound('mid/0')).toBe(20_000);
    t.receive('mid/0', [{ origin: 'up|src/1', time: 0, idle: true }, { origin: 'up|src/2', time: 0, idle: true }]);
    expect(t.bound('mid/0')).toBeUndefined();
    t.observe('mid/0', 42_000, false, 5);
    expect(t.due(5, true, undefined)).toEqual([{ origin: 'me|mid/0', time: 42_000, idle: true }]);
    // Awake again: the time an idle entry carried did not count.
    t.receive('mid/0', [{ origin: 'up|src/0', time: 11_000, idle: false }]);
    expect(t.bound('mid/0')).toBe(11_000);
  });

  it('runtime - a quiet source turns idle after the idleness of the windows downstream', () => {
    const t = tracker({ idlenessMs: 5_000 }, [
      { channel: 'src/0', topic: 'src' },
      { channel: 'src/1', topic: 'src' },
    ]);
    t.observe('src/0', 1_000, false, 0);
    expect(t.due(4_999, true, undefined)).toEqual([{ origin: 'me|src/0', time: 1_000, idle: false }]);
    // src/1 never had a record: idle once the timeout has passed since reading began.
    expect(t.due(5_000, true, undefined)).toEqual([
      { origin: 'me|src/0', time: 1_000, idle: true },
      { origin: 'me|src/1', time: NEG, idle: true },
    ]);
    t.observe('src/0', 2_000, false, 6_000);
    expect(t.due(6_000, true, undefined)).toEqual([
      { origin: 'me|src/0', time: 2_000, idle: false },
      { origin: 'me|src/1', time: NEG, idle: true },
    ]);
  });

  it('runtime - one writer: records arrive in its order, so what the channel has seen counts too', () => {
    const t = new ProgressTracker('me', { originsByTopic: new Map([['mid', ['up|src/0']]]), assignsTime: false, publishTo: ['out'] }, [{ channel: 'mid/0', topic: 'mid' }], undefined, 0);
    t.observe('mid/0', 12_000, false, 0);
    expect(t.bound('mid/0')).toBeUndefined();
    expect(t.due(0, true, undefined)).toEqual([{ origin: 'me|mid/0', time: 12_000, idle: false }]);
    t.receive('mid/0', [{ origin: 'up|src/0', time: 20_000, idle: false }]);
    expect(t.due(1_000, true, undefined)).toEqual([{ origin: 'me|mid/0', time: 20_000, idle: false }]);
  });

  it('runtime - a timestamp step that changes times starts event time over; a window forwards its watermark', () => {
    const t = tracker({ assignsTime: true });
    t.receive('mid/0', WRITERS.map((origin) => ({ origin, time: 1_000, idle: false })));
    expect(t.observe('mid/0', 7_000_000, true, 0)).toBe(true);
    expect(t.bound('mid/0')).toBeUndefined();
    expect(t.due(0, true, undefined)).toEqual([{ origin: 'me|mid/0', time: 7_000_000, idle: false }]);
    expect(t.due(1_000, true, 6_000)).toEqual([{ origin: 'me|mid/0', time: 6_000, idle: false }]);
  });

  it('runtime - a restarted unit resumes from the committed progress', () => {
    const t = tracker({});
    t.receive('mid/0', WRITERS.map((origin, i) => ({ origin, time: 1_000 + i, idle: false })));
    const again = new ProgressTracker('me', { originsByTopic: new Map([['mid', WRITERS]]), assignsTime: false, publishTo: ['out'] }, [{ channel: 'mid/0', topic: 'mid' }], structuredClone(t.snapshot()), 50);
    expect(again.bound('mid/0')).toBe(1_000);
    // The snapshot is a copy: the tracker goes on without changing what was committed.
    const committed = t.snapshot();
    t.receive('mid/0', [{ origin: 'up|src/0', time: 5_000, idle: false }]);
    expect(committed['mid/0']!.received['up|src/0']!.time).toBe(1_000);
  });

  it('runtime - the plan: who hears whom, which topics get progress, the idleness of the windows downstream', async () => {
    const file = '/virtual/services.yaml';
    const { dataflow } = parseServicesFile(SERVICES, file);
    const { plan } = planDataflow(dataflow, { partitions: 2 });
    const topology = await buildTopology(plan!, { native: sourceFunctions(file, dataflow) }, { isolation: 'native' });
    const unit = (id: string) => topology.units.find((u) => u.id === id)!.progress!;
    const window = topology.units.find((u) => u.plan.window && u.plan.steps.some((s) => s.operator === 'flush'))!;
    const first = unit('split.words');
    expect(first.originsByTopic.size).toBe(0); // reads a source
    expect(first.idlenessMs).toBe(4_000);
    expect(first.publishTo).toEqual(['split.words.out']);
    // The window's input is written by one unit that reads 2 partitions: 2 origins per channel.
    const [topic, origins] = [...window.progress!.originsByTopic].at(-1)!;
    expect(origins).toHaveLength(2);
    expect(origins.every((o) => o.endsWith(`/${o.at(-1)}`) && o.includes('|'))).toBe(true);
    expect(topic).not.toBe('lines');
    expect(window.progress!.publishTo).toEqual([]); // its sink is read by no unit
  });
});

const SERVICES = `apiVersion: 0.5.0
meta: {name: progress, namespace: test, version: 0.1.0}
topics:
  lines: {schema: {value: {type: string}}}
  counts: {schema: {value: {type: u32}}}
services:
  split:
    sources: [{type: topic, id: lines}]
    transforms:
      - operator: flat-map
        run: |
          function words(l: string): string[] {
            return l.split(' ');
          }
    window:
      tumbling: {duration: 10s}
      watermark: {grace-period: 1s, idleness: 4s}
      assign-timestamp:
        run: |
          function at(w: string, t: number): number {
            return t;
          }
      partition:
        assign-key:
          run: |
            function byWord(w: string): string {
              return w;
            }
        update-state:
          run: |
            function add(w: string, ctx: Ctx): void {
              ctx.state('n').increment();
            }
      flush:
        run: |
          function total(ctx: Ctx): number {
            let n = 0;
            for (const [, c] of ctx.state('n').entries()) n += c as number;
            return n;
          }
    states:
      n:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    sinks: [{type: topic, id: counts}]
`;
