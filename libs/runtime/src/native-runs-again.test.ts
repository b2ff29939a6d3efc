import { describe, expect, it } from 'vitest';
import { chainLogic, joinLogic, MemoryState, ownedRecord, sessionLogic, windowLogic, type ChainStep, type EngineRecord, type FunctionContext, type SqlRow, type ValueSource } from '@ssdk/engine';
import { nativeExecutor } from './native-executor.ts';

// The native executor runs the same records again on its own: the halves of a batch past its
// limit, and every `ctx.sql` round after the first. A function that changes the value it was
// given in place must not see its own change there: each run starts from the value as it was
// read (the host's records are `ownedRecord`s that can read their value again, as a message's
// frame or carried batch can). Without that, the bump below is counted once per run.

interface Reading {
  name: string;
  n: number;
}

/** A message as JSON text per record: what each record's value is read again from. */
function message(values: Reading[]): { records: EngineRecord[]; reads: () => number } {
  const texts = values.map((v) => JSON.stringify(v));
  let reads = 0;
  const again: ValueSource = {
    valueAgain(from) {
      reads++;
      return JSON.parse(texts[from as number]!) as unknown;
    },
  };
  const records = texts.map((t, i) => ownedRecord(values[i]!.name, JSON.parse(t) as unknown, i, undefined, again, i));
  return { records, reads: () => reads };
}

const bumpInPlace: ChainStep = {
  id: 's.bump',
  operator: 'map',
  fn: (v: unknown) => {
    const r = v as Reading;
    r.n = r.n + 1;
    return r;
  },
};

describe('runtime - native runs again start from the values as they were read', () => {
  it('runtime - a ctx.sql round after the first sees each value as read, not as the round before changed it', async () => {
    const steps: ChainStep[] = [
      bumpInPlace,
      {
        id: 's.ask',
        operator: 'map',
        fn: (v: unknown, ctx: unknown) => {
          const r = v as Reading;
          const [row] = (ctx as FunctionContext).sql('SELECT $1::int * 10 AS tenfold', [r.n]);
          return { name: r.name, n: r.n, tenfold: row!['tenfold'] };
        },
      },
    ];
    const queries: unknown[] = [];
    const sql = async (_query: string, params: unknown[]): Promise<SqlRow[]> => {
      queries.push(params[0]);
      return [{ tenfold: Number(params[0]) * 10 }];
    };
    const { records, reads } = message([
      { name: 'a', n: 1 },
      { name: 'b', n: 5 },
    ]);
    const r = await nativeExecutor(steps, { sql }).run(records, new MemoryState(), { owned: true });
    expect(r.failures).toEqual([]);
    expect(r.outputs.map((o) => o.value)).toEqual([
      { name: 'a', n: 2, tenfold: 20 },
      { name: 'b', n: 6, tenfold: 60 },
    ]);
    // One round asked, the next had the rows: each value read again once, each query made once.
    expect(reads()).toBe(2);
    expect(queries.sort()).toEqual([2, 6]);
  });

  it('runtime - the half of a batch run again after the batch ran past its limit sees each value as read', async () => {
    const steps: ChainStep[] = [
      bumpInPlace,
      {
        id: 's.slow',
        operator: 'filter',
        fn: (v: unknown) => {
          if ((v as Reading).name === 'spin') for (;;) {
            /* forever */
          }
          return true;
        },
      },
    ];
    const { records } = message([
      { name: 'a', n: 1 },
      { name: 'spin', n: 0 },
      { name: 'b', n: 7 },
    ]);
    const r = await nativeExecutor(steps, { timeoutMs: 150 }).run(records, new MemoryState(), { owned: true });
    expect(r.failures.map((f) => [f.input, f.reason])).toEqual([[1, 'timed out after 150 ms (function-timeout)']]);
    // 'a' ran in the whole batch, in [a], and 'b' in the whole batch, in [spin b] and in [b]: once each as far as they can tell.
    expect(r.outputs.map((o) => [o.input, o.value])).toEqual([
      [0, { name: 'a', n: 2 }],
      [2, { name: 'b', n: 8 }],
    ]);
  });

  it('runtime - a record that cannot be read again (no source) keeps the value its maker gave, as before', async () => {
    const plain = ownedRecord('k', { name: 'k', n: 1 }, 0);
    const exec = nativeExecutor([bumpInPlace]);
    await exec.run([plain], new MemoryState(), { owned: true });
    const again = await exec.run([plain], new MemoryState(), { owned: true });
    // Nothing to read it again from: the second run sees what the first left.
    expect(again.outputs.map((o) => o.value)).toEqual([{ name: 'k', n: 3 }]);
  });
});

// A window, session or join unit runs records again too: its window's steps in every `ctx.sql`
// round (a round runs the whole section again), a section taken back and run call by call, a
// session's records when it closes, the steps before a join. Each run after the first starts
// from the values as they were read, whichever of the unit's steps changed them in place.
describe('runtime - window, session and join units run again from the values as they were read', () => {
  /** A bid: the step bumps its price in place, then asks ctx.sql about the bumped price and keeps the answer per key. */
  interface Bid {
    bidder: string;
    price: number;
  }
  const bumpAndAsk = (v: unknown, ctx: unknown): Bid => {
    const bid = v as Bid;
    bid.price = bid.price + 1;
    const [row] = (ctx as FunctionContext).sql('SELECT $1::int AS price', [bid.price]);
    return { bidder: bid.bidder, price: row!['price'] as number };
  };
  const keep = (fn: (v: unknown, ctx: unknown) => Bid, promise = false): ChainStep => ({
    id: 'u.keep',
    operator: 'update-state',
    states: ['prices'],
    fn: (v: unknown, ctx: unknown) => {
      // A promise left behind: its executor makes no sections from then on (call by call).
      if (promise) void Promise.resolve();
      const bid = fn(v, ctx);
      (ctx as FunctionContext).state<number[]>('prices').update((p) => [...(p ?? []), bid.price]);
    },
  });
  const list: ChainStep = {
    id: 'u.list',
    operator: 'flush',
    states: ['prices'],
    fn: (ctx: unknown) => [...(ctx as FunctionContext).state<number[]>('prices').entries()].map(([k, p]) => `${String(k)}:${p.join(',')}`).sort(),
  };
  const byBidder: ChainStep = { id: 'u.by-bidder', operator: 'assign-key', fn: (v: unknown) => (v as Bid).bidder };
  /** The fused q5 shape: the window's input is a value a step before it made (`event.bid`). */
  const onlyBids: ChainStep = { id: 'u.only-bids', operator: 'filter-map', fn: (v: unknown) => (v as { bid?: Bid }).bid };

  function asked(): { sql: (q: string, p: unknown[]) => Promise<SqlRow[]>; queries: unknown[] } {
    const queries: unknown[] = [];
    return { queries, sql: async (_q, params) => (queries.push(params[0]), [{ price: params[0] }]) };
  }
  /** Three bids, each read again from its message as it came (`ownedRecord`'s source); `wrap`: as events, `{bid}`. */
  const bids = (wrap = false) =>
    (
      [
        ['ann', 10],
        ['bo', 20],
        ['ann', 30],
      ] as const
    ).map(([bidder, price], t) => {
      const read = () => (wrap ? { bid: { bidder, price } } : { bidder, price });
      return ownedRecord(bidder, read(), t, undefined, { valueAgain: read }, null);
    });
  const flushed = (effects: Array<{ flushes: Array<{ record: EngineRecord }>; failures: unknown[] }>) => ({
    failures: effects.flatMap((e) => e.failures),
    results: effects.flatMap((e) => e.flushes.map((f) => f.record.value)),
  });
  const once = { failures: [], results: [['ann:11,31', 'bo:21']] };

  const windowed = (pre: ChainStep[], body: ChainStep[], sql: ReturnType<typeof asked>['sql']) =>
    windowLogic({
      config: { assigner: { kind: 'tumbling', durationMs: 10_000, offsetMs: 0 }, watermark: { gracePeriodMs: 0 } },
      ...(pre.length ? { pre: nativeExecutor(pre, { sql }) } : {}),
      body: nativeExecutor(body, { sql }),
      windowStates: ['prices'],
      hasFlush: true,
      state: new MemoryState(),
      channels: ['bids/0'],
    });

  it('runtime - a window whose update-state changes the bid in place and asks ctx.sql counts the change once (no steps before the window)', async () => {
    const { sql, queries } = asked();
    const w = windowed([], [keep(bumpAndAsk), list], sql);
    expect(flushed([await w.process(bids(), 'bids/0', 0), await w.end()])).toEqual(once);
    expect(queries.sort()).toEqual([11, 21, 31]);
  });

  it('runtime - the same with its key step fused before the window', async () => {
    const { sql } = asked();
    const w = windowed([byBidder], [keep(bumpAndAsk), list], sql);
    expect(flushed([await w.process(bids(), 'bids/0', 0), await w.end()])).toEqual(once);
  });

  it('runtime - the same with a step before the window that makes its value (fused q5: event.bid)', async () => {
    const { sql } = asked();
    const w = windowed([onlyBids, byBidder], [keep(bumpAndAsk), list], sql);
    expect(flushed([await w.process(bids(true), 'bids/0', 0), await w.end()])).toEqual(once);
  });

  it('runtime - the same call by call (a function left a promise behind: no sections), with or without steps before the window', async () => {
    for (const pre of [[], [byBidder]]) {
      const { sql } = asked();
      const w = windowed(pre, [keep(bumpAndAsk, true), list], sql);
      expect(flushed([await w.process(bids(), 'bids/0', 0), await w.end()])).toEqual(once);
    }
    const { sql } = asked();
    const w = windowed([onlyBids, byBidder], [keep(bumpAndAsk, true), list], sql);
    expect(flushed([await w.process(bids(true), 'bids/0', 0), await w.end()])).toEqual(once);
  });

  it('runtime - a session whose update-state changes the bid in place and asks ctx.sql counts the change once, with or without a step before it', async () => {
    for (const pre of [[], [byBidder]]) {
      for (const promise of [false, true]) {
        const { sql } = asked();
        const s = sessionLogic({
          config: { gapMs: 60_000, watermark: { gracePeriodMs: 0 } },
          ...(pre.length ? { pre: nativeExecutor(pre, { sql }) } : {}),
          body: nativeExecutor([keep(bumpAndAsk, promise), list], { sql }),
          windowStates: ['prices'],
          hasFlush: true,
          state: new MemoryState(),
          channels: ['bids/0'],
        });
        const r = flushed([await s.process(bids(), 'bids/0', 0), await s.end()]);
        expect(r.failures).toEqual([]);
        expect(r.results.flat().sort()).toEqual(['ann:11,31', 'bo:21']);
      }
    }
  });

  it('runtime - a session whose values a step before it made (fused q11: event.bid) counts the change once, sectioned or call by call', async () => {
    for (const promise of [false, true]) {
      const { sql } = asked();
      const s = sessionLogic({
        config: { gapMs: 60_000, watermark: { gracePeriodMs: 0 } },
        pre: nativeExecutor([onlyBids, byBidder], { sql }),
        body: nativeExecutor([keep(bumpAndAsk, promise), list], { sql }),
        windowStates: ['prices'],
        hasFlush: true,
        state: new MemoryState(),
        channels: ['bids/0'],
      });
      const r = flushed([await s.process(bids(true), 'bids/0', 0), await s.end()]);
      expect(r.failures).toEqual([]);
      expect(r.results.flat().sort()).toEqual(['ann:11,31', 'bo:21']);
    }
  });

  it('runtime - call by call, a window counts once the change a step before it made in place (a map returning its changed input; a filter changing it through an alias)', async () => {
    // A map doubles the price in place and returns its input: a sandboxed window's steps get its
    // output, doubled, on every run; so must a native run again. A filter may not do that (the
    // function check refuses it where it is written), but an alias is more than the check sees:
    // natively that change goes on, and a run again must see it as the first run did (the record
    // was passed on as read: read again from its message, it would come back undoubled).
    const mapDouble: ChainStep = {
      id: 'u.double',
      operator: 'map',
      fn: (v: unknown) => {
        (v as Bid).price *= 2;
        return v;
      },
    };
    const aliasDouble: ChainStep = {
      id: 'u.double-alias',
      operator: 'filter',
      fn: (v: unknown) => {
        const alias = v as Bid;
        alias.price *= 2;
        return true;
      },
    };
    const ask = (v: unknown, ctx: unknown): Bid => {
      const bid = v as Bid;
      const [row] = (ctx as FunctionContext).sql('SELECT $1::int AS price', [bid.price]);
      return { bidder: bid.bidder, price: row!['price'] as number };
    };
    for (const promise of [false, true]) {
      for (const pre of [[mapDouble], [mapDouble, byBidder], [aliasDouble], [aliasDouble, byBidder]]) {
        const { sql } = asked();
        const w = windowed(pre, [keep(ask, promise), list], sql);
        const steps = pre.map((s) => s.id);
        expect({ promise, steps, ...flushed([await w.process(bids(), 'bids/0', 0), await w.end()]) }).toEqual({ promise, steps, failures: [], results: [['ann:20,60', 'bo:40']] });
      }
    }
  });

  it('runtime - a session whose records are restored from its rows runs them again from the values as held', async () => {
    const { sql } = asked();
    const make = () =>
      sessionLogic({
        config: { gapMs: 60_000, watermark: { gracePeriodMs: 0 } },
        body: nativeExecutor([keep(bumpAndAsk), list], { sql }),
        windowStates: ['prices'],
        hasFlush: true,
        state: new MemoryState(),
        channels: ['bids/0'],
      });
    const first = make();
    await first.process(bids(), 'bids/0', 0);
    const rows = first.takeRows!().map(([id, v]) => [id, JSON.parse(JSON.stringify(v))] as const);
    const second = make();
    second.restore(JSON.parse(JSON.stringify(first.meta())), rows);
    const r = flushed([await second.end()]);
    expect(r.failures).toEqual([]);
    expect(r.results.flat().sort()).toEqual(['ann:11,31', 'bo:21']);
  });

  const person = (name: string, n: number) => ({ person: { name, n } });
  const auction = (seller: string, n: number) => ({ auction: { seller, n } });
  const events = () => {
    const values = [person('ann', 1), auction('ann', 10), person('bo', 2), auction('bo', 20)];
    return values.map((v, i) => ownedRecord(null, JSON.parse(JSON.stringify(v)) as unknown, i * 1000, undefined, { valueAgain: (from) => JSON.parse(JSON.stringify(values[from as number])) as unknown }, i));
  };
  const n = (v: unknown) => (Object.values(v as Record<string, { n: number }>)[0]!).n;
  const TABLE = { kind: 'table', table: 'person', stream: 'auction', ttlMs: 60_000, watermark: { gracePeriodMs: 0 } } as const;

  it('runtime - a join step before the join that changes its record in place and asks ctx.sql counts the change once', async () => {
    const { sql, queries } = asked();
    const bySeller: ChainStep = {
      id: 'j.by-seller',
      operator: 'assign-key',
      fn: (v: unknown, ctx: unknown) => {
        const side = Object.values(v as Record<string, { n: number; name?: string; seller?: string }>)[0]!;
        side.n = side.n + 1;
        (ctx as FunctionContext).sql('SELECT $1::int AS price', [side.n]);
        return side.name ?? side.seller!;
      },
    };
    const shape: ChainStep = { id: 'j.item', operator: 'map', fn: (v: unknown) => `${n({ p: (v as { person: unknown }).person })}+${n({ a: (v as { auction: unknown }).auction })}` };
    const j = joinLogic({ config: TABLE, pre: nativeExecutor([bySeller], { sql }), body: nativeExecutor([shape], { sql }), operator: 'j.item', state: new MemoryState(), channels: ['events/0'] });
    const r = flushed([await j.process(events(), 'events/0', 0), await j.end()]);
    expect(r).toEqual({ failures: [], results: ['2+11', '3+21'] });
    expect(queries.sort((a, b) => Number(a) - Number(b))).toEqual([2, 3, 11, 21]);
  });

  it('runtime - a step after the join that changes the joined record in place and asks ctx.sql counts the change once, and changes neither the table nor later results', async () => {
    const { sql, queries } = asked();
    const bySeller: ChainStep = { id: 'j.by-seller', operator: 'assign-key', fn: (v: unknown) => Object.values(v as Record<string, { name?: string; seller?: string }>)[0]!.name ?? (v as { auction: { seller: string } }).auction.seller };
    // The person is the table's held value, joined to each of ann's auctions.
    const bumpPerson: ChainStep = {
      id: 'j.item',
      operator: 'map',
      fn: (v: unknown, ctx: unknown) => {
        const joined = v as { person: { n: number }; auction: { n: number } };
        joined.person.n = joined.person.n + 1;
        (ctx as FunctionContext).sql('SELECT $1::int AS n', [joined.person.n]);
        return `${joined.person.n}+${joined.auction.n}`;
      },
    };
    const j = joinLogic({ config: TABLE, pre: nativeExecutor([bySeller], { sql }), body: nativeExecutor([bumpPerson], { sql }), operator: 'j.item', state: new MemoryState(), channels: ['events/0'] });
    const values = [person('ann', 1), auction('ann', 10), auction('ann', 20), auction('ann', 30)];
    const records = values.map((v, i) => ownedRecord(null, JSON.parse(JSON.stringify(v)) as unknown, i * 1000, undefined, { valueAgain: (from) => JSON.parse(JSON.stringify(values[from as number])) as unknown }, i));
    const processed = await j.process(records, 'events/0', 0);
    // The table's row, committed as JSON after the results so far, is the person as read.
    const rows = j.takeRows!().filter(([, v]) => v !== undefined);
    expect((JSON.parse(JSON.stringify(rows)) as Array<[string, { value: unknown }]>).map(([, held]) => held.value)).toEqual([{ name: 'ann', n: 1 }]);
    const r = flushed([processed, await j.end()]);
    expect(r).toEqual({ failures: [], results: ['2+10', '2+20', '2+30'] });
    // Every round asked with the person as held, bumped once (the same query, answered once a batch).
    expect([...new Set(queries)]).toEqual([2]);
  });
});

describe('runtime - a branched unit runs its branches again from the values as they were read', () => {
  interface Bid {
    bidder: string;
    price: number;
  }
  const bumpAndAsk = (promise: boolean): ChainStep => ({
    id: 'b.bump',
    operator: 'map',
    fn: (v: unknown, ctx: unknown) => {
      if (promise) void Promise.resolve();
      const bid = v as Bid;
      bid.price = bid.price + 1;
      const [row] = (ctx as FunctionContext).sql('SELECT $1::int AS price', [bid.price]);
      return `${bid.bidder}:${String(row!['price'])}`;
    },
  });
  const trunks: Record<string, ChainStep> = {
    'passes the bid on': { id: 't.valid', operator: 'filter', fn: () => true },
    'makes the bid': { id: 't.only-bids', operator: 'filter-map', fn: (v: unknown) => (v as { bid?: Bid }).bid },
  };
  for (const [what, trunkStep] of Object.entries(trunks)) {
    for (const promise of [false, true]) {
      it(`runtime - a branch that changes the bid in place and asks ctx.sql counts the change once (a trunk that ${what}${promise ? ', call by call' : ''})`, async () => {
        const sql = async (_q: string, params: unknown[]): Promise<SqlRow[]> => [{ price: params[0] }];
        const wrap = trunkStep.operator === 'filter-map';
        const read = (name: string, price: number) => () => (wrap ? { bid: { bidder: name, price } } : { bidder: name, price });
        const records = [read('ann', 10), read('bo', 20)].map((r, i) => ownedRecord(null, r(), i, undefined, { valueAgain: r }, null));
        const logic = chainLogic(
          { trunk: nativeExecutor([trunkStep], { sql }), branches: [nativeExecutor([bumpAndAsk(promise)], { sql }), nativeExecutor([bumpAndAsk(promise)], { sql })], copy: (v) => JSON.parse(JSON.stringify(v)) as unknown },
          new MemoryState(),
        );
        const r = await logic.process(records, 'bids/0', 0);
        expect(r.failures).toEqual([]);
        expect(r.outputs.map((o) => o.value)).toEqual(['ann:11', 'bo:21', 'ann:11', 'bo:21']);
      });
    }
  }
});
