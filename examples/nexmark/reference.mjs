#!/usr/bin/env node
// Independent reference for examples/nexmark: plain Node, no dependencies, no ssdk code.
// Reads input/events.jsonl and writes each query's golden output to q*/expected/.
//
//   node reference.mjs                # recompute q*/expected/ from input/
//   node reference.mjs --write-input  # regenerate input/ with `ssdk nexmark` (seeded), then expected/
//
// The queries follow the Nexmark benchmark's Flink SQL (see each services.yaml's header):
// - q0  every bid: auction, bidder, price, dateTime, extra.
// - q1  every bid with price * 0.908 (euros).
// - q2  bids whose auction % 123 == 0: auction, price.
// - q3  auctions of category 10 joined with their seller among the persons in OR, ID or CA (a
//       stream-table join in event time: the latest such person per id registered at or before the
//       auction's dateTime, and at most 10 minutes before it): name, city, state, id.
// - q4  per category, the average of the winning prices of its auctions (q9's winners): the final
//       {sum, count, avg} per category, as the q4 service's state holds it.
// - q5  hop windows of 10 s sliding by 2 s over bid.dateTime ([start, start + 10 s), start a
//       multiple of 2 s); per window the auctions with the most bids, ties kept, ordered by window
//       start then auction id: auction, num, window_start, window_end.
// - q7  tumbling 10 s windows; per window every bid at the window's highest price, in arrival order:
//       auction, price, bidder, dateTime, window_start, window_end.
// - q8  persons who opened an auction (as seller) in the 10 s tumbling window they registered in:
//       id, name, window_start, window_end; ordered by window_start, then id.
// - q9  per auction, the winning bid among the bids on it within [auction.dateTime,
//       auction.expires] (both ends included): the highest price, ties by the earliest bid, then
//       the first to arrive; auctions without such a bid have no row. The auction's columns, then
//       auction, bidder, price, bid_dateTime, bid_extra.
// - q11 per bidder, sessions of bids at most 10 s apart (Flink's rule: a bid's window is
//       [dateTime, dateTime + 10 s), and windows that overlap or touch merge): bidder, bid_count,
//       window_start (first bid), window_end (last bid + 10 s); ordered by window_end, then
//       window_start, then bidder.
// - q14 bids with 1,000,000 < price * 0.908 < 50,000,000: the euro price, bidTimeType by the UTC hour
//       (8..18 dayTime, <= 6 or >= 20 nightTime, else otherTime), c_counts = number of 'c' in extra.
// Windows: events arrive in event-time order (the generator's), so with no grace period nothing is
// late; every window flushes once at the end of input at the latest, in order of window start.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const input = join(here, 'input', 'events.jsonl');

if (process.argv.includes('--write-input')) {
  // 2,000 events at 50 per second of event time (40 s), from 07:59:40 UTC so q14 sees three times of day.
  mkdirSync(dirname(input), { recursive: true });
  execFileSync(process.execPath, [join(here, '../../bin/ssdk.js'), 'nexmark', '--events', '2000', '--rate', '50', '--seed', '1', '--base-time', String(Date.UTC(2025, 0, 1, 7, 59, 40)), '--output', input], { stdio: 'inherit' });
}

const events = readFileSync(input, 'utf8').trim().split('\n').map((line) => JSON.parse(line).value);
const bids = events.filter((e) => e.bid).map((e) => e.bid);

function write(query, topic, rows) {
  mkdirSync(join(here, query, 'expected'), { recursive: true });
  writeFileSync(join(here, query, 'expected', `${topic}.jsonl`), rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

write('q0', 'q0', bids.map(({ auction, bidder, price, dateTime, extra }) => ({ auction, bidder, price, dateTime, extra })));
write('q1', 'q1', bids.map(({ auction, bidder, price, dateTime, extra }) => ({ auction, bidder, price: 0.908 * price, dateTime, extra })));
write('q2', 'q2', bids.filter((b) => b.auction % 123 === 0).map(({ auction, price }) => ({ auction, price })));

// q3
const TTL = 10 * 60_000;
const localSellers = new Map(); // id -> person (events are in event-time order)
const q3 = [];
for (const e of events) {
  if (e.person && ['OR', 'ID', 'CA'].includes(e.person.state)) localSellers.set(e.person.id, e.person);
  if (e.auction && e.auction.category === 10) {
    const p = localSellers.get(e.auction.seller);
    if (p && p.dateTime + TTL >= e.auction.dateTime) q3.push({ name: p.name, city: p.city, state: p.state, id: e.auction.id });
  }
}
write('q3', 'q3', q3);

// q9 (and q4 over its winners)
const winners = [];
for (const a of events.filter((e) => e.auction).map((e) => e.auction)) {
  let best;
  for (const b of bids) {
    if (b.auction !== a.id || b.dateTime < a.dateTime || b.dateTime > a.expires) continue;
    if (!best || b.price > best.price || (b.price === best.price && b.dateTime < best.dateTime)) best = b;
  }
  if (best) winners.push({ ...a, auction: best.auction, bidder: best.bidder, price: best.price, bid_dateTime: best.dateTime, bid_extra: best.extra });
}
write('q9', 'q9', winners);
const byCategory = new Map();
for (const w of winners) {
  const c = byCategory.get(w.category) ?? { sum: 0, count: 0 };
  c.sum += w.price;
  c.count += 1;
  byCategory.set(w.category, c);
}
mkdirSync(join(here, 'q4', 'expected', 'state'), { recursive: true });
writeFileSync(
  join(here, 'q4', 'expected', 'state', 'category-averages.json'),
  JSON.stringify(Object.fromEntries([...byCategory].sort((x, y) => x[0] - y[0]).map(([k, c]) => [k, { sum: c.sum, count: c.count, avg: c.sum / c.count }])), null, 2) + '\n',
);

// q5
const SIZE = 10_000;
const SLIDE = 2_000;
const hop = new Map(); // window start -> Map(auction -> count)
for (const b of bids) {
  const last = Math.floor(b.dateTime / SLIDE) * SLIDE;
  for (let start = last; start > b.dateTime - SIZE; start -= SLIDE) {
    if (!hop.has(start)) hop.set(start, new Map());
    const counts = hop.get(start);
    counts.set(b.auction, (counts.get(b.auction) ?? 0) + 1);
  }
}
const q5 = [];
for (const start of [...hop.keys()].sort((a, b) => a - b)) {
  const counts = hop.get(start);
  const max = Math.max(...counts.values());
  for (const auction of [...counts.keys()].filter((a) => counts.get(a) === max).sort((a, b) => a - b)) {
    q5.push({ auction, num: max, window_start: start, window_end: start + SIZE });
  }
}
write('q5', 'q5', q5);

// q7
const tumble = new Map(); // window start -> bids in arrival order
for (const b of bids) {
  const start = Math.floor(b.dateTime / SIZE) * SIZE;
  if (!tumble.has(start)) tumble.set(start, []);
  tumble.get(start).push(b);
}
const q7 = [];
for (const start of [...tumble.keys()].sort((a, b) => a - b)) {
  const inWindow = tumble.get(start);
  const max = Math.max(...inWindow.map((b) => b.price));
  for (const { auction, price, bidder, dateTime } of inWindow.filter((b) => b.price === max)) {
    q7.push({ auction, price, bidder, dateTime, window_start: start, window_end: start + SIZE });
  }
}
write('q7', 'q7', q7);

// q8
const windowOf = (t) => Math.floor(t / SIZE) * SIZE;
const registered = new Map(); // `${window}:${id}` -> name
const opened = new Set(); // `${window}:${seller}`
for (const e of events) {
  if (e.person) registered.set(`${windowOf(e.person.dateTime)}:${e.person.id}`, e.person.name);
  if (e.auction) opened.add(`${windowOf(e.auction.dateTime)}:${e.auction.seller}`);
}
const q8 = [...registered]
  .filter(([k]) => opened.has(k))
  .map(([k, name]) => {
    const [start, id] = k.split(':').map(Number);
    return { id, name, window_start: start, window_end: start + SIZE };
  })
  .sort((a, b) => a.window_start - b.window_start || a.id - b.id);
write('q8', 'q8', q8);

// q11
const GAP = 10_000;
const sessionsOf = new Map(); // bidder -> [{start, end, count}] (bids arrive in event-time order)
for (const b of bids) {
  if (!sessionsOf.has(b.bidder)) sessionsOf.set(b.bidder, []);
  const list = sessionsOf.get(b.bidder);
  const last = list.at(-1);
  if (last && b.dateTime <= last.end) {
    last.end = Math.max(last.end, b.dateTime + GAP);
    last.count++;
  } else list.push({ start: b.dateTime, end: b.dateTime + GAP, count: 1 });
}
const q11 = [...sessionsOf].flatMap(([bidder, list]) => list.map((s) => ({ bidder, bid_count: s.count, window_start: s.start, window_end: s.end })));
q11.sort((a, b) => a.window_end - b.window_end || a.window_start - b.window_start || a.bidder - b.bidder);
write('q11', 'q11', q11);

// q14
const timeOfDay = (ms) => {
  const hour = new Date(ms).getUTCHours();
  return hour >= 8 && hour <= 18 ? 'dayTime' : hour <= 6 || hour >= 20 ? 'nightTime' : 'otherTime';
};
write(
  'q14',
  'q14',
  bids
    .map((b) => ({ ...b, euros: 0.908 * b.price }))
    .filter((b) => b.euros > 1_000_000 && b.euros < 50_000_000)
    .map(({ auction, bidder, euros, dateTime, extra }) => ({
      auction,
      bidder,
      price: euros,
      bidTimeType: timeOfDay(dateTime),
      dateTime,
      extra,
      c_counts: extra.split('c').length - 1,
    })),
);
