import { describe, expect, it } from 'vitest';
import { addChannel, initialWatermarkState } from './watermark.ts';
import { assignSessions, restoreSessions, takeClosedSessions, takeSessionRows, type Session, type SessionConfig, type SessionsState } from './sessions.ts';

const gap10: SessionConfig = { gapMs: 10_000, watermark: { gracePeriodMs: 0 } };
const rec = (key: string | number | null, t: number) => ({ key, value: `${key}@${t}`, timestamp: t });
const fresh = (): SessionsState => ({ watermark: initialWatermarkState(), sessions: new Map() });

/**
 * Runs `records` through one channel in batches of `batch`, closing sessions after each, then ends
 * input. With `restarts`, each batch ends with a checkpoint (the rows taken, kept as a store keeps
 * them, through JSON) and the next starts from a state restored from it.
 */
function run(records: ReturnType<typeof rec>[], config = gap10, batch = records.length, restarts = false) {
  let state = fresh();
  const stored = new Map<string, unknown>();
  if (restarts) state.changes = { appended: new Map(), rewritten: new Set(), rows: new Map() };
  const closed: string[] = [];
  const late: string[] = [];
  const take = () => {
    for (const s of takeClosedSessions(state)) closed.push(`${s.key} [${s.window.start},${s.window.end}) ${s.records.map((r) => r.timestamp).join(' ')}`);
  };
  for (let i = 0; i < records.length; i += batch) {
    const r = assignSessions(records.slice(i, i + batch), 'p0', 0, config, state);
    state = r.state;
    late.push(...r.late.map((l) => `${l.record.key}@${l.record.timestamp}`));
    take();
    if (restarts) {
      for (const [id, value] of takeSessionRows(state)) {
        if (value === undefined) stored.delete(id);
        else stored.set(id, JSON.parse(JSON.stringify(value)));
      }
      state = { watermark: JSON.parse(JSON.stringify(state.watermark)), ...restoreSessions(JSON.parse(JSON.stringify([...stored])) as Array<[string, unknown]>, config.gapMs) };
    }
  }
  state = { ...state, watermark: { ...state.watermark, ended: true, watermark: Number.POSITIVE_INFINITY } };
  take();
  return { closed, late };
}

describe('engine - session windows', () => {
  const cases: Array<{ name: string; records: ReturnType<typeof rec>[]; config?: SessionConfig; closed: string[]; late?: string[] }> = [
    {
      name: 'one record: a session of one gap',
      records: [rec('a', 1_000)],
      closed: ['a [1000,11000) 1000'],
    },
    {
      name: 'records less than a gap apart extend the session; a longer pause starts a new one',
      records: [rec('a', 0), rec('a', 9_000), rec('a', 18_000), rec('a', 28_001)],
      closed: ['a [0,28000) 0 9000 18000', 'a [28001,38001) 28001'],
    },
    {
      name: 'records exactly a gap apart are one session (windows that touch merge, as in Flink)',
      records: [rec('a', 0), rec('a', 10_000)],
      closed: ['a [0,20000) 0 10000'],
    },
    {
      name: 'keys have their own sessions; ties in end are flushed by start, then key',
      records: [rec('b', 0), rec('a', 5_000), rec('a', 0), rec('c', 5_000)],
      closed: ['b [0,10000) 0', 'a [0,15000) 0 5000', 'c [5000,15000) 5000'],
    },
    {
      name: 'an out-of-order record joins the open session it touches, not a closed one',
      // When 22000 arrives the watermark (no grace) is 30000: [14000,24000) has closed, so 22000
      // only extends [30000,40000) back to its own time.
      records: [rec('a', 14_000), rec('a', 30_000), rec('a', 22_000)],
      closed: ['a [14000,24000) 14000', 'a [22000,40000) 22000 30000'],
    },
    {
      name: 'a record in the gap between two open sessions (within the grace period) merges them, records in event-time order',
      config: { gapMs: 10_000, watermark: { gracePeriodMs: 20_000 } },
      records: [rec('a', 0), rec('a', 18_000), rec('a', 9_000)],
      closed: ['a [0,28000) 0 9000 18000'],
    },
    {
      name: 'a record whose own session closed and that touches no open one is late',
      records: [rec('a', 0), rec('b', 30_000), rec('a', 5_000), rec('b', 21_000)],
      closed: ['a [0,10000) 0', 'b [21000,40000) 21000 30000'],
      late: ['a@5000'],
    },
    {
      name: 'a closed session takes no more records, even before it is flushed',
      // 40000 moves the watermark past [0,10000); 9000 would have extended it: it is late.
      records: [rec('a', 0), rec('z', 40_000), rec('a', 9_000)],
      closed: ['a [0,10000) 0', 'z [40000,50000) 40000'],
      late: ['a@9000'],
    },
    {
      name: 'records without a key form sessions of their own',
      records: [rec(null, 0), rec('null', 1_000)],
      closed: ['null [0,10000) 0', 'null [1000,11000) 1000'],
    },
    {
      name: 'the number 1 and the string "1" are different keys',
      records: [rec(1, 0), rec('1', 0)],
      closed: ['1 [0,10000) 0', '1 [0,10000) 0'],
    },
  ];

  for (const c of cases) {
    it(`engine - sessions: ${c.name}`, () => {
      const whole = run(c.records, c.config);
      expect(whole.closed).toEqual(c.closed);
      expect(whole.late).toEqual(c.late ?? []);
      // What a session holds and what is late do not depend on batching.
      expect(run(c.records, c.config, 1)).toEqual(whole);
      // Nor on a restart from the rows of a checkpoint after any record.
      expect(run(c.records, c.config, 1, true)).toEqual(whole);
      expect(run(c.records, c.config, 2, true)).toEqual(whole);
    });
  }

  it('engine - sessions: a session closes when the watermark reaches its end, not before', () => {
    const state = fresh();
    const r = assignSessions([rec('a', 0), rec('b', 9_999)], 'p0', 0, gap10, state);
    expect(takeClosedSessions(r.state)).toEqual([]);
    const s = assignSessions([rec('b', 10_000)], 'p0', 0, gap10, r.state);
    expect(takeClosedSessions(s.state).map((c) => [c.key, c.window])).toEqual([['a', { start: 0, end: 10_000 }]]);
    expect([...s.state.sessions.keys()]).toEqual(['sb']);
  });

  it('engine - sessions: random runs — every session the watermark reached is taken, and no other', () => {
    // Out of order within a grace period, few keys (sessions extend, merge and start before others)
    // and batches of any size: after each take, what was taken ended at or before the watermark and
    // what is left ends after it.
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n);
    const config: SessionConfig = { gapMs: 1_000, watermark: { gracePeriodMs: 3_000 } };
    for (let runNo = 0; runNo < 40; runNo++) {
      let state = fresh();
      let t = 0;
      let taken = 0;
      let held = 0;
      for (let b = 0; b < 60; b++) {
        const batch = Array.from({ length: 1 + random(8) }, () => rec(`k${random(5)}`, (t += random(700)) - random(3_000)));
        const r = assignSessions(batch, 'p0', 0, config, state);
        state = r.state;
        held += batch.length - r.late.length;
        const wm = state.watermark.watermark;
        for (const c of takeClosedSessions(state)) {
          expect(c.window.end).toBeLessThanOrEqual(wm);
          taken += c.records.length;
        }
        for (const list of state.sessions.values()) for (const s of list) expect(s.end).toBeGreaterThan(wm);
      }
      state = { ...state, watermark: { ...state.watermark, ended: true, watermark: Number.POSITIVE_INFINITY } };
      for (const c of takeClosedSessions(state)) taken += c.records.length;
      expect(state.sessions.size).toBe(0);
      expect(taken).toBe(held);
    }
  });

  it('engine - sessions: a batch looks only at the keys whose sessions the watermark may have closed', () => {
    // 1 000 bidders with open sessions: closing one must not read the other 999 (q11 holds a couple
    // of thousand open, and took them all in every batch).
    class CountingMap<K, V> extends Map<K, V> {
      reads = 0;
      override get(key: K): V | undefined {
        this.reads++;
        return super.get(key);
      }
      override *[Symbol.iterator](): MapIterator<[K, V]> {
        for (const entry of super.entries()) {
          this.reads++;
          yield entry;
        }
      }
      override entries(): MapIterator<[K, V]> {
        return this[Symbol.iterator]();
      }
    }
    const sessions = new CountingMap<string, Session[]>();
    let state: SessionsState = { ...fresh(), sessions };
    state = assignSessions([rec('first', 0), ...Array.from({ length: 1_000 }, (_, i) => rec(`k${i}`, 20_000 + i))], 'p0', 0, gap10, state).state;
    takeClosedSessions(state);
    // The watermark reaches k0's end alone.
    state = assignSessions([rec('new', 30_000)], 'p0', 0, gap10, state).state;
    sessions.reads = 0;
    expect(takeClosedSessions(state).map((c) => c.key)).toEqual(['k0']);
    expect(sessions.reads).toBe(1);
  });

  it('engine - sessions: a silent channel holds the watermark back until it is idle', () => {
    const config: SessionConfig = { gapMs: 10_000, watermark: { gracePeriodMs: 0, idlenessMs: 5_000 } };
    const state: SessionsState = { watermark: addChannel(initialWatermarkState(), 'p1', 0), sessions: new Map() };
    const held = assignSessions([rec('a', 0), rec('a', 50_000)], 'p0', 1_000, config, state);
    expect(held.state.watermark.watermark).toBe(Number.NEGATIVE_INFINITY);
    const idle = assignSessions([rec('a', 60_000)], 'p0', 6_000, config, held.state);
    expect(idle.state.watermark.watermark).toBe(60_000);
    expect(takeClosedSessions(idle.state).map((c) => c.window)).toEqual([{ start: 0, end: 10_000 }]);
    expect(idle.state.sessions.get('sa')!.map((s) => [s.start, s.end])).toEqual([[50_000, 70_000]]);
  });

  it('engine - sessions: a checkpoint writes the records a key got since the last one, and the whole key only when its sessions merged or closed', () => {
    // A grace period that keeps the watermark 100 s behind: sessions close only when told to.
    const config: SessionConfig = { gapMs: 10_000, watermark: { gracePeriodMs: 100_000 } };
    let state: SessionsState = { ...fresh(), changes: { appended: new Map(), rewritten: new Set(), rows: new Map() } };
    const step = (records: ReturnType<typeof rec>[]) => {
      state = assignSessions(records, 'p0', 0, config, state).state;
      takeClosedSessions(state);
      return takeSessionRows(state).map(([id, v]) => `${id}=${v === undefined ? 'gone' : v.map((r) => r.timestamp).join(',')}`);
    };
    expect(step([rec('a', 0), rec('b', 1)])).toEqual(['0:sa=0', '0:sb=1']);
    // A hot key: each checkpoint adds a row of its new records, nothing of what it held before.
    expect(step([rec('a', 2_000), rec('a', 3_000)])).toEqual(['1:sa=2000,3000']);
    expect(step([rec('a', 4_000)])).toEqual(['2:sa=4000']);
    // Two sessions of c, then a record that bridges them: c is written again, whole, in its merged order.
    expect(step([rec('c', 5_000), rec('c', 25_000)])).toEqual(['0:sc=5000,25000']);
    expect(step([rec('c', 15_000)])).toEqual(['0:sc=5000,25000,15000']);
    // The watermark passes a's, b's and c's sessions: their rows go.
    expect(step([rec('d', 200_000), rec('e', 195_000)])).toEqual(['0:sd=200000', '0:se=195000', '0:sa=gone', '1:sa=gone', '2:sa=gone', '0:sb=gone', '0:sc=gone']);
    // A key with a closed session and an open one: written again as the open one.
    expect(step([rec('e', 230_000), rec('f', 305_001)])).toEqual(['0:sf=305001', '0:se=230000']);
    // Restored from those rows: the sessions as they are.
    expect(restoreSessions([['0:sa', [rec('a', 0)]], ['1:sa', [rec('a', 5_000), rec('a', 30_000)]], ['0:sb', [rec('b', 2)]]], 10_000).sessions.get('sa')!.map((s) => [s.start, s.end, s.records.length])).toEqual([
      [0, 15_000, 2],
      [30_000, 40_000, 1],
    ]);
  });
});
