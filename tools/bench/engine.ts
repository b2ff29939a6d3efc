/**
 * `npm run bench:engine` — the embedded runtime on two dataflows, against a hand-written
 * baseline measured in the same run:
 *   word-count: sentences → split → filter → keyed running total → 20 s windows → top 3
 *   sensors:    readings → valid, converted, routed to two outputs, speeding counted per car,
 *               windowed average per car (sliding 60 s / 20 s)
 * Each dataflow runs with native (trusted) functions and sandboxed (every unit's chain in the
 * dataflow's WebAssembly component; built on first use, then cached by content hash under
 * $SSDK_COMPONENT_CACHE or node_modules/.cache/ssdk-components). Prints records/s, CPU seconds
 * (wall time on a busy machine says little: compare with the baseline of the same run), batch
 * latency percentiles and peak RSS (the component is built in a child process, so the RSS is the
 * runtime's). Each ssdk line is also given as a ratio to the hand-written loop, records per CPU
 * second over the loop's (issue 15's targets: sensors ≥ 0.25×, word count ≥ 0.3×; the sensors loop
 * does the whole dataflow, and the windowed average alone the issue's first figure was set against
 * is printed beside it): to the loop's first run, as cold as the dataflow's (the figure the
 * targets were set against), and to the least CPU time of three runs (warm). Not a test:
 * numbers, not verdicts.
 *
 * Native runs three times: with function-timeout, without it, and with it again: what the time
 * limit costs, once against a baseline that ran warmer (the first run pays the JIT's warm-up and
 * leaves garbage the second one's collector clears) and once warm (`--no-guard-baseline` skips both).
 *
 *   npx tsx tools/bench/engine.ts [--records N] [--sandbox-records N] [--no-fuse] [--no-sandbox] [--no-guard-baseline] [--only word-count|sensors]
 *     [--partitions N] [--batch-messages N] [--guest-workers N,M] (sandboxed runs, one per worker count; default: one per CPU)
 */
import { spawnSync } from 'node:child_process';
import type { ProduceRecord, UnitMetricsSnapshot } from '@ssdk/runtime';
import { buildComponent, measureRss, repo, report, runEmbedded as runFile, unitLines } from './embedded-harness.ts';
import { benchArgs } from './args.ts';

// Embedded mode runs fused (one partition: steps of a service part share a unit); --no-fuse
// runs the distributed runtime's default layout: one unit per step, but for key and time steps,
// which run in the unit that sends them their records.
const { values } = benchArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    'sandbox-records': { type: 'string', default: '200000' },
    'no-fuse': { type: 'boolean', default: false },
    'no-sandbox': { type: 'boolean', default: false },
    'no-guard-baseline': { type: 'boolean', default: false },
    only: { type: 'string' },
    partitions: { type: 'string', default: '1' },
    'batch-messages': { type: 'string' },
    'guest-workers': { type: 'string' },
    'build-component': { type: 'string' },
    'state-dir': { type: 'string' },
  },
});
const PARTITIONS = Number(values.partitions);
// Messages a unit takes per batch (it publishes after each): the runtime's default when unset.
const BATCH_MESSAGES = values['batch-messages'] ? Number(values['batch-messages']) : undefined;
// undefined: the host's default (one worker per CPU).
const GUEST_WORKERS: Array<number | undefined> = values['guest-workers'] ? values['guest-workers'].split(',').map(Number) : [undefined];
const fuse = values['no-fuse'] !== true;
const N = Number(values.records);
// The sandbox is slower by design; a smaller input keeps the run short (records/s is what counts).
const NS = Math.min(N, Number(values['sandbox-records']));
const withSandbox = values['no-sandbox'] !== true;

/** Runs an example embedded with this run's layout. */
function runEmbedded(example: string, topic: string, input: ProduceRecord[], mode: 'native' | 'sandbox', workers?: number, unguarded = false) {
  return runFile(`${repo}examples/${example}/services.yaml`, topic, input, mode, {
    partitions: PARTITIONS,
    fuse,
    ...(BATCH_MESSAGES ? { batchMessages: BATCH_MESSAGES } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(unguarded ? { unguarded } : {}),
  });
}

// Native runs again without the time limit, after the guarded run (so warm-up favours the
// baseline, not the guard): what function-timeout costs, same run.
const GUARD_BASELINE = values['no-guard-baseline'] !== true;
const guarded = (r: { guardedCalls: number }) => `(${r.guardedCalls.toLocaleString('en')} calls under function-timeout)`;
const guardCost = (r: { cpuMs: number }, u: { cpuMs: number }) => `${(((r.cpuMs - u.cpuMs) / u.cpuMs) * 100).toFixed(1)}%`;

// --- inputs (seeded, so every run measures the same work) -------------------------------------
function prng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const WORDS = 'river harbor bridge lantern fog tide ship falls carries sails under along shines opens crosses the and small late'.split(' ');
function sentences(n: number): ProduceRecord[] {
  const r = prng(7);
  const t0 = 1_736_154_000_000;
  const out: ProduceRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const len = 5 + Math.floor(r() * 5);
    const words = Array.from({ length: len }, () => WORDS[Math.floor(r() * WORDS.length)]);
    out[i] = { value: `${words.join(' ')}.`, timestamp: t0 + i * 10 };
  }
  return out;
}
function readings(n: number): ProduceRecord[] {
  const r = prng(11);
  const t0 = 1_736_154_000_000;
  const cars = ['car-1', 'car-2', 'car-3', 'car-4', 'car-5', 'car-6', 'car-7', 'car-8'];
  const out: ProduceRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = t0 + i * 20;
    const car = cars[i % cars.length]!;
    out[i] = { key: car, value: { car, time: t, kph: Math.round(r() * 1400) / 10, fuel: Math.round(r() * 1000) / 10 }, timestamp: t };
  }
  return out;
}

interface Baseline {
  records: number;
  /** CPU ms of the loop's first run, and the least of three runs. */
  firstCpuMs: number;
  bestCpuMs: number;
}

/**
 * Runs the hand-written loop three times: the first run's wall time, CPU time and result, and
 * the least CPU time of the three. On a shared machine wall time says little: CPU time is what
 * the loop costs.
 */
function baselineRuns<R>(records: number, loop: () => R): { ms: number; result: R; baseline: Baseline } {
  const runs: Array<{ cpuMs: number; ms: number; result: R }> = [];
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const result = loop();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    runs.push({ cpuMs: (c.user + c.system) / 1000, ms, result });
  }
  const first = runs[0]!;
  return { ms: first.ms, result: first.result, baseline: { records, firstCpuMs: first.cpuMs, bestCpuMs: Math.min(...runs.map((r) => r.cpuMs)) } };
}

/** The same-run ratio: ssdk's records per CPU second over the hand-written loop's (first run; best of three). */
function ratio(name: string, records: number, cpuMs: number, b: Baseline, target: number) {
  const to = (baseCpuMs: number) => (records / cpuMs / (b.records / baseCpuMs)).toFixed(3);
  console.log(`  ${`${name}: ratio to the hand-written loop per CPU second`.padEnd(60)} ${to(b.firstCpuMs)}×  (to its best of 3: ${to(b.bestCpuMs)}×; target ≥ ${target}×)`);
}

/** Records a unit wrote to a topic (the words between the two word-count services). */
function wordsOf(metrics: UnitMetricsSnapshot[]): number {
  // count-words' last unit writes the words topic; what it wrote is what top-words reads.
  return metrics.find((m) => m.operator.startsWith('top-words'))?.recordsIn ?? 0;
}

async function wordCount() {
  const input = sentences(N);
  console.log(`\nword-count: ${N.toLocaleString('en')} sentences`);
  // Baseline: the same work as one hand-written loop (no topics, no checkpoints).
  const rss = measureRss();
  const stop = new Set(['the', 'and']);
  const base = baselineRuns(N, () => {
    const totals = new Map<string, number>();
    let window = new Map<string, number>();
    let windowEnd = 0;
    let words = 0;
    const tops: unknown[] = [];
    for (const s of input) {
      const t = s.timestamp!;
      if (t >= windowEnd) {
        if (window.size) tops.push([...window].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3));
        window = new Map();
        windowEnd = Math.floor(t / 20_000) * 20_000 + 20_000;
      }
      for (const w of (s.value as string).toLowerCase().split(/[^a-z0-9]+/)) {
        if (w.length < 3 || stop.has(w)) continue;
        words++;
        totals.set(w, (totals.get(w) ?? 0) + 1);
        window.set(w, (window.get(w) ?? 0) + 1);
      }
    }
    return { words, windows: tops.length };
  });
  const { words, windows } = base.result;
  report('baseline: hand-written loop (sentences)', N, base.ms, rss(), `(${words.toLocaleString('en')} words, ${windows} windows)`, base.baseline.firstCpuMs);
  report('  … per word', words, base.ms, rss());
  const baseline = base.baseline;
  const layout = fuse ? ', fused' : ', unfused';
  const r = await runEmbedded('word-count', 'sentences', input, 'native');
  report(`ssdk embedded, native functions${layout} (sentences)`, N, r.ms, r.rss, guarded(r), r.cpuMs);
  report(`  … the map/count path (words)`, wordsOf(r.metrics), r.ms, r.rss, `(${Math.round((wordsOf(r.metrics) / r.cpuMs) * 1000).toLocaleString('en')} words per CPU second)`);
  ratio('native', N, r.cpuMs, baseline, 0.3);
  unitLines(r.metrics);
  if (GUARD_BASELINE) {
    const u = await runEmbedded('word-count', 'sentences', input, 'native', undefined, true);
    report(`  baseline: the same, no function-timeout`, N, u.ms, u.rss, `(guard costs ${guardCost(r, u)} CPU)`, u.cpuMs);
    const again = await runEmbedded('word-count', 'sentences', input, 'native');
    report(`  with function-timeout again, after it`, N, again.ms, again.rss, `(guard costs ${guardCost(again, u)} CPU warm)`, again.cpuMs);
  }
  if (!withSandbox) return;
  for (const workers of GUEST_WORKERS) {
    const s = await runEmbedded('word-count', 'sentences', input.slice(0, NS), 'sandbox', workers);
    report(`ssdk embedded, sandboxed${layout}, ${s.guestWorkers} guest worker(s) (sentences)`, NS, s.ms, s.rss, '', s.cpuMs);
    report(`  … the map/count path (words)`, wordsOf(s.metrics), s.ms, s.rss);
    ratio('sandboxed', NS, s.cpuMs, baseline, 0.3);
    unitLines(s.metrics);
  }
}

/**
 * The car-sensors dataflow by hand, the whole of it: drop invalid readings, convert each to a car
 * event (mph, speeding), route it to the speeding or the normal output (kept, as sink topics are),
 * count speeding events per car, and average mph per car over sliding 60 s / 20 s windows by the
 * reading's own time, 5 s grace, each closed window's cars sorted. One conversion per reading where
 * the dataflow converts in two services: the loop is what an engineer would write, not a copy of
 * the plan. Returns the windows it closed and the two outputs' sizes.
 */
function sensorsByHand(input: ProduceRecord[]) {
  const KPH_TO_MPH = 0.621371;
  const windows = new Map<number, Map<string, { total: number; count: number }>>();
  const speeding: unknown[] = [];
  const normal: unknown[] = [];
  const speedingPerCar = new Map<string, number>();
  const closed: unknown[] = [];
  let watermark = -Infinity;
  const close = (upTo: number) => {
    for (const [start, cars] of windows) {
      if (start + 60_000 > upTo) continue;
      windows.delete(start);
      const averages = [...cars].map(([car, s]) => ({ car, avg: Math.round((s.total / s.count) * 100) / 100, readings: s.count }));
      averages.sort((a, b) => (a.car < b.car ? -1 : a.car > b.car ? 1 : 0));
      closed.push({ start, end: start + 60_000, cars: averages });
    }
  };
  for (const r of input) {
    const v = r.value as { car: string; time: number; kph: number; fuel: number };
    if (!(v.car !== '' && Number.isFinite(v.kph) && v.kph >= 0 && v.kph <= 250 && Number.isFinite(v.fuel) && v.fuel >= 0 && v.fuel <= 100)) continue;
    const mph = Math.round(v.kph * KPH_TO_MPH);
    const event = { car: v.car, time: v.time, mph, fuel: v.fuel, speeding: mph > 70 };
    if (event.speeding) {
      speeding.push(event);
      speedingPerCar.set(event.car, (speedingPerCar.get(event.car) ?? 0) + 1);
    } else normal.push(event);
    const last = Math.floor(event.time / 20_000) * 20_000;
    for (let start = last - 40_000; start <= last; start += 20_000) {
      if (start + 60_000 <= watermark) continue; // late for this window
      let cars = windows.get(start);
      if (!cars) windows.set(start, (cars = new Map()));
      const s = cars.get(event.car);
      if (s) {
        s.total += event.mph;
        s.count++;
      } else cars.set(event.car, { total: event.mph, count: 1 });
    }
    if (event.time - 5_000 > watermark) {
      watermark = event.time - 5_000;
      close(watermark);
    }
  }
  close(Infinity);
  return { windows: closed.length, speeding: speeding.length, normal: normal.length, cars: speedingPerCar.size };
}

async function sensors() {
  const input = readings(N);
  console.log(`\nsensors: ${N.toLocaleString('en')} readings`);
  const rss = measureRss();
  // The loop the issue's first figure (0.025×) was measured against: the windowed average of raw
  // km/h alone — no validation, conversion, routing, outputs or speeding counter. Kept for that
  // comparison; the target is judged against the whole dataflow by hand (sensorsByHand).
  const windowOnly = baselineRuns(N, () => {
    const windows = new Map<number, Map<string, { sum: number; n: number }>>();
    let out = 0;
    let wm = -Infinity;
    for (const r of input) {
      const v = r.value as { car: string; kph: number; time: number };
      const last = Math.floor(v.time / 20_000) * 20_000;
      for (let start = last - 40_000; start <= last; start += 20_000) {
        let w = windows.get(start);
        if (!w) windows.set(start, (w = new Map()));
        const a = w.get(v.car) ?? { sum: 0, n: 0 };
        a.sum += v.kph;
        a.n++;
        w.set(v.car, a);
      }
      wm = Math.max(wm, v.time - 5_000);
      for (const [start] of windows) {
        if (start + 60_000 <= wm) {
          windows.delete(start);
          out++;
        }
      }
    }
    return out;
  });
  report('baseline: hand-written loop, windowed average only', N, windowOnly.ms, rss(), `(${windowOnly.result} windows)`, windowOnly.baseline.firstCpuMs);
  const base = baselineRuns(N, () => sensorsByHand(input));
  const b = base.result;
  report('baseline: the whole dataflow by hand', N, base.ms, rss(), `(${b.windows} windows, ${b.speeding.toLocaleString('en')} speeding + ${b.normal.toLocaleString('en')} normal events, ${b.cars} cars)`, base.baseline.firstCpuMs);
  const baseline = base.baseline;
  const layout = fuse ? ', fused' : ', unfused';
  const r = await runEmbedded('car-sensors', 'car-readings', input, 'native');
  report(`ssdk embedded, native functions${layout}`, N, r.ms, r.rss, guarded(r), r.cpuMs);
  ratio('native', N, r.cpuMs, baseline, 0.25);
  ratio('native, to the windowed average only', N, r.cpuMs, windowOnly.baseline, 0.25);
  unitLines(r.metrics);
  if (GUARD_BASELINE) {
    const u = await runEmbedded('car-sensors', 'car-readings', input, 'native', undefined, true);
    report(`  baseline: the same, no function-timeout`, N, u.ms, u.rss, `(guard costs ${guardCost(r, u)} CPU)`, u.cpuMs);
    const again = await runEmbedded('car-sensors', 'car-readings', input, 'native');
    report(`  with function-timeout again, after it`, N, again.ms, again.rss, `(guard costs ${guardCost(again, u)} CPU warm)`, again.cpuMs);
  }
  if (!withSandbox) return;
  for (const workers of GUEST_WORKERS) {
    const s = await runEmbedded('car-sensors', 'car-readings', input.slice(0, NS), 'sandbox', workers);
    report(`ssdk embedded, sandboxed${layout}, ${s.guestWorkers} guest worker(s)`, NS, s.ms, s.rss, '', s.cpuMs);
    ratio('sandboxed', NS, s.cpuMs, baseline, 0.25);
    unitLines(s.metrics);
  }
}

if (values['build-component']) await buildComponent(values['build-component'], values['state-dir']!);
else if (!values.only) {
  // Each dataflow in its own process, so peak RSS is that run's alone.
  console.log(`ssdk bench:engine — Node ${process.version}, ${N.toLocaleString('en')} records per dataflow`);
  for (const only of ['word-count', 'sensors']) {
    const args = [...process.execArgv, process.argv[1]!, ...process.argv.slice(2), '--only', only];
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
} else if (values.only === 'word-count') await wordCount();
else if (values.only === 'sensors') await sensors();
