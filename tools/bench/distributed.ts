/**
 * `npm run bench:distributed` — the distributed runtime (operator processes over NATS JetStream
 * and PostgreSQL) against what it is built from and what a user would write instead, all in
 * one run on this machine, so the ratios hold even when the box is busy:
 *
 *   (a) raw JetStream, one hop: a nats.js process consumes frames of 100 records from a stream
 *       and publishes them to another (batched publish and consume: the ceiling of a hop);
 *   (c1) ssdk, one map hop: `ssdk operator` running a one-step dataflow (`map`) on the same records;
 *   (b) hand-written word count: one nats.js + pg process that consumes sentences, splits,
 *       counts in memory, upserts the changed counts and its offset to PostgreSQL in one
 *       transaction per batch and publishes the words (batched, with dedup ids);
 *   (c2) ssdk word count: the example's `count-words` service, one `ssdk operator` process per
 *       operator unit (split → filter → key → keyed running total in PostgreSQL).
 *
 * Prints records/s, end-to-end latency p50/p99 at a fixed moderate rate (event time = send
 * time, measured where the output is read), peak RSS per process (VmHWM), the CPU seconds the
 * throughput run's processes used (steadier than wall time when the box is busy), and the
 * ratios (c1)/(a) and (c2)/(b). Not a test: numbers, not verdicts.
 *
 *   npx tsx tools/bench/distributed.ts [--records N] [--sentences N] [--rate N] [--seconds S] [--partitions P] [--isolation native|plan|sandbox] [--only a,c1,b,c2,c3] [--staged]
 *
 * `--only` runs the listed rows (all by default): a quicker loop while working on one of them.
 * The ratios whose rows did not run are left out. `--staged` runs the units of (c2) and (c3)
 * one after another, each over its whole input, and prints each one's CPU seconds: a per-unit
 * cost that does not depend on how a busy box shares its cores (the row's time is their sum).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import pg from 'pg';
import { decodeFrame, encodeFrame, encodeRecordFrames, type OutRecord } from '@ssdk/records';
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { DATABASE_URL, drainTopic, NATS_URL, percentile, sleep, startOperator, startProc, type Proc } from './operators.ts';
import { benchArgs } from './args.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const WORD_COUNT = `${ROOT}examples/word-count/services.yaml`;
const STOP_WORDS = /^(the|and|for|with|that|this|from|are|was|were|but|not|you|your|they|them|their|its|has|have|had|into|over|than|then|there|when|what|which|who|will|would|can|our|all|any)$/;

const { values } = benchArgs({
  options: {
    role: { type: 'string' },
    records: { type: 'string', default: '500000' },
    sentences: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
    partitions: { type: 'string', default: '1' },
    in: { type: 'string' },
    out: { type: 'string' },
    schema: { type: 'string' },
    // The baselines run plain JS in V8, so ssdk runs its functions trusted too: the ratios
    // measure the runtime (hops, commits), not the sandbox. `--isolation plan` runs them
    // sandboxed as the services file says (bench:wasm and bench:engine measure the sandbox).
    isolation: { type: 'string', default: 'native' },
    only: { type: 'string', default: 'a,c1,b,c2,c3' },
    staged: { type: 'boolean', default: false },
  },
});

const ROWS = ['a', 'c1', 'b', 'c2', 'c3'];
const only = new Set(values.only!.split(',').map((x) => x.trim().replace(/^\((.*)\)$/, '$1')));
for (const x of only) if (!ROWS.includes(x)) throw new Error(`--only: unknown row \`${x}\` (rows: ${ROWS.join(', ')})`);

// ------------------------------------------------------------------------------------------
// Child roles: the hand-written baselines, each its own process (so RSS is its own).

/** A pull consumer from the start of a stream's subject, acks cumulative. */
async function pull(jsm: JetStreamManager, js: JetStreamClient, subject: string) {
  const stream = await jsm.streams.find(subject);
  const name = `bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await jsm.consumers.add(stream, { name, filter_subject: subject, ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All, max_ack_pending: 20_000, mem_storage: true, inactive_threshold: nanos(60_000) });
  return js.consumers.get(stream, name);
}

/** (a): forward every message of `--in` to `--out` until an end frame; publishes pipelined. */
async function rawHop(): Promise<void> {
  const nc = await connect({ servers: NATS_URL });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const consumer = await pull(jsm, js, values.in!);
  const messages = await consumer.consume({ max_messages: 512 });
  process.stderr.write('ready\n');
  let inflight: Promise<unknown>[] = [];
  let n = 0;
  for await (const m of messages) {
    inflight.push(js.publish(values.out!, m.data, { msgID: `hop-${m.seq}` }));
    const end = decodeFrame(m.data).kind === 'end';
    if (inflight.length >= 256 || end) {
      await Promise.all(inflight);
      inflight = [];
      m.ack();
    } else if (++n % 64 === 0) m.ack();
    if (end) break;
  }
  await Promise.all(inflight);
  await nc.drain();
}

/** (b): word count as a user would write it with nats.js and pg. */
async function handWritten(): Promise<void> {
  const nc = await connect({ servers: NATS_URL });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  const schema = values.schema!;
  await db.query(`CREATE TABLE IF NOT EXISTS ${schema}.word_totals (word text PRIMARY KEY, n bigint NOT NULL)`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${schema}.progress (id int PRIMARY KEY, seq bigint NOT NULL)`);
  const consumer = await pull(jsm, js, values.in!);
  const totals = new Map<string, number>();
  process.stderr.write('ready\n');
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 64, expires: 1_000 });
    const words: OutRecord[] = [];
    const changed = new Set<string>();
    let last;
    let ended = false;
    for await (const m of batch) {
      last = m;
      const frame = decodeFrame(m.data);
      if (frame.kind === 'end') {
        ended = true;
        continue;
      }
      if (frame.kind !== 'data') continue;
      for (const r of frame.records) {
        const sentence = JSON.parse(new TextDecoder().decode(r.value)) as string;
        for (const w of sentence.toLowerCase().split(/[^a-z0-9]+/)) {
          if (w.length < 3 || STOP_WORDS.test(w)) continue;
          totals.set(w, (totals.get(w) ?? 0) + 1);
          changed.add(w);
          words.push({ key: JSON.stringify(w), value: JSON.stringify(w), timestamp: r.timestamp });
        }
      }
    }
    if (!last) continue;
    const frames = encodeRecordFrames(words, 900_000);
    await Promise.all(frames.map((f, i) => js.publish(values.out!, f, { msgID: `hw-${last.seq}-${i}` })));
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      const ws = [...changed];
      await client.query(
        `INSERT INTO ${schema}.word_totals (word, n) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT (word) DO UPDATE SET n = excluded.n`,
        [ws, ws.map((w) => totals.get(w)!)],
      );
      await client.query(`INSERT INTO ${schema}.progress (id, seq) VALUES (0, $1) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq`, [last.seq]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    last.ack();
    if (ended) {
      await js.publish(values.out!, encodeFrame({ kind: 'end' }), { msgID: 'hw-end' });
      break;
    }
  }
  await db.end();
  await nc.drain();
}

// ------------------------------------------------------------------------------------------
// The harness.

const selfArgs = (role: string, extra: string[]) => [...process.execArgv, SELF, '--role', role, ...extra];

function prng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const VOCABULARY = 'river harbor bridge lantern fog tide ship falls carries sails under along shines opens crosses the and small late'.split(' ');
function sentence(r: () => number): string {
  const len = 5 + Math.floor(r() * 5);
  return `${Array.from({ length: len }, () => VOCABULARY[Math.floor(r() * VOCABULARY.length)]).join(' ')}.`;
}

/** Frames of 100 records, as every producer here sends them. */
function frames(values: string[], timestamp: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < values.length; i += 100) {
    out.push(...encodeRecordFrames(values.slice(i, i + 100).map((v) => ({ key: null, value: JSON.stringify(v), timestamp: timestamp() })), 900_000));
  }
  return out;
}

async function publishAll(js: JetStreamClient, subject: string, data: Uint8Array[]): Promise<void> {
  for (let i = 0; i < data.length; i += 256) await Promise.all(data.slice(i, i + 256).map((d) => js.publish(subject, d)));
}

/** Reads frames from `subject` until an end frame (or `expected` data frames), collecting latencies. */
async function drainLatencies(jsm: JetStreamManager, js: JetStreamClient, subject: string, untilEnds: number): Promise<number[]> {
  const consumer = await pull(jsm, js, subject);
  const messages = await consumer.consume({ max_messages: 512 });
  const latencies: number[] = [];
  let ends = 0;
  for await (const m of messages) {
    const now = Date.now();
    const f = decodeFrame(m.data);
    if (f.kind === 'end') {
      if (++ends >= untilEnds) {
        m.ack();
        break;
      }
    } else if (f.kind === 'data') for (const r of f.records) latencies.push(now - r.timestamp);
    m.ack();
  }
  return latencies.sort((a, b) => a - b);
}

/** Sends `rate` sentences a second for `seconds`, event time = send time, then the end. */
async function produceAtRate(send: (data: Uint8Array[]) => Promise<void>, rate: number, seconds: number, end: () => Promise<void>): Promise<void> {
  const r = prng(11);
  const tickMs = 20;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const t0 = Date.now();
  for (let tick = 0; Date.now() - t0 < seconds * 1000; tick++) {
    const due = t0 + tick * tickMs;
    if (due > Date.now()) await sleep(due - Date.now());
    await send(frames(Array.from({ length: perTick }, () => sentence(r)), Date.now));
  }
  await end();
}

interface Row {
  name: string;
  records: number;
  seconds: number;
  p50?: number;
  p99?: number;
  rssMb: string;
  /** CPU seconds of the throughput run's processes, from ready to exit (polled: about). */
  cpu: string;
}

async function main(): Promise<void> {
  const records = Number(values.records);
  const sentences = Number(values.sentences);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const partitions = Number(values.partitions);
  const id = `b${process.pid}`;
  const nc = await connect({ servers: NATS_URL });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  const streams: string[] = [];
  const schemas: string[] = [];
  const buses: NatsBus[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ssdk-bench-'));
  const rows: Row[] = [];
  const rawStream = async (name: string) => {
    const stream = `${id}_${name}`;
    await jsm.streams.add({ name: stream, subjects: [`${id}.${name}`], duplicate_window: nanos(120_000) });
    streams.push(stream);
    return `${id}.${name}`;
  };
  const r = prng(7);
  const lines = Array.from({ length: records }, (_, i) => `line ${i} ${sentence(r)}`);
  const texts = Array.from({ length: sentences }, () => sentence(r));
  console.log(`bench:distributed — ${records} records one hop, ${sentences} sentences word count, latency at ${rate}/s for ${seconds} s, ${partitions} partition(s), ssdk functions ${values.isolation === 'native' ? 'trusted (native)' : `isolation ${values.isolation}`}; NATS ${NATS_URL}, PostgreSQL ${DATABASE_URL}`);

  try {
    // (a) raw publish, then a raw hop.
    if (only.has('a')) {
      const inSubject = await rawStream('raw_in');
      const outSubject = await rawStream('raw_out');
      const data = frames(lines, () => 0);
      let t = performance.now();
      await publishAll(js, inSubject, data);
      await js.publish(inSubject, encodeFrame({ kind: 'end' }));
      const publishRate = records / ((performance.now() - t) / 1000);
      console.log(`  raw JetStream publish (100 records/message, pipelined): ${fmt(publishRate)} records/s`);
      const hop = startProc('raw-hop', selfArgs('raw-hop', ['--in', inSubject, '--out', outSubject]), 'ready');
      await hop.running;
      t = performance.now();
      await hop.exited;
      const cpu = hop.cpuSinceReady();
      const s = (performance.now() - t) / 1000;
      // Latency of the same hop at a moderate rate.
      const lin = await rawStream('raw_lin');
      const lout = await rawStream('raw_lout');
      const hop2 = startProc('raw-hop', selfArgs('raw-hop', ['--in', lin, '--out', lout]), 'ready');
      await hop2.running;
      const lat = drainLatencies(jsm, js, lout, 1);
      await produceAtRate((d) => publishAll(js, lin, d), rate * 8, seconds, async () => void (await js.publish(lin, encodeFrame({ kind: 'end' }))));
      const l = await lat;
      await hop2.exited;
      rows.push({ name: '(a) raw JetStream hop (nats.js)', records, seconds: s, p50: percentile(l, 0.5), p99: percentile(l, 0.99), rssMb: mb(Math.max(hop.peakRssKb(), hop2.peakRssKb())), cpu: cpu.toFixed(1) });
    }

    // (c1) ssdk, one map hop.
    if (only.has('c1')) {
      const file = join(dir, 'map.yaml');
      writeFileSync(file, MAP_DATAFLOW);
      const prefix = `${id}m`;
      const schema = `ssdk_bench_${id}_map`;
      schemas.push(schema);
      const bus = await createNatsBus({ servers: NATS_URL, subjectPrefix: prefix });
      buses.push(bus);
      for (const t of ['lines-in', 'lines-out']) await bus.ensureTopic({ name: t, partitions });
      const data = frames(lines, () => 0);
      for (let p = 0; p < partitions; p++) {
        const mine = data.filter((_, i) => i % partitions === p);
        for (let i = 0; i < mine.length; i += 512) await bus.publish('lines-in', p, mine.slice(i, i + 512).map((d) => ({ data: d })));
        await bus.publish('lines-in', p, [{ data: encodeFrame({ kind: 'end' }) }]);
      }
      const op = startSsdk(file, 'upper.to-upper', prefix, schema, partitions);
      await op.running;
      const t = performance.now();
      await op.exited;
      const cpu = op.cpuSinceReady();
      const s = (performance.now() - t) / 1000;
      // Latency: a fresh deployment of the same dataflow.
      const prefix2 = `${id}n`;
      const schema2 = `ssdk_bench_${id}_map2`;
      schemas.push(schema2);
      const bus2 = await createNatsBus({ servers: NATS_URL, subjectPrefix: prefix2 });
      buses.push(bus2);
      for (const t2 of ['lines-in', 'lines-out']) await bus2.ensureTopic({ name: t2, partitions });
      const op2 = startSsdk(file, 'upper.to-upper', prefix2, schema2, partitions);
      await op2.running;
      const lat = drainTopic(bus2, 'lines-out', partitions);
      let rr = 0;
      await produceAtRate(
        async (d) => void (await bus2.publish('lines-in', rr++ % partitions, d.map((x) => ({ data: x })))),
        rate * 8,
        seconds,
        async () => {
          for (let p = 0; p < partitions; p++) await bus2.publish('lines-in', p, [{ data: encodeFrame({ kind: 'end' }) }]);
        },
      );
      const l = await lat;
      await op2.exited;
      rows.push({ name: '(c1) ssdk one map hop (1 process)', records, seconds: s, p50: percentile(l, 0.5), p99: percentile(l, 0.99), rssMb: mb(Math.max(op.peakRssKb(), op2.peakRssKb())), cpu: cpu.toFixed(1) });
    }

    // (b) hand-written word count.
    if (only.has('b')) {
      const schema = `bench_${id}_hw`;
      await db.query(`CREATE SCHEMA ${schema}`);
      schemas.push(schema);
      const inSubject = await rawStream('hw_in');
      const outSubject = await rawStream('hw_out');
      await publishAll(js, inSubject, frames(texts, () => 0));
      await js.publish(inSubject, encodeFrame({ kind: 'end' }));
      const hw = startProc('hand-written', selfArgs('hand-written', ['--in', inSubject, '--out', outSubject, '--schema', schema]), 'ready');
      await hw.running;
      const t = performance.now();
      await hw.exited;
      const cpu = hw.cpuSinceReady();
      const s = (performance.now() - t) / 1000;
      const schemaL = `bench_${id}_hwl`;
      await db.query(`CREATE SCHEMA ${schemaL}`);
      schemas.push(schemaL);
      const lin = await rawStream('hw_lin');
      const lout = await rawStream('hw_lout');
      const hw2 = startProc('hand-written', selfArgs('hand-written', ['--in', lin, '--out', lout, '--schema', schemaL]), 'ready');
      await hw2.running;
      const lat = drainLatencies(jsm, js, lout, 1);
      await produceAtRate((d) => publishAll(js, lin, d), rate, seconds, async () => void (await js.publish(lin, encodeFrame({ kind: 'end' }))));
      const l = await lat;
      await hw2.exited;
      rows.push({ name: '(b) hand-written word count (nats.js + pg, 1 process)', records: sentences, seconds: s, p50: percentile(l, 0.5), p99: percentile(l, 0.99), rssMb: mb(Math.max(hw.peakRssKb(), hw2.peakRssKb())), cpu: cpu.toFixed(1) });
    }

    // (c2) ssdk word count (the count-words service, a process per operator unit), then (c3)
    // the same planned with --fuse (stateless steps joined by forward edges share a unit).
    for (const fuse of [false, true]) {
      if (!only.has(fuse ? 'c3' : 'c2')) continue;
      const units = (await planOrThrow(WORD_COUNT, { partitions, fuse })).plan.operators.filter((op) => op.service === 'count-words').map((op) => op.id);
      const env: Record<string, string> = fuse ? { SSDK_FUSE: '1' } : {};
      const run = async (suffix: string, before: (bus: NatsBus) => Promise<void>, during?: (bus: NatsBus) => Promise<number[]>) => {
        const prefix = `${id}${suffix}`;
        const schema = `ssdk_bench_${id}_${suffix}`;
        schemas.push(schema);
        const bus = await createNatsBus({ servers: NATS_URL, subjectPrefix: prefix });
        buses.push(bus);
        await before(bus);
        if (values.staged && !during) {
          // One unit at a time, each over its whole input: per unit CPU seconds that do not
          // depend on how the box shares its cores between the units.
          let s = 0;
          const cpus: number[] = [];
          for (const u of units) {
            const op = startSsdk(WORD_COUNT, u, prefix, schema, partitions, env);
            await op.running;
            const t = performance.now();
            await op.exited;
            const unitS = (performance.now() - t) / 1000;
            cpus.push(op.cpuSinceReady());
            s += unitS;
            console.log(`  staged ${u}: ${unitS.toFixed(2)} s, ${cpus.at(-1)!.toFixed(2)} CPU s, peak RSS ${mb(op.peakRssKb())}`);
          }
          return { s, l: [], rss: 'staged', cpu: `${cpus.reduce((a, b) => a + b, 0).toFixed(1)} (${cpus.map((c) => c.toFixed(1)).join(' + ')}) staged` };
        }
        const ops = units.map((u) => startSsdk(WORD_COUNT, u, prefix, schema, partitions, env));
        await Promise.all(ops.map((o) => o.running));
        const t = performance.now();
        const l = during ? await during(bus) : [];
        await Promise.all(ops.map((o) => o.exited));
        // Each process from its own ready line: one that started first was at work before the last was ready.
        const cpus = ops.map((o) => o.cpuSinceReady());
        const cpu = ops.length > 1 ? `${cpus.reduce((a, b) => a + b, 0).toFixed(1)} (${cpus.map((c) => c.toFixed(1)).join(' + ')})` : cpus[0]!.toFixed(1);
        return { s: (performance.now() - t) / 1000, l, rss: ops.map((o) => `${o.name.split('.')[1]} ${mb(o.peakRssKb())}`).join(', '), cpu };
      };
      const produceSentences = async (bus: NatsBus) => {
        await bus.ensureTopic({ name: 'sentences', partitions });
        const data = frames(texts, () => 0);
        for (let p = 0; p < partitions; p++) {
          const mine = data.filter((_, i) => i % partitions === p);
          for (let i = 0; i < mine.length; i += 512) await bus.publish('sentences', p, mine.slice(i, i + 512).map((d) => ({ data: d })));
          await bus.publish('sentences', p, [{ data: encodeFrame({ kind: 'end' }) }]);
        }
      };
      const tp = await run(fuse ? 'fw' : 'w', produceSentences);
      const lt = await run(
        fuse ? 'fx' : 'x',
        async () => {},
        async (bus) => {
          const lat = drainTopic(bus, 'words', partitions);
          let rr = 0;
          await produceAtRate(
            async (d) => void (await bus.publish('sentences', rr++ % partitions, d.map((x) => ({ data: x })))),
            rate,
            seconds,
            async () => {
              for (let p = 0; p < partitions; p++) await bus.publish('sentences', p, [{ data: encodeFrame({ kind: 'end' }) }]);
            },
          );
          return lat;
        },
      );
      rows.push({ name: `${fuse ? '(c3)' : '(c2)'} ssdk word count${fuse ? ', fused' : ''} (${units.length} process${units.length > 1 ? 'es' : ''})`, records: sentences, seconds: tp.s, p50: percentile(lt.l, 0.5), p99: percentile(lt.l, 0.99), rssMb: tp.rss, cpu: tp.cpu });
    }
  } finally {
    for (const b of buses) await b.destroy().catch(() => {});
    for (const s of streams) await jsm.streams.delete(s).catch(() => {});
    for (const s of schemas) await db.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => {});
    await db.end();
    await nc.drain();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log('');
  console.log('| run | input records | records/s | latency p50 / p99 (ms) | peak RSS | CPU s |');
  console.log('|---|---:|---:|---:|---|---:|');
  for (const row of rows) {
    console.log(`| ${row.name} | ${row.records} | ${fmt(row.records / row.seconds)} | ${row.p50 ?? '–'} / ${row.p99 ?? '–'} | ${row.rssMb} | ${row.cpu} |`);
  }
  const rate_ = (name: string) => {
    const row = rows.find((x) => x.name.startsWith(name));
    return row ? row.records / row.seconds : undefined;
  };
  const ratio = (text: string, a: string, b: string) => {
    const x = rate_(a);
    const y = rate_(b);
    if (x !== undefined && y !== undefined) console.log(`${a}/${b} = ${(x / y).toFixed(2)}   ${text}`);
  };
  console.log('');
  ratio('(target ≥ 0.5)', '(c1)', '(a)');
  ratio('(target ≥ 1; one process per operator)', '(c2)', '(b)');
  ratio('(fused plan)', '(c3)', '(b)');
  console.log('latency: (a) and (c1) at 8× the sentence rate in records/s; (b) and (c2) sentences at the given rate, measured per output word');
}

function startSsdk(file: string, unit: string, prefix: string, schema: string, partitions: number, env: Record<string, string> = {}): Proc {
  return startOperator(file, unit, prefix, schema, partitions, { SSDK_ISOLATION: values.isolation!, ...env });
}

const MAP_DATAFLOW = `apiVersion: 0.5.0
meta:
  name: bench-map
  version: 0.1.0
  namespace: bench
config:
  converter: json
types:
  line:
    type: string
topics:
  lines-in:
    schema:
      value:
        type: line
  lines-out:
    schema:
      value:
        type: line
services:
  upper:
    sources:
      - type: topic
        id: lines-in
    transforms:
      - operator: map
        run: |
          function toUpper(line: string): string {
            return line.toUpperCase();
          }
    sinks:
      - type: topic
        id: lines-out
`;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

if (values.role === 'raw-hop') await rawHop();
else if (values.role === 'hand-written') await handWritten();
else await main();
