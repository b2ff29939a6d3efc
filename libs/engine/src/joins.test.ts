import { describe, expect, it } from 'vitest';
import type { EngineRecord } from './chain.ts';
import { advanceJoin, initialJoinState, joinBatch, joinMeta, restoreJoin, takeJoinRows, type JoinConfig } from './joins.ts';

const wm = { gracePeriodMs: 0 };
const TABLE: JoinConfig = { kind: 'table', table: 'person', stream: 'auction', ttlMs: 100, watermark: wm };
const INTERVAL: JoinConfig = { kind: 'interval', left: 'auction', right: 'bid', lowerMs: 0, upperMs: 50, until: 'expires', watermark: wm };

const rec = (key: number, side: string, value: Record<string, unknown>, timestamp: number): EngineRecord => ({ key, value: { [side]: value }, timestamp });

/** Runs records one batch each (or all in one batch) and then the end of input; returns every output value and late time. */
function run(config: JoinConfig, records: EngineRecord[], oneBatch = false) {
  let state = initialJoinState(['c']);
  const outputs: unknown[] = [];
  const late: number[] = [];
  for (const batch of oneBatch ? [records] : records.map((r) => [r])) {
    const r = joinBatch(batch, 'c', 0, config, state);
    state = r.state;
    outputs.push(...r.outputs.map((o) => o.record.value));
    late.push(...r.late.map((l) => l.record.timestamp));
  }
  outputs.push(...advanceJoin(config, state, 0, true).map((o) => o.record.value));
  return { outputs, late, state };
}

describe('joins - stream-table', () => {
  const cases: Array<{ name: string; records: EngineRecord[]; want: unknown[] }> = [
    { name: 'a stream record finds the latest table value of its key', records: [rec(1, 'person', { n: 'a' }, 0), rec(1, 'person', { n: 'b' }, 5), rec(1, 'auction', { id: 9 }, 6)], want: [{ person: { n: 'b' }, auction: { id: 9 } }] },
    { name: 'a stream record earlier in event time than the table record finds nothing', records: [rec(1, 'auction', { id: 9 }, 0), rec(1, 'person', { n: 'a' }, 1)], want: [] },
    {
      name: 'event time, not arrival, orders the sides: a table record that arrives after a later stream record still joins it',
      records: [rec(1, 'auction', { id: 9 }, 5), rec(1, 'person', { n: 'a' }, 1), rec(2, 'person', { n: 'x' }, 9)],
      want: [{ person: { n: 'a' }, auction: { id: 9 } }],
    },
    {
      name: 'a stream record joins the table as of its own time, not a later value of the key',
      records: [rec(1, 'person', { n: 'a' }, 0), rec(1, 'person', { n: 'b' }, 10), rec(1, 'auction', { id: 9 }, 5)],
      want: [{ person: { n: 'a' }, auction: { id: 9 } }],
    },
    { name: 'a table record and a stream record of the same time: the table record first', records: [rec(1, 'auction', { id: 9 }, 3), rec(1, 'person', { n: 'a' }, 3)], want: [{ person: { n: 'a' }, auction: { id: 9 } }] },
    { name: 'other keys do not join', records: [rec(1, 'person', { n: 'a' }, 0), rec(2, 'auction', { id: 9 }, 1)], want: [] },
    { name: 'every stream record of the key joins, in order', records: [rec(1, 'person', { n: 'a' }, 0), rec(1, 'auction', { id: 1 }, 1), rec(1, 'auction', { id: 2 }, 2)], want: [{ person: { n: 'a' }, auction: { id: 1 } }, { person: { n: 'a' }, auction: { id: 2 } }] },
    { name: 'retention: an entry older than its ttl behind the watermark is gone', records: [rec(1, 'person', { n: 'a' }, 0), rec(2, 'person', { n: 'x' }, 150), rec(1, 'auction', { id: 1 }, 150)], want: [] },
    { name: 'retention: at exactly ttl the entry still joins', records: [rec(1, 'person', { n: 'a' }, 0), rec(1, 'auction', { id: 1 }, 100)], want: [{ person: { n: 'a' }, auction: { id: 1 } }] },
    { name: 'a newer table record renews the ttl', records: [rec(1, 'person', { n: 'a' }, 0), rec(1, 'person', { n: 'b' }, 90), rec(1, 'auction', { id: 1 }, 180)], want: [{ person: { n: 'b' }, auction: { id: 1 } }] },
  ];
  for (const c of cases) {
    it(`joins - ${c.name}`, () => {
      expect(run(TABLE, c.records).outputs).toEqual(c.want);
      // Batching never changes the result: the watermark advances per record.
      expect(run(TABLE, c.records, true).outputs).toEqual(c.want);
    });
  }

  it('joins - expired table entries are purged, so state stays bounded', () => {
    const records = Array.from({ length: 1000 }, (_, i) => rec(i, 'person', { n: i }, i * 10));
    const { state } = run(TABLE, records, true);
    // Purged at the end of input (watermark +inf); before it, only the last ttl's worth is kept.
    expect(state.table.size).toBe(0);
    let s = initialJoinState(['c']);
    s = joinBatch(records, 'c', 0, TABLE, s).state;
    expect(s.table.size).toBe(11);
  });

  it('joins - a record of neither side is reported, not dropped silently', () => {
    const r = joinBatch([rec(1, 'bid', { p: 1 }, 0)], 'c', 0, TABLE, initialJoinState(['c']));
    expect(r.unmatched).toEqual([{ input: 0, reason: 'the record is neither `person` nor `auction`, the two sides of the join' }]);
  });
});

describe('joins - interval', () => {
  const auction = (id: number, t: number, expires: number) => rec(id, 'auction', { id, expires }, t);
  const bid = (a: number, price: number, t: number) => rec(a, 'bid', { price, t }, t);
  const cases: Array<{ name: string; records: EngineRecord[]; want: unknown[]; late?: number[] }> = [
    {
      name: 'bids inside [t, expires] join, in event-time order; the bid at expires counts, after it not',
      records: [auction(1, 0, 20), bid(1, 5, 10), bid(1, 7, 20), bid(1, 9, 21)],
      want: [{ auction: { id: 1, expires: 20 }, bid: [{ price: 5, t: 10 }, { price: 7, t: 20 }] }],
    },
    { name: 'an auction without bids leaves with an empty list', records: [auction(1, 0, 20), bid(2, 5, 30)], want: [{ auction: { id: 1, expires: 20 }, bid: [] }] },
    {
      name: 'upper caps the interval when the left record ends later',
      records: [auction(1, 0, 500), bid(1, 1, 50), bid(1, 2, 51)],
      want: [{ auction: { id: 1, expires: 500 }, bid: [{ price: 1, t: 50 }] }],
    },
    {
      name: 'ties in event time keep arrival order',
      records: [auction(1, 0, 20), bid(1, 3, 10), bid(1, 1, 10), bid(1, 2, 10)],
      want: [{ auction: { id: 1, expires: 20 }, bid: [{ price: 3, t: 10 }, { price: 1, t: 10 }, { price: 2, t: 10 }] }],
    },
    {
      name: 'intervals leave by end, then start: the one ending first comes first',
      records: [auction(1, 0, 40), auction(2, 1, 10), bid(2, 1, 5), bid(1, 2, 30)],
      want: [
        { auction: { id: 2, expires: 10 }, bid: [{ price: 1, t: 5 }] },
        { auction: { id: 1, expires: 40 }, bid: [{ price: 2, t: 30 }] },
      ],
    },
    {
      name: 'a right record that comes before its left one is buffered while a left one could still hold it',
      records: [rec(1, 'bid', { price: 1, t: 5 }, 5), rec(1, 'auction', { id: 1, expires: 9 }, 5)],
      want: [{ auction: { id: 1, expires: 9 }, bid: [{ price: 1, t: 5 }] }],
    },
    {
      name: 'lateness: a record behind the watermark goes to late events, whichever side',
      records: [auction(1, 0, 20), bid(9, 1, 30), bid(1, 5, 10), auction(2, 15, 40)],
      want: [{ auction: { id: 1, expires: 20 }, bid: [] }],
      late: [10, 15],
    },
  ];
  for (const c of cases) {
    it(`joins - ${c.name}`, () => {
      const a = run(INTERVAL, c.records);
      expect(a.outputs).toEqual(c.want);
      expect(a.late).toEqual(c.late ?? []);
      const b = run(INTERVAL, c.records, true);
      expect(b.outputs).toEqual(c.want);
      expect(b.late).toEqual(c.late ?? []);
    });
  }

  it('joins - retention: a closed left record and right records no left one can take are forgotten', () => {
    let s = initialJoinState(['c']);
    s = joinBatch([auction(1, 0, 20), bid(1, 5, 10), bid(3, 5, 12)], 'c', 0, INTERVAL, s).state;
    expect([s.lefts.size, s.rights.size]).toEqual([1, 1]);
    const r = joinBatch([bid(7, 1, 30)], 'c', 0, INTERVAL, s);
    expect(r.outputs.map((o) => [o.bounds, o.origin])).toEqual([[{ start: 0, end: 20 }, 'c#0']]);
    expect([r.state.lefts.size, [...r.state.rights.keys()]]).toEqual([0, ['n7']]);
  });

  /** What a store keeps of the rows a join hands over at each checkpoint: the last value per id, none once gone. */
  const checkpoint = (s: ReturnType<typeof initialJoinState>, stored: Map<string, unknown>) => {
    for (const [id, value] of takeJoinRows(s)) {
      if (value === undefined) stored.delete(id);
      else stored.set(id, JSON.parse(JSON.stringify(value)));
    }
    return JSON.parse(JSON.stringify(joinMeta(s))) as unknown;
  };

  it('joins - the state survives a checkpoint: a restored join goes on as if never stopped', () => {
    const first = [auction(1, 0, 20), bid(1, 5, 10)];
    const rest = [bid(1, 8, 15), bid(4, 1, 30)];
    const whole = run(INTERVAL, [...first, ...rest]).outputs;
    let s = initialJoinState(['c']);
    s.touched = new Set();
    s = joinBatch(first, 'c', 0, INTERVAL, s).state;
    const stored = new Map<string, unknown>();
    s = restoreJoin(checkpoint(s, stored), INTERVAL, stored);
    const r = joinBatch(rest, 'c', 0, INTERVAL, s);
    expect([...r.outputs, ...advanceJoin(INTERVAL, r.state, 0, true)].map((o) => o.record.value)).toEqual(whole);
  });

  it('joins - a checkpoint writes the keys that changed since the last one, and removes the ones gone', () => {
    let s = initialJoinState(['c']);
    s.touched = new Set();
    const stored = new Map<string, unknown>();
    s = joinBatch([auction(1, 0, 20), bid(1, 5, 10), auction(2, 11, 40)], 'c', 0, INTERVAL, s).state;
    checkpoint(s, stored);
    // Bid 1 joined auction 1 and then went: no left record to come (at or after 11) can take it.
    expect([...stored.keys()].sort()).toEqual(['ln1', 'ln2']);
    // A bid of auction 2 only: auction 1's rows are not written again.
    s = joinBatch([bid(2, 6, 12)], 'c', 0, INTERVAL, s).state;
    expect(takeJoinRows(s).map(([id]) => id).sort()).toEqual(['ln2', 'rn2']);
    // Past both intervals' ends: the lefts close, and the rights no left record to come can take go.
    s = joinBatch([bid(9, 3, 90)], 'c', 0, INTERVAL, s).state;
    checkpoint(s, stored);
    expect([...stored.keys()]).toEqual(['rn9']);
  });

  it('joins - a checkpoint from before rows (buffers in meta) restores, and its buffers are written as rows next time', () => {
    const first = [auction(1, 0, 20), bid(1, 5, 10)];
    const rest = [bid(1, 8, 15), bid(4, 1, 30)];
    const whole = run(INTERVAL, [...first, ...rest]).outputs;
    const s = joinBatch(first, 'c', 0, INTERVAL, initialJoinState(['c'])).state;
    const old = { ...(joinMeta(s) as object), table: [], lefts: [...s.lefts.values()].flat(), rights: [...s.rights.values()].flat() };
    const restored = restoreJoin(JSON.parse(JSON.stringify(old)), INTERVAL);
    expect(takeJoinRows(restored).map(([id]) => id).sort()).toEqual(['ln1', 'rn1']);
    const r = joinBatch(rest, 'c', 0, INTERVAL, restored);
    expect([...r.outputs, ...advanceJoin(INTERVAL, r.state, 0, true)].map((o) => o.record.value)).toEqual(whole);
  });
});
