import { describe, expect, it } from 'vitest';
import { joinLogic, type OperatorEffects, MemoryState, type ChainStep, type EngineRecord, type JoinConfig } from '@ssdk/engine';
import { nativeExecutor } from './native-executor.ts';

// q3's shape: persons are the table, auctions look their seller up; the step after the join
// shapes the joined record.
const TABLE: JoinConfig = { kind: 'table', table: 'person', stream: 'auction', ttlMs: 60_000, watermark: { gracePeriodMs: 0 } };
const INTERVAL: JoinConfig = { kind: 'interval', left: 'auction', right: 'bid', lowerMs: 0, upperMs: 60_000, until: 'expires', watermark: { gracePeriodMs: 0 } };
const shapeTable: ChainStep[] = [
  { id: 'q.item', operator: 'map', fn: (v) => `${(v as { person: { name: string } }).person.name}:${(v as { auction: { id: number } }).auction.id}` },
];
const shapeInterval: ChainStep[] = [
  { id: 'q.best', operator: 'map', fn: (v) => `${(v as { auction: { id: number } }).auction.id}:${(v as { bid: Array<{ price: number }> }).bid.map((b) => b.price).join(',')}` },
];

function logic(config: JoinConfig, steps: ChainStep[]) {
  return joinLogic({ config, body: nativeExecutor(steps), operator: steps[0]!.id, state: new MemoryState(), channels: ['in/0', 'in/1'] });
}

const person = (id: number, name: string, t: number): EngineRecord => ({ key: id, value: { person: { name } }, timestamp: t });
const auction = (seller: number, id: number, t: number, expires = 0): EngineRecord => ({ key: seller, value: { auction: { id, expires } }, timestamp: t });
const bid = (a: number, price: number, t: number): EngineRecord => ({ key: a, value: { bid: { price } }, timestamp: t });
const results = (e: OperatorEffects[]) =>
  e
    .flatMap((x) => x.flushes.map((f) => `${f.session} ${String(f.record.value)}`))
    .sort();

describe('runtime - joins in a unit', () => {
  it('runtime - a stream-table join gives the same results, with the same ids, whatever the interleaving of its channels and after a restore', async () => {
    // Channel 0 has the persons, channel 1 the auctions; the auction of seller 1 at t=5 arrives
    // before the person (t=1) it must join.
    const c0 = [person(1, 'ann', 1), person(2, 'bo', 2), person(1, 'ann2', 20)];
    const c1 = [auction(1, 100, 5), auction(2, 101, 6), auction(1, 102, 25)];
    const a = logic(TABLE, shapeTable);
    const first = [await a.process(c1, 'in/1', 0), await a.process(c0, 'in/0', 0), await a.end()];
    expect(results(first)).toEqual(['n1@in/1#0 ann:100', 'n1@in/1#2 ann2:102', 'n2@in/1#1 bo:101']);

    // Another interleaving, with a crash in the middle: restored from what was committed (meta
    // and the rows changed, through JSON) — the persons are table rows by then.
    const b = logic(TABLE, shapeTable);
    const part = [await b.process(c0.slice(0, 2), 'in/0', 0), await b.process(c1.slice(0, 1), 'in/1', 0)];
    const rows = JSON.parse(JSON.stringify(b.takeRows!().filter(([, v]) => v !== undefined))) as Array<[string, unknown]>;
    expect(rows.map(([id]) => id)).toEqual(['tn1']);
    const meta = JSON.parse(JSON.stringify(b.meta())) as unknown;
    const c = logic(TABLE, shapeTable);
    c.restore(meta, rows);
    const rest = [await c.process(c1.slice(1), 'in/1', 0), await c.process(c0.slice(2), 'in/0', 0), await c.end()];
    expect(results([...part, ...rest])).toEqual(results(first));
  });

  it('runtime - an interval join emits each auction once it closes, named by its interval and origin; a record of neither side is dead-lettered', async () => {
    const j = logic(INTERVAL, shapeInterval);
    const e = [
      await j.process([auction(7, 7, 0, 10), bid(7, 3, 4), { key: 7, value: { person: { name: 'x' } }, timestamp: 5 }, bid(7, 9, 10)], 'in/0', 0),
      await j.process([bid(8, 1, 30)], 'in/1', 0),
      await j.end(),
    ];
    expect(results(e)).toEqual(['n7@in/0#0 7:3,9']);
    expect(e.flatMap((x) => x.flushes.map((f) => f.window))).toEqual([{ start: 0, end: 10 }]);
    expect(e[0]!.failures.map((f) => [f.input, f.operator, f.reason])).toEqual([[2, 'q.best', 'the record is neither `auction` nor `bid`, the two sides of the join']]);
  });
});
