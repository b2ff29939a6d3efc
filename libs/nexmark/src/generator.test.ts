import { describe, expect, it } from 'vitest';
import {
  compileNexmarkOptions,
  FIRST_AUCTION_ID,
  FIRST_PERSON_ID,
  nexmarkEvent,
  nexmarkEvents,
  nexmarkEventTime,
  type Auction,
  type Bid,
  type Person,
} from './index.ts';

const options = compileNexmarkOptions({ seed: 42, eventsPerSecond: 1000 });
const events = [...nexmarkEvents(50_000, options)];
const persons = events.flatMap((e) => ('person' in e ? [e.person] : []));
const auctions = events.flatMap((e) => ('auction' in e ? [e.auction] : []));
const bids = events.flatMap((e) => ('bid' in e ? [e.bid] : []));

describe('nexmark', () => {
  it('nexmark - 1 : 3 : 46 persons, auctions and bids, in a fixed order per 50 events', () => {
    expect([persons.length, auctions.length, bids.length]).toEqual([1000, 3000, 46_000]);
    expect(events.slice(0, 5).map((e) => Object.keys(e)[0])).toEqual(['person', 'auction', 'auction', 'auction', 'bid']);
  });

  it('nexmark - the model field names of the Nexmark benchmark, dateTime in epoch ms', () => {
    const keys = (o: object) => Object.keys(o).sort();
    expect(keys(persons[0]!)).toEqual(['city', 'creditCard', 'dateTime', 'emailAddress', 'extra', 'id', 'name', 'state'].sort());
    expect(keys(auctions[0]!)).toEqual(
      ['category', 'dateTime', 'description', 'expires', 'extra', 'id', 'initialBid', 'itemName', 'reserve', 'seller'].sort(),
    );
    expect(keys(bids[0]!)).toEqual(['auction', 'bidder', 'channel', 'dateTime', 'extra', 'price', 'url'].sort());
    expect(persons[0]!.dateTime).toBe(Date.UTC(2025, 0, 1));
  });

  it('nexmark - event N is the same whether generated in order or on its own (a source can resume)', () => {
    for (const n of [0, 1, 4, 49, 50, 12_345, 49_999]) expect(nexmarkEvent(n, options)).toEqual(events[n]);
    expect(JSON.stringify(events.slice(0, 100))).toBe(JSON.stringify([...nexmarkEvents(100, compileNexmarkOptions({ seed: 42, eventsPerSecond: 1000 }))]));
  });

  it('nexmark - another seed gives other events, with the same kinds and times', () => {
    const other = [...nexmarkEvents(100, compileNexmarkOptions({ seed: 43, eventsPerSecond: 1000 }))];
    expect(other.map((e) => Object.keys(e)[0])).toEqual(events.slice(0, 100).map((e) => Object.keys(e)[0]));
    expect(other.map(nexmarkEventTime)).toEqual(events.slice(0, 100).map(nexmarkEventTime));
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(events.slice(0, 100)));
  });

  it('nexmark - event time advances at the configured rate and never goes back', () => {
    const times = events.map(nexmarkEventTime);
    expect(times.filter((t, i) => i > 0 && t < times[i - 1]!)).toEqual([]);
    expect(times.at(-1)! - times[0]!).toBe(49_999);
  });

  it('nexmark - ids are consecutive from 1000; sellers and bidders are people, bids name auctions near the open ones', () => {
    expect(persons.map((p) => p.id)).toEqual(persons.map((_, i) => FIRST_PERSON_ID + i));
    expect(auctions.map((a) => a.id)).toEqual(auctions.map((_, i) => FIRST_AUCTION_ID + i));
    const maxPerson = FIRST_PERSON_ID + persons.length + 10;
    const within = (xs: number[], lo: number, hi: number) => xs.filter((x) => x < lo || x >= hi);
    expect(within(auctions.map((a) => a.seller), FIRST_PERSON_ID, maxPerson)).toEqual([]);
    expect(within(bids.map((b) => b.bidder), FIRST_PERSON_ID, maxPerson)).toEqual([]);
    expect(within(bids.map((b) => b.auction), FIRST_AUCTION_ID, FIRST_AUCTION_ID + auctions.length + 10)).toEqual([]);
  });

  it('nexmark - hot auctions and bidders take most bids; categories 10..14; prices $1..$1M in cents', () => {
    const perAuction = count(bids.map((b) => b.auction));
    const hottest = Math.max(...perAuction.values());
    expect(hottest).toBeGreaterThan(bids.length / 100);
    expect(new Set(auctions.map((a) => a.category))).toEqual(new Set([10, 11, 12, 13, 14]));
    const prices = [...bids.map((b) => b.price), ...auctions.map((a) => a.initialBid)];
    expect(prices.filter((p) => !Number.isInteger(p) || p < 100 || p > 100_000_000)).toEqual([]);
    expect(auctions.filter((a) => a.reserve <= a.initialBid || a.expires <= a.dateTime)).toEqual([]);
  });

  it('nexmark - events are about the standard average sizes (person 200, auction 500, bid 100 bytes of fields, plus JSON)', () => {
    const avg = (xs: Array<Person | Auction | Bid>) => xs.reduce((n, x) => n + sizeOf(x), 0) / xs.length;
    expect(avg(persons)).toBeGreaterThan(150);
    expect(avg(persons)).toBeLessThan(350);
    expect(avg(auctions)).toBeGreaterThan(400);
    expect(avg(auctions)).toBeLessThan(750);
    expect(avg(bids)).toBeGreaterThan(100);
    expect(avg(bids)).toBeLessThan(300);
  });

  it('nexmark - options out of range are refused', () => {
    expect(() => compileNexmarkOptions({ eventsPerSecond: 0 })).toThrow(/positive/);
    expect(() => compileNexmarkOptions({ seed: 1.5 })).toThrow(/integer/);
    expect(() => nexmarkEvent(-1, options)).toThrow(/non-negative/);
  });
});

function count<T>(xs: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function sizeOf(x: Person | Auction | Bid): number {
  return Buffer.byteLength(JSON.stringify(x));
}
