/**
 * Test kit of the distributed runtime's acceptance tests (rescale, crash, outage): the
 * word-count example fed with a generated, deterministic stream whose golden outputs an
 * independent reference computes here, operator processes (`ssdk operator`) to start, kill and
 * restart, and readers of the sink topics and the state tables.
 *
 * The stream is produced one window at a time, and the next window only once the window unit
 * has counted the previous one (in its committed state): then no record can be late however the
 * partitions interleave, and the top-words output is exact with any number of partitions.
 * One sentence with an old timestamp at the very end is late for certain (every channel of the
 * window unit has moved past its window by then).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectControl, createNatsBus, type ControlConnection, type NatsBus } from '@ssdk/bus';
import { lifecycleSubject, type OperatorEvent, type PartitionsEvent } from '@ssdk/control-plane';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, encodeFrame, encodeRecordFrames, type OutRecord } from '@ssdk/records';
import { ensurePlanTopics, nativeTopology, runOperator, tableSpecs, type OperatorResult, type RuntimeTopic, type Topology } from '@ssdk/runtime';
import { openPostgresStore, type StateStore } from '@ssdk/state';
import { testNats, testPostgres, until as waitUntil } from '@ssdk/testing';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FILE = `${ROOT}examples/word-count/services.yaml`;
const BIN = `${ROOT}bin/ssdk.js`;
export const KEYED = 'count-words.add-to-total';
export const WINDOW_UNIT = 'top-words.count-in-window';
const WINDOW_MS = 20_000;
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const STOP_WORDS = new Set(
  ('the and for with that this from are was were but not you your they them their its has have had ' +
    'into over than then there when what which who will would can our all any').split(' '),
);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Sentence {
  value: string;
  timestamp: number;
}

export interface WordCountInput {
  /** One chunk per 20 s window, in order. */
  windows: Sentence[][];
  /** Produced last, with a timestamp in the first window: late. */
  late: Sentence[];
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `sentences` sentences over `windows` windows, seeded; every sentence keeps 2 s of grace clear of its window's end. */
export function generateInput(sentences: number, windows: number, seed = 5): WordCountInput {
  const rand = mulberry32(seed);
  const nouns = ['river', 'harbor', 'bridge', 'lantern', 'ship', 'market', 'tide', 'tower', 'storm', 'street', 'bell', 'ferry', 'gull', 'crew', 'dock', 'night', 'morning', 'rain', 'wind', 'fog'];
  const others = ['old', 'quiet', 'bright', 'cold', 'golden', 'crosses', 'waits', 'rings', 'shines', 'drifts', 'the', 'and', 'over', 'into', 'by', 'near'];
  // Skewed: earlier nouns are more frequent, so every window has a clear top 3.
  const noun = () => nouns[Math.min(nouns.length - 1, Math.floor(nouns.length * rand() * rand()))]!;
  const other = () => others[Math.floor(rand() * others.length)]!;
  const out: Sentence[][] = [];
  const perWindow = Math.ceil(sentences / windows);
  for (let w = 0; w < windows; w++) {
    const chunk: Sentence[] = [];
    const n = Math.min(perWindow, sentences - w * perWindow);
    for (let i = 0; i < n; i++) {
      const words = Array.from({ length: 4 + Math.floor(rand() * 6) }, () => (rand() < 0.6 ? noun() : other()));
      chunk.push({ value: `${words.join(' ')}.`, timestamp: T0 + w * WINDOW_MS + Math.floor((i / n) * (WINDOW_MS - 3_000)) });
    }
    out.push(chunk);
  }
  return { windows: out, late: [{ value: 'Delayed: the lighthouse keeper rings a lantern.', timestamp: T0 + 5_000 }] };
}

export interface Golden {
  words: string[];
  totals: Record<string, number>;
  topWords: Array<Array<{ word: string; count: number }>>;
  late: string[];
  /** Counted words per window start, to know when the window unit has caught up. */
  perWindow: Map<number, number>;
}

/** The example's semantics, written independently of ssdk (see examples/word-count/reference.mjs). */
export function reference(input: WordCountInput): Golden {
  const split = (s: string) => s.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length >= 3 && !STOP_WORDS.has(w));
  const words: string[] = [];
  const totals: Record<string, number> = {};
  const windows = new Map<number, Map<string, number>>();
  for (const chunk of input.windows) {
    for (const s of chunk) {
      const start = Math.floor(s.timestamp / WINDOW_MS) * WINDOW_MS;
      for (const w of split(s.value)) {
        words.push(w);
        totals[w] = (totals[w] ?? 0) + 1;
        let counts = windows.get(start);
        if (!counts) windows.set(start, (counts = new Map()));
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
  }
  const late: string[] = [];
  for (const s of input.late) {
    for (const w of split(s.value)) {
      words.push(w);
      totals[w] = (totals[w] ?? 0) + 1;
      late.push(w);
    }
  }
  const starts = [...windows.keys()].sort((a, b) => a - b);
  const topWords = starts.map((start) =>
    [...windows.get(start)!]
      .map(([word, count]) => ({ word, count }))
      .sort((a, b) => b.count - a.count || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0))
      .slice(0, 3),
  );
  const perWindow = new Map(starts.map((s) => [s, [...windows.get(s)!.values()].reduce((a, b) => a + b, 0)]));
  return { words, totals, topWords, late, perWindow };
}

export interface Servers {
  natsUrl: string;
  /** What the operators connect to (a proxy in the outage test). */
  databaseUrl: string;
  /** What the test itself reads state through. */
  checkDatabaseUrl: string;
  schema: string;
  prefix: string;
  partitions: number;
  /** The services file (a variant of the example's). @default FILE */
  file?: string;
}

/**
 * Runs every unit of the plan but the keyed one in this process, with short leases (the keyed
 * one runs as `ssdk operator` processes the test starts and kills). Native: replicas and leases
 * are the point of the rescale tests, not the sandbox (operator-sandboxed.int.test.ts).
 */
export async function runUnitsButKeyed(s: Servers, signal: AbortSignal): Promise<Array<Promise<OperatorResult>>> {
  return runUnits(s, signal, [KEYED]);
}

/** Runs every unit of the plan but `skip` in this process (as `runUnitsButKeyed`). */
export async function runUnits(s: Servers, signal: AbortSignal, skip: readonly string[] = []): Promise<Array<Promise<OperatorResult>>> {
  const file = s.file ?? FILE;
  const { plan } = await planOrThrow(file, { subjectPrefix: s.prefix, partitions: s.partitions });
  return plan.operators
    .filter((op) => !skip.includes(op.id))
    .map((op) =>
      runOperator({ file, operatorId: op.id, natsUrl: s.natsUrl, databaseUrl: s.databaseUrl, schema: s.schema, subjectPrefix: s.prefix, partitions: s.partitions, leaseTtlMs: 1_500, heartbeatMs: 250, isolation: 'native', signal }),
    );
}

/** The word-count plan's topics on NATS, a producer and readers. */
export class WordCountStream {
  readonly bus: NatsBus;
  readonly topology: Topology;
  readonly store: StateStore;
  private readonly partitions: number;
  private next = 0;

  private constructor(bus: NatsBus, topology: Topology, store: StateStore, partitions: number) {
    this.bus = bus;
    this.topology = topology;
    this.store = store;
    this.partitions = partitions;
  }

  static async open(s: Servers): Promise<WordCountStream> {
    const bus = await createNatsBus({ servers: s.natsUrl, subjectPrefix: s.prefix });
    const file = s.file ?? FILE;
    const { plan, dataflow } = await planOrThrow(file, { subjectPrefix: s.prefix, partitions: s.partitions });
    const topology = await nativeTopology(file, plan, dataflow);
    await ensurePlanTopics(bus, plan, plan.topics.map((t) => t.id));
    const store = await openPostgresStore({ connectionString: s.checkDatabaseUrl, schema: s.schema });
    // The operators create the tables too; the test may look before the first of them has.
    await store.migrate(tableSpecs(plan));
    return new WordCountStream(bus, topology, store, s.partitions);
  }

  topic(id: string): RuntimeTopic {
    return this.topology.topics.get(id)!;
  }

  /** Publishes sentences round-robin over the partitions (or only `only`), `perFrame` to a frame. */
  async produce(sentences: readonly Sentence[], perFrame = 50, only?: readonly number[]): Promise<void> {
    const t = this.topic('sentences');
    const targets = only ?? Array.from({ length: this.partitions }, (_, p) => p);
    const byPartition: OutRecord[][] = Array.from({ length: this.partitions }, () => []);
    for (const s of sentences) byPartition[targets[this.next++ % targets.length]!]!.push({ key: null, value: JSON.stringify(s.value), timestamp: s.timestamp });
    await Promise.all(
      byPartition.map(async (records, p) => {
        const messages = [];
        for (let i = 0; i < records.length; i += perFrame) messages.push(...encodeRecordFrames(records.slice(i, i + perFrame), 900_000).map((data) => ({ data })));
        if (messages.length) await this.bus.publish(t.name, p, messages);
      }),
    );
  }

  async end(): Promise<void> {
    const t = this.topic('sentences');
    for (let p = 0; p < this.partitions; p++) await this.bus.publish(t.name, p, [{ data: encodeFrame({ kind: 'end' }) }]);
  }

  /** Words the window unit has counted (committed) in the window starting at `start`. */
  async countedIn(start: number): Promise<number> {
    const rows = await this.store.query<{ n: string | null }>('SELECT sum(value::text::bigint) AS n FROM top_words_window_counts WHERE window_start = $1', [start]);
    return Number(rows[0]?.n ?? 0);
  }

  /** Waits until the window unit has counted every word of the window starting at `start`. */
  async waitCounted(start: number, expected: number, timeoutMs: number, onWait?: () => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await this.countedIn(start);
      if (n === expected) return;
      if (n > expected) throw new Error(`window ${start} counted ${n} words, more than the ${expected} produced: a duplicate`);
      if (Date.now() > deadline) throw new Error(`window ${start} counted ${n} of ${expected} words after ${timeoutMs} ms`);
      onWait?.();
      await sleep(100);
    }
  }

  /** Every record of a topic (all partitions, each in order), decoded. */
  async read(id: string): Promise<unknown[]> {
    const t = this.topic(id);
    const out: unknown[] = [];
    for (let p = 0; p < t.partitions; p++) {
      // Read up to the partition's last sequence: a quiet moment of the server is not the end.
      const last = await this.bus.lastSeq(t.name, p);
      const reader = this.bus.read(t.name, p);
      for (let seq = 0; seq < last; ) {
        const messages = await reader.fetch(1000, 2_000);
        if (messages.length === 0) throw new Error(`${id}/${p}: no message after ${seq} of ${last}`);
        for (const m of messages) {
          seq = m.seq;
          const f = decodeFrame(m.data);
          if (f.kind === 'data') for (const r of f.records) out.push(t.value.decode(r.value));
        }
        // Unacknowledged deliveries hold the consumer back (max_ack_pending).
        await reader.ack(seq);
      }
      await reader.close();
    }
    return out;
  }

  async totals(): Promise<Record<string, number>> {
    const rows = await this.store.query<{ key: string; value: number }>('SELECT key, value FROM count_words_word_totals');
    return Object.fromEntries(rows.map((r) => [r.key, Number(r.value)]));
  }

  async openWindowRows(): Promise<number> {
    const rows = await this.store.query<{ n: number }>('SELECT count(*)::int AS n FROM top_words_window_counts');
    return rows[0]!.n;
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.bus.destroy();
  }
}

export interface OperatorProcess {
  unit: string;
  child: ChildProcess;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** Resolves once the process logged `running` (topics, state and offsets loaded). */
  running: Promise<void>;
  /** Its log lines so far (for people: tests observe `partitions`). */
  log: string[];
  /** The changes of its partitions it published so far (`PartitionsEvent` on `<prefix>.lifecycle`), in order. */
  partitions: PartitionsEvent[];
}

/** Starts `ssdk operator` processes of the word-count example against the given servers. */
export class OperatorProcesses {
  readonly all: OperatorProcess[] = [];
  private readonly s: Servers;
  private readonly env: Record<string, string>;
  private readonly control: ControlConnection;
  // A process's events by its pid, kept from the first one (it may come before `start` returns).
  private readonly events = new Map<number, PartitionsEvent[]>();

  private constructor(s: Servers, env: Record<string, string>, control: ControlConnection) {
    this.s = s;
    this.env = env;
    this.control = control;
  }

  /** Subscribes to the stack's operator events first, so no process's first event is missed. */
  static async open(s: Servers, env: Record<string, string> = {}): Promise<OperatorProcesses> {
    const control = await connectControl({ servers: s.natsUrl, name: 'operator tests' });
    const procs = new OperatorProcesses(s, env, control);
    control.subscribe(lifecycleSubject(s.prefix), (body) => {
      const e = body as OperatorEvent;
      if (e.kind === 'state') return;
      const list = procs.events.get(e.pid) ?? [];
      list.push(e);
      procs.events.set(e.pid, list);
    });
    return procs;
  }

  start(unit: string): OperatorProcess {
    const s = this.s;
    const child = spawn(
      process.execPath,
      [BIN, 'operator', s.file ?? FILE, '--operator', unit, '--nats', s.natsUrl, '--postgres', s.databaseUrl, '--schema', s.schema, '--subject-prefix', s.prefix, '--partitions', String(s.partitions)],
      // Native unless a test asks otherwise: these tests are about replicas, leases and crashes,
      // and a sandboxed process spends seconds loading its component at every (re)start.
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SSDK_LEASE_TTL_MS: '1500', SSDK_HEARTBEAT_MS: '250', SSDK_ISOLATION: 'native', ...this.env } },
    );
    const log: string[] = [];
    let seen = '';
    const running = new Promise<void>((resolve) => {
      child.stderr!.on('data', (b: Buffer) => {
        seen += b.toString();
        const lines = seen.split('\n');
        seen = lines.pop()!;
        log.push(...lines);
        if (lines.some((l) => l.includes(': running'))) resolve();
      });
      child.once('exit', () => resolve());
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const partitions: PartitionsEvent[] = [];
    if (child.pid !== undefined) this.events.set(child.pid, partitions);
    const p: OperatorProcess = { unit, child, exited, running, log, partitions };
    this.all.push(p);
    return p;
  }

  live(unit?: string): OperatorProcess[] {
    return this.all.filter((p) => (unit === undefined || p.unit === unit) && p.child.exitCode === null && p.child.signalCode === null);
  }

  async kill(p: OperatorProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    p.child.kill(signal);
    await p.exited;
  }

  /** Kills every process left and stops listening. */
  async killAll(): Promise<void> {
    for (const p of this.live()) p.child.kill('SIGKILL');
    await Promise.all(this.all.map((p) => p.exited));
    await this.control.close();
  }
}

/** Multiset form of a list of JSON values, for outputs whose order across partitions is free. */
export const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

/** What a run after crashes has to equal, in either runtime: the sinks and the state of an uninterrupted run. */
export interface WordCountOutcome {
  topWords: unknown[];
  late: unknown[];
  /** The words topic, where the runtime keeps it (the distributed one: it is a topic between processes). */
  words?: unknown[];
  totals: Record<string, number>;
}

/** The one verdict of both crash tests (kill -9 of operator processes, kill -9 of `ssdk run`): equal to the reference. */
export function expectGolden(actual: WordCountOutcome, golden: Golden): void {
  // Exactly once: every window's top words once, in window order; nothing lost or duplicated.
  expect(actual.topWords).toEqual(golden.topWords);
  expect(sorted(actual.late)).toEqual(sorted(golden.late));
  if (actual.words) {
    expect(actual.words.length).toBe(golden.words.length);
    expect(sorted(actual.words)).toEqual(sorted(golden.words));
  }
  expect(actual.totals).toEqual(golden.totals);
}

/** `until` of @ssdk/testing; on a timeout it tells what `processes` said last. */
export function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 60_000, processes: readonly OperatorProcess[] = []): Promise<void> {
  const logs = () => processes.map((p) => `--- ${p.unit} (pid ${p.child.pid}, exit ${p.child.exitCode ?? p.child.signalCode ?? 'none'}):\n${p.log.slice(-20).join('\n')}`).join('\n');
  return waitUntil(what, ok, timeoutMs, processes.length > 0 ? logs : undefined);
}

/** The partitions a replica reads now (its last `rebalanced` event); undefined before it reads any. */
export const reading = (p: OperatorProcess): number[] | undefined => p.partitions.filter((e) => e.kind === 'rebalanced').at(-1)?.partitions;

/** How a crash test went: what it killed, for its log line. */
export interface CrashReport {
  kills: string[];
  ms: number;
}

/**
 * The distributed crash test: every operator unit of the word-count example runs as its own
 * `ssdk operator` process over 4 partitions; while the sentences stream in, a random process is
 * killed with SIGKILL `kills` times (each during a different window, at a random moment of it)
 * and restarted each time. The sinks and the state tables must equal the reference exactly.
 */
export async function distributedCrash(o: { sentences: number; kills: number; windows?: number }): Promise<CrashReport> {
  const windows = o.windows ?? 8;
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const nats = await testNats();
    const pg = await testPostgres();
    const s: Servers = { natsUrl: nats.url, databaseUrl: pg.connectionString, checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: nats.prefix, partitions: 4 };
    const stream = await WordCountStream.open(s);
    cleanups.push(() => stream.close(), () => pg.cleanup());
    const input = generateInput(o.sentences, windows);
    const golden = reference(input);
    const starts = [...golden.perWindow.keys()];
    const { plan } = await planOrThrow(FILE, { subjectPrefix: s.prefix, partitions: s.partitions });
    const procs = await OperatorProcesses.open(s);
    cleanups.push(() => procs.killAll());
    for (const op of plan.operators) procs.start(op.id);
    await Promise.all(procs.all.map((p) => p.running));

    const killAt = new Set<number>();
    while (killAt.size < Math.min(o.kills, windows - 2)) killAt.add(1 + Math.floor(Math.random() * (windows - 2)));
    const kills: string[] = [];
    const t0 = Date.now();
    for (let k = 0; k < windows; k++) {
      await stream.produce(input.windows[k]!);
      if (killAt.has(k)) {
        await sleep(Math.random() * 1_500);
        const live = procs.live();
        const victim = live[Math.floor(Math.random() * live.length)]!;
        await procs.kill(victim);
        kills.push(`${victim.unit} in window ${k} at ${Date.now() - t0} ms`);
        procs.start(victim.unit);
      }
      await stream.waitCounted(starts[k]!, golden.perWindow.get(starts[k]!)!, 120_000);
    }
    await stream.produce(input.late);
    await stream.end();
    const codes = await Promise.all(procs.live().map((p) => p.exited));
    expect(codes).toEqual(codes.map(() => 0));
    expect(procs.all.length).toBe(plan.operators.length + killAt.size);

    expectGolden({ topWords: await stream.read('top-words'), late: await stream.read('top-words.late-events'), words: await stream.read('words'), totals: await stream.totals() }, golden);
    expect(await stream.openWindowRows()).toBe(0);
    return { kills, ms: Date.now() - t0 };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}

/** Runs `ssdk run`; with `killAfterMs`, kills it with SIGKILL that long after it started processing. */
function ssdkRun(args: string[], killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let armed = false;
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      // The status line shows once records flow: the kill falls inside the processing.
      if (killAfterMs !== undefined && !armed && /records\/s/.test(stderr)) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/**
 * The embedded crash test, on the distributed one's input and verdict: `ssdk run --until-idle`
 * of the word-count example is killed with SIGKILL `kills` times at random moments (up to
 * `maxKillMs` after records start flowing), each time run again with `--resume` on the same input
 * file; the last run ends. Its sinks and committed state must equal the reference exactly.
 */
export async function embeddedCrash(o: { sentences: number; kills: number; maxKillMs: number }): Promise<CrashReport> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-embedded-crash-'));
  try {
    const input = generateInput(o.sentences, 8);
    const golden = reference(input);
    const lines = [...input.windows.flat(), ...input.late].map((s) => JSON.stringify({ value: s.value, timestamp: s.timestamp }));
    await writeFile(join(dir, 'in.jsonl'), lines.join('\n') + '\n');
    const args = [FILE, '--native', '--input', `sentences=${join(dir, 'in.jsonl')}`, '--records', '--output-dir', join(dir, 'out'), '--until-idle', '--dump-state', '--progress', '--state-dir', join(dir, '.ssdk')];

    const kills: string[] = [];
    const t0 = Date.now();
    // Every kill must land inside the processing, or the test proves fewer crashes than it says. A
    // run that ends before its kill (the input was done sooner than the kill's moment: a quicker
    // engine, a quiet box) starts the whole scenario again from nothing, with kills twice as early.
    const missed: string[] = [];
    for (let maxKillMs = o.maxKillMs; ; maxKillMs /= 2) {
      expect(maxKillMs, `no kill landed inside the processing: ${missed.join('; ')}`).toBeGreaterThanOrEqual(1);
      await rm(join(dir, 'out'), { recursive: true, force: true });
      await rm(join(dir, '.ssdk'), { recursive: true, force: true });
      kills.length = 0;
      for (let k = 0; k < o.kills; k++) {
        const at = Math.floor(Math.random() * maxKillMs);
        const r = await ssdkRun(k === 0 ? args : [...args, '--resume'], at);
        if (r.signal !== 'SIGKILL') {
          // Done before the kill, not failed: anything else is the run's own failure.
          expect(r.code, r.stderr).toBe(0);
          break;
        }
        kills.push(`killed ${at} ms in`);
      }
      if (kills.length === o.kills) break;
      missed.push(`run ${kills.length + 1} ended before its kill (within ${maxKillMs} ms)`);
    }
    if (missed.length > 0) kills.push(`after starting again from nothing: ${missed.join(', ')}`);
    const last = await ssdkRun([...args, '--resume']);
    expect(last.code, last.stderr).toBe(0);
    const totals = JSON.parse(await readFile(join(dir, 'out', 'state', 'word-totals.json'), 'utf8')) as Record<string, number>;
    const sink = async (topic: string) => (await readFile(join(dir, 'out', `${topic}.jsonl`), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
    expectGolden({ topWords: await sink('top-words'), late: await sink('top-words.late-events'), totals }, golden);
    return { kills, ms: Date.now() - t0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
