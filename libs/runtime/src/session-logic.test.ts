import { describe, expect, it } from 'vitest';
import { MemoryState, restoreSessions, sessionLogic, type ChainStep, type EngineRecord, type OperatorEffects } from '@ssdk/engine';
import { nativeExecutor } from './native-executor.ts';

interface Ctx {
  state(name: string): { increment(): number; entries(): Iterable<[unknown, number]> };
  window(): { start: number; end: number };
}

// A session count per key, as q11 writes it: update-state counts, flush lists the session's count.
const steps: ChainStep[] = [
  { id: 's.count', operator: 'update-state', states: ['count'], fn: (_v, ctx) => (ctx as Ctx).state('count').increment() },
  {
    id: 's.emit',
    operator: 'flush',
    states: ['count'],
    fn: (ctx) => {
      const c = ctx as Ctx;
      return [...c.state('count').entries()].map(([key, n]) => `${String(key)}:${n}@${c.window().start}-${c.window().end}`);
    },
  },
];

function logic(state = new MemoryState()) {
  const body = nativeExecutor(steps);
  return sessionLogic({ config: { gapMs: 10_000, watermark: { gracePeriodMs: 0 } }, body, windowStates: ['count'], hasFlush: true, state, channels: ['events/0'] });
}

const rec = (key: string, t: number): EngineRecord => ({ key, value: t, timestamp: t });
const input = [rec('a', 0), rec('b', 1_000), rec('a', 9_000), rec('b', 30_000), rec('a', 2_000), rec('a', 35_000), rec('b', 38_000)];
const results = (e: OperatorEffects[]) => e.flatMap((x) => x.flushes.map((f) => [f.session, f.record.value]));

describe('runtime - session windows in a unit', () => {
  it('runtime - sessions flush once closed, late records go out as late, a restored unit goes on from its checkpoint', async () => {
    const whole = logic();
    const all = [await whole.process(input, 'events/0', 0), await whole.end()];
    // b@30000 moves the watermark past [1000,11000) and [0,19000): a@2000 touches only that closed
    // session of a, so it is late; the rest close at the end.
    expect(results(all)).toEqual([
      ['sb', ['b:1@1000-11000']],
      ['sa', ['a:2@0-19000']],
      ['sa', ['a:1@35000-45000']],
      ['sb', ['b:2@30000-48000']],
    ]);
    expect(all[0]!.late.map((l) => [l.record.key, l.record.timestamp])).toEqual([['a', 2_000]]);
    // Nothing of a session's state outlives its flush: no rows to commit, no windows to drop.
    expect(whole.takeDroppedWindows()).toEqual([]);

    // The same records, cut after the fourth, with a crash in between: the second unit starts from
    // the first one's committed progress.
    // Its open sessions are rows of their keys, committed as they change (the last value per key).
    const first = logic();
    const rows = new Map<string, unknown>();
    let written: string[] = [];
    const checkpoint = () => {
      written = [];
      for (const [id, value] of first.takeRows!()) {
        written.push(`${id}${value === undefined ? ' gone' : ''}`);
        if (value === undefined) rows.delete(id);
        else rows.set(id, JSON.parse(JSON.stringify(value)));
      }
      return JSON.parse(JSON.stringify(first.meta())) as unknown;
    };
    const before = [await first.process(input.slice(0, 3), 'events/0', 0)];
    checkpoint();
    expect(written.sort()).toEqual(['0:sa', '0:sb']);
    before.push(await first.process(input.slice(3, 4), 'events/0', 0));
    const meta = checkpoint();
    // b@30000 closed a's session and b's first one, and opened b's second: a's row goes, b's is written again.
    expect(written.sort()).toEqual(['0:sa gone', '0:sb']);
    expect(meta).not.toHaveProperty('sessions');
    const second = logic();
    second.restore(meta, rows);
    const after = [await second.process(input.slice(4), 'events/0', 0), await second.end()];
    expect(results([...before, ...after])).toEqual(results(all));
    expect([...before, ...after].flatMap((e) => e.late.map((l) => l.record.timestamp))).toEqual([2_000]);
  });

  it('runtime - a checkpoint from before session rows (open sessions in meta) restores, and its sessions become rows at the next commit', async () => {
    const whole = logic();
    const all = [await whole.process(input, 'events/0', 0), await whole.end()];
    const first = logic();
    const before = await first.process(input.slice(0, 4), 'events/0', 0);
    // Such a checkpoint's meta held the open sessions themselves.
    const open = restoreSessions(first.takeRows!().filter(([, v]) => v !== undefined), 10_000).sessions;
    const old = JSON.parse(JSON.stringify({ ...(first.meta() as object), sessions: [...open.values()].flat() })) as unknown;
    const second = logic();
    second.restore(old, []);
    expect(second.takeRows!().map(([id]) => id)).toEqual(['0:sb']);
    const after = [await second.process(input.slice(4), 'events/0', 0), await second.end()];
    expect(results([before, ...after])).toEqual(results(all));
  });
});
