/**
 * `npm run bench:nexmark` — the Nexmark queries of examples/nexmark on the embedded runtime,
 * each beside a hand-written TypeScript loop doing the same query over the same events in the
 * same run, and Flink's published per-core figure (Nexmark on Flink, 8×1 slots, RocksDB,
 * exactly-once checkpoints). Prints events/s, CPU seconds and peak RSS. Not a test: numbers.
 *
 *   npx tsx tools/bench/nexmark.ts [--events N] [--sandbox-events N] [--no-sandbox] [--only q0,q5,...]
 *     [--partitions N] [--no-fuse] [--rate EVENTS_PER_S]
 *
 * Events are generated before the clock starts (the generator is not what is measured) at
 * `--rate` events per second of event time (Nexmark's default 10,000), so 500,000 events span
 * 50 s: five q7 windows, 29 q5 windows.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { compileNexmarkOptions, nexmarkEvent, type Bid, type NexmarkEvent } from '@ssdk/nexmark';
import type { ProduceRecord } from '@ssdk/runtime';
import { buildComponent, measureRss, repo, report, runEmbedded, unitLines } from './embedded-harness.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '500000' },
    'sandbox-events': { type: 'string', default: '100000' },
    'no-sandbox': { type: 'boolean', default: false },
    'no-fuse': { type: 'boolean', default: false },
    only: { type: 'string' },
    partitions: { type: 'string', default: '1' },
    rate: { type: 'string', default: '10000' },
    'build-component': { type: 'string' },
    'state-dir': { type: 'string' },
  },
});

/** Flink's published events/s per core; undefined where the issue list has none. */
const FLINK_PER_CORE: Record<string, number | undefined> = { q0: 155_000, q1: 158_000, q2: undefined, q5: 22_000, q7: 12_000, q8: undefined, q11: 40_000, q14: undefined };

type Baseline = (events: NexmarkEvent[]) => number;
const bidsOf = function* (events: NexmarkEvent[]): Generator<Bid> {
  for (const e of events) if ('bid' in e) yield e.bid;
};

/** The same query as one hand-written loop over the events (no topics, no state store): its output count. */
const BASELINES: Record<string, Baseline> = {
  q0: (events) => {
    const out: object[] = [];
    for (const { auction, bidder, price, dateTime, extra } of bidsOf(events)) out.push({ auction, bidder, price, dateTime, extra });
    return out.length;
  },
  q1: (events) => {
    const out: object[] = [];
    for (const { auction, bidder, price, dateTime, extra } of bidsOf(events)) out.push({ auction, bidder, price: 0.908 * price, dateTime, extra });
    return out.length;
  },
  q2: (events) => {
    const out: object[] = [];
    for (const b of bidsOf(events)) if (b.auction % 123 === 0) out.push({ auction: b.auction, price: b.price });
    return out.length;
  },
  q14: (events) => {
    const out: object[] = [];
    for (const { auction, bidder, price: cents, dateTime, extra } of bidsOf(events)) {
      const price = 0.908 * cents;
      if (!(price > 1_000_000 && price < 50_000_000)) continue;
      const hour = new Date(dateTime).getUTCHours();
      const bidTimeType = hour >= 8 && hour <= 18 ? 'dayTime' : hour <= 6 || hour >= 20 ? 'nightTime' : 'otherTime';
      let c = 0;
      for (let i = 0; i < extra.length; i++) if (extra.charCodeAt(i) === 99) c++;
      out.push({ auction, bidder, price, bidTimeType, dateTime, extra, c_counts: c });
    }
    return out.length;
  },
  q5: (events) => {
    // Hop windows (10 s, slide 2 s), closed as event time passes their end (events are in order).
    const windows = new Map<number, Map<number, number>>();
    let out = 0;
    const flush = (start: number) => {
      const counts = windows.get(start)!;
      let max = 0;
      for (const n of counts.values()) if (n > max) max = n;
      for (const n of counts.values()) if (n === max) out++;
      windows.delete(start);
    };
    for (const b of bidsOf(events)) {
      for (const start of windows.keys()) if (start + 10_000 <= b.dateTime) flush(start);
      for (let start = Math.floor(b.dateTime / 2_000) * 2_000; start > b.dateTime - 10_000; start -= 2_000) {
        let counts = windows.get(start);
        if (!counts) windows.set(start, (counts = new Map()));
        counts.set(b.auction, (counts.get(b.auction) ?? 0) + 1);
      }
    }
    for (const start of [...windows.keys()]) flush(start);
    return out;
  },
  q7: (events) => {
    let out = 0;
    let end = -Infinity;
    let best: Bid[] = [];
    for (const b of bidsOf(events)) {
      if (b.dateTime >= end) {
        out += best.length;
        best = [];
        end = Math.floor(b.dateTime / 10_000) * 10_000 + 10_000;
      }
      if (best.length === 0 || b.price > best[0]!.price) best = [b];
      else if (b.price === best[0]!.price) best.push(b);
    }
    return out + best.length;
  },
  q8: (events) => {
    // Per 10 s tumbling window (closed as event time passes its end: events are in order), the
    // persons registered in it who also opened an auction in it.
    let end = -Infinity;
    let names = new Map<number, string>();
    let sellers = new Set<number>();
    const out: object[] = [];
    const flush = () => {
      for (const [id, name] of names) if (sellers.has(id)) out.push({ id, name, window_start: end - 10_000, window_end: end });
    };
    for (const e of events) {
      const t = 'person' in e ? e.person.dateTime : 'auction' in e ? e.auction.dateTime : undefined;
      if (t === undefined) continue;
      if (t >= end) {
        flush();
        names = new Map();
        sellers = new Set();
        end = Math.floor(t / 10_000) * 10_000 + 10_000;
      }
      if ('person' in e) names.set(e.person.id, e.person.name);
      else if ('auction' in e) sellers.add(e.auction.seller);
    }
    flush();
    return out.length;
  },
  q11: (events) => {
    // Per bidder, sessions of bids at most 10 s apart; as in the engine, a session closes once the
    // watermark (the previous bid's time: events are in order) has reached its end.
    const open = new Map<number, { start: number; end: number; count: number }>();
    const out: object[] = [];
    const close = (bidder: number, s: { start: number; end: number; count: number }) => {
      out.push({ bidder, bid_count: s.count, window_start: s.start, window_end: s.end });
      open.delete(bidder);
    };
    let wm = -Infinity;
    let nextClose = Infinity;
    for (const b of bidsOf(events)) {
      if (wm >= nextClose) {
        nextClose = Infinity;
        for (const [bidder, s] of open) {
          if (s.end <= wm) close(bidder, s);
          else if (s.end < nextClose) nextClose = s.end;
        }
      }
      const s = open.get(b.bidder);
      const end = b.dateTime + 10_000;
      if (s) {
        s.count++;
        if (end > s.end) s.end = end;
      } else {
        open.set(b.bidder, { start: b.dateTime, end, count: 1 });
        if (end < nextClose) nextClose = end;
      }
      wm = b.dateTime;
    }
    for (const [bidder, s] of [...open]) close(bidder, s);
    return out.length;
  },
};
const QUERIES = Object.keys(BASELINES);

async function benchQuery(query: string): Promise<void> {
  const n = Number(values.events);
  const ns = Math.min(n, Number(values['sandbox-events']));
  const options = compileNexmarkOptions({ seed: 1, eventsPerSecond: Number(values.rate) });
  const events: NexmarkEvent[] = new Array(n);
  for (let i = 0; i < n; i++) events[i] = nexmarkEvent(i, options);
  const input: ProduceRecord[] = events.map((e) => ({ value: e, timestamp: 'bid' in e ? e.bid.dateTime : 'auction' in e ? e.auction.dateTime : e.person.dateTime }));
  const flink = FLINK_PER_CORE[query];
  console.log(`\n${query}: ${n.toLocaleString('en')} events${flink ? ` (Flink, published: ${flink.toLocaleString('en')} events/s per core)` : ''}`);
  {
    const rss = measureRss();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const outputs = BASELINES[query]!(events);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    report('baseline: hand-written loop', n, ms, rss(), `(${outputs.toLocaleString('en')} outputs)`, (cpu.user + cpu.system) / 1000);
  }
  const file = `${repo}examples/nexmark/${query}/services.yaml`;
  const layout = { partitions: Number(values.partitions), fuse: values['no-fuse'] !== true };
  const r = await runEmbedded(file, 'events', input, 'native', layout);
  report('ssdk embedded, native functions', n, r.ms, r.rss, `(${(n / (r.cpuMs / 1000)).toLocaleString('en', { maximumFractionDigits: 0 })} events per CPU second)`, r.cpuMs);
  unitLines(r.metrics);
  if (values['no-sandbox']) return;
  const s = await runEmbedded(file, 'events', input.slice(0, ns), 'sandbox', layout);
  report(`ssdk embedded, sandboxed, ${s.guestWorkers} guest worker(s)`, ns, s.ms, s.rss, '', s.cpuMs);
  unitLines(s.metrics);
}

if (values['build-component']) await buildComponent(values['build-component'], values['state-dir']!);
else if (!values.only || values.only.includes(',')) {
  // Each query in its own process, so peak RSS is that run's alone.
  const queries = values.only ? values.only.split(',') : QUERIES;
  const unknown = queries.filter((q) => !QUERIES.includes(q));
  if (unknown.length) throw new Error(`no such query: ${unknown.join(', ')} (known: ${QUERIES.join(', ')})`);
  console.log(`ssdk bench:nexmark — Node ${process.version}, ${Number(values.events).toLocaleString('en')} events per query, ${values.rate} events per second of event time`);
  for (const q of queries) {
    const args = [...process.execArgv, process.argv[1]!, ...process.argv.slice(2).filter((a, i, all) => a !== '--only' && all[i - 1] !== '--only'), '--only', q];
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
} else await benchQuery(values.only);
