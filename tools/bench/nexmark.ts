/**
 * `npm run bench:nexmark` — the Nexmark queries of examples/nexmark on the embedded runtime,
 * each beside a hand-written TypeScript loop doing the same query over the same events in the
 * same run, and Flink's published per-core figure (Nexmark on Flink, 8×1 slots, RocksDB,
 * exactly-once checkpoints). Prints events/s, CPU seconds and peak RSS. Not a test: numbers.
 *
 *   npx tsx tools/bench/nexmark.ts [--events N] [--sandbox-events N] [--no-sandbox] [--only q0,q5,...]
 *     [--partitions N] [--no-fuse] [--rate EVENTS_PER_S] [--no-guard-baseline]
 *
 * Embedded native runs twice, the second time without function-timeout: what the time limit
 * costs, same run (`--no-guard-baseline` skips it).
 *
 * Events are generated before the clock starts (the generator is not what is measured) at
 * `--rate` events per second of event time (Nexmark's default 10,000), so 500,000 events span
 * 50 s: five q7 windows, 29 q5 windows.
 *
 * Distributed (NATS + PostgreSQL, as bench:distributed; `--no-distributed` skips it): the query
 * as `ssdk operator` processes, one per operator unit, then planned with `--fuse` (stateless
 * steps joined into the unit they feed), functions trusted as embedded native is. Throughput:
 * `--distributed-events` events (default: as many as `--events`) published `--source-batch`
 * events a message (default: as a nexmark-source connector publishes them, its `batch`)
 * before the operators start, timed from all running to all exited (the end of input), with the
 * CPU seconds of every process from its own ready line (`: running`, after its start-up: loading
 * the code, connecting, migrating) to its exit, and each one's peak RSS; the ratio to embedded
 * native is of events per CPU second, both over the same events: a run's warm-up (V8 compiling
 * the loop, the codecs, NATS and pg as they first run: ~0.2-0.4 CPU s a process) is a fixed cost,
 * so a rate grows with the events (q5 embedded: 162k events per CPU s over 100k events, 231k over
 * 400k), and the distributed run over 100k events against the embedded one over 500k measured
 * the volume as much as the runtime. `--fixed-cost` also runs each layout over no events (the
 * end marker only) and prints each process's CPU from ready to exit: the part of the figure that
 * does not grow with the events (docs/decisions.md, issue 15). `--no-latency` skips the latency
 * runs. `--staged` runs the units one at a time over their whole input, upstream first (each
 * unit's CPU without the others sharing the cores, nor it polling while they work; wall time is
 * the units' sum), where the default runs them all at once as a stack does. Latency: fresh
 * operators fed `--latency-rate` events/s for `--latency-seconds` (default 15 s, or four of the
 * query's longest window or session gap with its grace, whichever is longer) with event time = send time,
 * p50/p99 of (arrival − output timestamp) at the output topic, records that arrived before the
 * end of input only. A window's result has the window's last millisecond as its time, so its
 * latency is how long after the window's end it came out (grace periods and watermark included).
 *   [--distributed-events N] [--source-batch N] [--latency-rate N] [--latency-seconds S] [--no-latency] [--prefix NAME] [--no-distributed] [--fixed-cost] [--staged]
 */
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { createNatsBus } from '@ssdk/bus';
import { compileNexmarkOptions, nexmarkEvent, nexmarkEventTime, type Auction, type Bid, type NexmarkEvent, type Person } from '@ssdk/nexmark';
import { planOrThrow } from '@ssdk/plan';
import { NEXMARK_SOURCE_BATCH } from '@ssdk/spec';
import { encodeFrame, encodeRecordFrames } from '@ssdk/records';
import type { ProduceRecord } from '@ssdk/runtime';
import { buildComponent, mb, measureRss, repo, report, runEmbedded, unitLines } from './embedded-harness.ts';
import { DATABASE_URL, drainTopic, NATS_URL, percentile, sleep, startOperator, upstreamFirst } from './operators.ts';
import { benchArgs } from './args.ts';

const { values } = benchArgs({
  options: {
    events: { type: 'string', default: '500000' },
    'sandbox-events': { type: 'string', default: '100000' },
    'no-sandbox': { type: 'boolean', default: false },
    'no-guard-baseline': { type: 'boolean', default: false },
    'no-fuse': { type: 'boolean', default: false },
    only: { type: 'string' },
    partitions: { type: 'string', default: '1' },
    rate: { type: 'string', default: '10000' },
    'build-component': { type: 'string' },
    'state-dir': { type: 'string' },
    'no-distributed': { type: 'boolean', default: false },
    'fixed-cost': { type: 'boolean', default: false },
    staged: { type: 'boolean', default: false },
    'distributed-events': { type: 'string' },
    // Events a message of the distributed runs' input. A hop keeps its input's messages (one
    // frame an input message), so this sets how many messages every hop carries.
    'source-batch': { type: 'string', default: String(NEXMARK_SOURCE_BATCH) },
    'latency-rate': { type: 'string', default: '2000' },
    // Default: 15 s, or four of the query's longest window (a session's gap) and its grace,
    // whichever is longer: in 15 s of event time = send time a 10 s window closed once and a
    // q11 session of a bidder still bidding never, so p50/p99 were one value or none.
    'latency-seconds': { type: 'string' },
    // Throughput only: the latency runs start fresh operators and take their seconds of wall time.
    'no-latency': { type: 'boolean', default: false },
    // NATS subject prefix and schema names start with it (each query and run adds its own part).
    prefix: { type: 'string' },
  },
});

/** Flink's published events/s per core; undefined where the issue list has none. */
const FLINK_PER_CORE: Record<string, number | undefined> = { q0: 155_000, q1: 158_000, q2: undefined, q3: undefined, q4: 34_000, q9: undefined, q5: 22_000, q7: 12_000, q8: undefined, q11: 40_000, q14: undefined };

/** The topic a query's results are timed on, where it is not the query's name (q4's result is state: its winners are timed). */
const SINK_TOPIC: Record<string, string> = { q4: 'winning-prices' };

type Baseline = (events: NexmarkEvent[]) => number;
const bidsOf = function* (events: NexmarkEvent[]): Generator<Bid> {
  for (const e of events) if ('bid' in e) yield e.bid;
};

/**
 * q9's interval join by hand: per open auction its best bid so far; an auction closes (and its
 * winner leaves) once event time (events are in order) is past min(expires, dateTime + 10 min).
 */
function winningBids(events: NexmarkEvent[], winner: (a: Auction, best: Bid) => void): void {
  const open = new Map<number, { a: Auction; end: number; best?: Bid }>();
  let nextClose = Infinity;
  const closeUpTo = (wm: number) => {
    nextClose = Infinity;
    for (const [id, o] of open) {
      if (o.end < wm) {
        if (o.best) winner(o.a, o.best);
        open.delete(id);
      } else if (o.end < nextClose) nextClose = o.end;
    }
  };
  for (const e of events) {
    const t = nexmarkEventTime(e);
    if ('auction' in e) {
      const end = Math.min(e.auction.expires, t + 600_000);
      open.set(e.auction.id, { a: e.auction, end });
      if (end < nextClose) nextClose = end;
    } else if ('bid' in e) {
      const o = open.get(e.bid.auction);
      if (o && t >= o.a.dateTime && t <= o.end && (!o.best || e.bid.price > o.best.price)) o.best = e.bid;
    }
    if (t > nextClose) closeUpTo(t);
  }
  closeUpTo(Infinity);
}

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
  q3: (events) => {
    // Persons in OR/ID/CA by id (at most 10 min old), auctions of category 10 look their seller up (events are in order).
    const sellers = new Map<number, Person>();
    const out: object[] = [];
    for (const e of events) {
      if ('person' in e) {
        const p = e.person;
        if (p.state === 'OR' || p.state === 'ID' || p.state === 'CA') sellers.set(p.id, p);
      } else if ('auction' in e && e.auction.category === 10) {
        const p = sellers.get(e.auction.seller);
        if (p && p.dateTime + 600_000 >= e.auction.dateTime) out.push({ name: p.name, city: p.city, state: p.state, id: e.auction.id });
      }
    }
    return out.length;
  },
  q9: (events) => {
    const out: object[] = [];
    winningBids(events, (a, b) => out.push({ ...a, auction: b.auction, bidder: b.bidder, price: b.price, bid_dateTime: b.dateTime, bid_extra: b.extra }));
    return out.length;
  },
  q4: (events) => {
    const categories = new Map<number, { sum: number; count: number; avg: number }>();
    let updates = 0;
    winningBids(events, (a, b) => {
      const c = categories.get(a.category) ?? { sum: 0, count: 0, avg: 0 };
      c.sum += b.price;
      c.count++;
      c.avg = c.sum / c.count;
      categories.set(a.category, c);
      updates++;
    });
    return updates;
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
  report('ssdk embedded, native functions', n, r.ms, r.rss, `(${(n / (r.cpuMs / 1000)).toLocaleString('en', { maximumFractionDigits: 0 })} events per CPU second, ${r.guardedCalls.toLocaleString('en')} calls under function-timeout)`, r.cpuMs);
  unitLines(r.metrics);
  if (!values['no-guard-baseline']) {
    // Again without the time limit, after the guarded run (warm-up favours the baseline): what function-timeout costs.
    const u = await runEmbedded(file, 'events', input, 'native', { ...layout, unguarded: true });
    report('  baseline: the same, no function-timeout', n, u.ms, u.rss, `(${(n / (u.cpuMs / 1000)).toLocaleString('en', { maximumFractionDigits: 0 })} events per CPU second; guard costs ${(((r.cpuMs - u.cpuMs) / u.cpuMs) * 100).toFixed(1)}% CPU)`, u.cpuMs);
  }
  if (!values['no-sandbox']) {
    const s = await runEmbedded(file, 'events', input.slice(0, ns), 'sandbox', layout);
    report(`ssdk embedded, sandboxed, ${s.guestWorkers} guest worker(s)`, ns, s.ms, s.rss, '', s.cpuMs);
    unitLines(s.metrics);
  }
  if (!values['no-distributed']) await distributed(query, file, events, n / (r.cpuMs / 1000));
}

/**
 * The query as operator processes over NATS and PostgreSQL: one per unit, then fused. Each run
 * has its own subject prefix and state schema, removed afterwards.
 */
async function distributed(query: string, file: string, events: NexmarkEvent[], embeddedPerCpuS: number): Promise<void> {
  const partitions = Number(values.partitions);
  const nd = Math.min(events.length, Number(values['distributed-events'] ?? events.length));
  const db = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  const base = `${values.prefix ?? `nexmark${process.pid}`}${query}`;
  try {
    for (const fuse of [false, true]) {
      const operators = (await planOrThrow(file, { partitions, fuse })).plan.operators;
      const longestWindowMs = Math.max(0, ...operators.map((op) => (op.window ? op.window.durationMs + op.window.watermark.gracePeriodMs : 0)));
      const latencySeconds = values['latency-seconds'] !== undefined ? Number(values['latency-seconds']) : Math.max(15, Math.ceil((4 * longestWindowMs) / 1000));
      const units = operators.map((op) => op.id);
      const env: Record<string, string> = { SSDK_ISOLATION: 'native', ...(fuse ? { SSDK_FUSE: '1' } : {}) };
      const layout = `${fuse ? 'fused' : 'one process per operator'}${values.staged ? ', staged' : ''}`;
      // One deployment: operators on a prefix and schema of their own, torn down afterwards.
      // `start()` starts every unit's process, `start([u])` only unit u's.
      const deployment = async <T>(suffix: string, run: (bus: Awaited<ReturnType<typeof createNatsBus>>, start: (only?: readonly string[]) => ReturnType<typeof startAll>) => Promise<T>): Promise<T> => {
        const prefix = `${base}${fuse ? 'f' : 'd'}${suffix}`;
        const schema = `ssdk_bench_${prefix}`.toLowerCase();
        const bus = await createNatsBus({ servers: NATS_URL, subjectPrefix: prefix });
        try {
          await bus.ensureTopic({ name: 'events', partitions });
          return await run(bus, (only) => startAll(file, only ?? units, prefix, schema, partitions, env));
        } finally {
          await bus.destroy().catch(() => {});
          await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
        }
      };
      if (values['fixed-cost']) {
        // The same processes over no events (the end marker only): what each costs whatever the
        // volume, inside the window the throughput run counts (lease, first reads, commits, end, close).
        const fixed = await deployment('z', async (bus, start) => {
          for (let p = 0; p < partitions; p++) await bus.publish('events', p, [{ data: encodeFrame({ kind: 'end' }) }]);
          const ops = start();
          await Promise.all(ops.map((o) => o.exited));
          return ops.map((o) => o.cpuSinceReady());
        });
        console.log(`    ${layout}, no events: CPU s ${fixed.map((c) => c.toFixed(2)).join(' + ')} from each process's ready line to its exit`);
      }
      const tp = await deployment('t', async (bus, start) => {
        // `--source-batch` events a frame, round-robin over the partitions (a nexmark-source's
        // batch k goes to partition k mod partitions), then the end on each.
        const frames: Uint8Array[] = [];
        const perFrame = Number(values['source-batch']);
        for (let i = 0; i < nd; i += perFrame) {
          const records = events.slice(i, Math.min(nd, i + perFrame)).map((e) => ({ key: null, value: JSON.stringify(e), timestamp: nexmarkEventTime(e) }));
          frames.push(...encodeRecordFrames(records, 900_000));
        }
        for (let p = 0; p < partitions; p++) {
          const mine = frames.filter((_, i) => i % partitions === p);
          for (let i = 0; i < mine.length; i += 512) await bus.publish('events', p, mine.slice(i, i + 512).map((data) => ({ data })));
          await bus.publish('events', p, [{ data: encodeFrame({ kind: 'end' }) }]);
        }
        if (values.staged) {
          // One unit at a time over its whole input, upstream first: each unit's CPU without the
          // others sharing the cores or it waiting for them. Wall time is the sum of the units'.
          const ms: number[] = [];
          const cpus = new Map<string, number>();
          const rss = new Map<string, number>();
          for (const u of upstreamFirst(operators)) {
            const [op] = start([u]);
            await op!.running;
            const t = performance.now();
            await op!.exited;
            ms.push(performance.now() - t);
            cpus.set(u, op!.cpuSinceReady());
            rss.set(u, op!.peakRssKb());
          }
          // In the plan's order, as the concurrent run prints them.
          return { ms: ms.reduce((a, b) => a + b, 0), cpu: [...cpus.values()].reduce((a, b) => a + b, 0), cpus: units.map((u) => cpus.get(u)!), rss: units.map((u) => rss.get(u)!) };
        }
        const ops = start();
        await Promise.all(ops.map((o) => o.running));
        const t0 = performance.now();
        await Promise.all(ops.map((o) => o.exited));
        const ms = performance.now() - t0;
        // Each process from its own ready line: one that started first was at work before the last was ready.
        const cpus = ops.map((o) => o.cpuSinceReady());
        return { ms, cpu: cpus.reduce((a, b) => a + b, 0), cpus, rss: ops.map((o) => o.peakRssKb()) };
      });
      const perCpuS = nd / tp.cpu;
      report(
        `ssdk distributed, ${layout} (${units.length} process${units.length > 1 ? 'es' : ''})`,
        nd,
        tp.ms,
        Math.max(...tp.rss) * 1024,
        `(${Math.round(perCpuS).toLocaleString('en')} events per CPU second, ${(perCpuS / embeddedPerCpuS).toFixed(2)}× embedded native; CPU s ${tp.cpus.map((c) => c.toFixed(1)).join(' + ')}; peak RSS ${tp.rss.map((k) => mb(k * 1024)).join(', ')})`,
        tp.cpu * 1000,
      );
      if (values['no-latency']) continue;
      const latency = await deployment('l', async (bus, start) => {
        const ops = start();
        await Promise.all(ops.map((o) => o.running));
        let endSent = Infinity;
        const drained = drainTopic(bus, SINK_TOPIC[query] ?? query, partitions, () => endSent);
        await produceAtRate(bus, partitions, Number(values['latency-rate']), latencySeconds);
        endSent = Date.now();
        for (let p = 0; p < partitions; p++) await bus.publish('events', p, [{ data: encodeFrame({ kind: 'end' }) }]);
        const l = await drained;
        await Promise.all(ops.map((o) => o.exited));
        return l;
      });
      console.log(
        `    latency at ${values['latency-rate']} events/s for ${latencySeconds} s: p50 ${percentile(latency, 0.5)} ms  p99 ${percentile(latency, 0.99)} ms  (${latency.length.toLocaleString('en')} outputs before the end of input)`,
      );
    }
  } finally {
    await db.end();
  }
}

function startAll(file: string, units: readonly string[], prefix: string, schema: string, partitions: number, env: Record<string, string>) {
  return units.map((u) => startOperator(file, u, prefix, schema, partitions, env));
}

/** `rate` Nexmark events a second for `seconds`, event time = send time (Nexmark's clock starts now), in 20 ms ticks. */
async function produceAtRate(bus: Awaited<ReturnType<typeof createNatsBus>>, partitions: number, rate: number, seconds: number): Promise<void> {
  const options = compileNexmarkOptions({ seed: 2, eventsPerSecond: rate, baseTime: Date.now() });
  const t0 = options.baseTime;
  let n = 0;
  for (let tick = 0; Date.now() - t0 < seconds * 1000; tick++) {
    const due = t0 + tick * 20;
    if (due > Date.now()) await sleep(due - Date.now());
    const upTo = Math.floor(((Date.now() - t0) * rate) / 1000);
    const records = [];
    for (; n < upTo; n++) {
      const e = nexmarkEvent(n, options);
      records.push({ key: null, value: JSON.stringify(e), timestamp: nexmarkEventTime(e) });
    }
    if (records.length) await bus.publish('events', tick % partitions, encodeRecordFrames(records, 900_000).map((data) => ({ data })));
  }
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
