/**
 * What observability costs: the word-count example's `count-words` service (split → filter →
 * key → keyed running total in PostgreSQL), one `ssdk operator` process per unit over NATS
 * JetStream, run with telemetry off, with tracing on (OTLP/HTTP to a receiver in this process,
 * which counts the spans), and with tracing and the Prometheus endpoints on (scraped every
 * second). The modes alternate, several rounds each, so the ratios hold on a busy machine.
 * Then the same comparison in one process (the embedded runtime, in-memory bus and state),
 * where the host loop's own cost shows most.
 *
 *   npx tsx tools/bench/telemetry.ts [--sentences N] [--rounds R] [--partitions P]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createNatsBus } from '@ssdk/bus';
import { encodeFrame, encodeRecordFrames } from '@ssdk/records';
import { planOrThrow } from '@ssdk/plan';
import { memoryCheckpointStore, RuntimeTelemetry, sourceFunctions, startEmbedded } from '@ssdk/runtime';
import { testPostgres } from '@ssdk/testing';
import { benchArgs } from './args.ts';

const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORD_COUNT = `${ROOT}examples/word-count/services.yaml`;
// count-words' units as the planner lays them out (one `ssdk operator` process each).
const UNITS = (await planOrThrow(WORD_COUNT)).plan.operators.filter((o) => o.service === 'count-words').map((o) => o.id);
const { values } = benchArgs({ options: { sentences: { type: 'string', default: '40000' }, rounds: { type: 'string', default: '3' }, partitions: { type: 'string', default: '2' }, 'embedded-only': { type: 'boolean', default: false } } });
const SENTENCES = Number(values.sentences);
const ROUNDS = Number(values.rounds);
const PARTITIONS = Number(values.partitions);

type Mode = 'off' | 'tracing' | 'tracing+metrics';
const MODES: Mode[] = ['off', 'tracing', 'tracing+metrics'];

const VOCABULARY = 'river harbor bridge lantern fog tide ship falls carries sails under along shines opens crosses the and small late'.split(' ');
function sentences(n: number): string[] {
  let s = 7;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, () => Array.from({ length: 5 + Math.floor(r() * 5) }, () => VOCABULARY[Math.floor(r() * VOCABULARY.length)]).join(' ') + '.');
}

/** An OTLP/HTTP receiver that counts spans (what Jaeger would store). */
async function receiver() {
  let spans = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      spans += (body.match(/"spanId"/g) ?? []).length;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans: () => spans, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function distributedRound(mode: Mode, n: number, texts: string[], otlp: string): Promise<{ seconds: number; cpu: number }> {
  const pg = await testPostgres({ prefix: 'ssdk_bench_tel' });
  const prefix = `bt${process.pid}${mode.replace(/\W/g, '')}${n}`;
  const bus = await createNatsBus({ servers: NATS_URL, subjectPrefix: prefix });
  try {
    await bus.ensureTopic({ name: 'sentences', partitions: PARTITIONS });
    const frames: Uint8Array[] = [];
    for (let i = 0; i < texts.length; i += 100) frames.push(...encodeRecordFrames(texts.slice(i, i + 100).map((v) => ({ key: null, value: JSON.stringify(v), timestamp: 0 })), 900_000));
    for (let p = 0; p < PARTITIONS; p++) {
      const mine = frames.filter((_, i) => i % PARTITIONS === p);
      for (let i = 0; i < mine.length; i += 512) await bus.publish('sentences', p, mine.slice(i, i + 512).map((d) => ({ data: d })));
      await bus.publish('sentences', p, [{ data: encodeFrame({ kind: 'end' }) }]);
    }
    const scrapes: string[] = [];
    const procs = UNITS.map((unit, i) => {
      const env: Record<string, string> = { ...(process.env as Record<string, string>), OTEL_SDK_DISABLED: 'false' };
      delete env['OTEL_EXPORTER_OTLP_ENDPOINT'];
      if (mode !== 'off') env['OTEL_EXPORTER_OTLP_ENDPOINT'] = otlp;
      if (mode === 'tracing+metrics') {
        const port = 19_400 + (process.pid % 300) * 4 + i;
        env['SSDK_METRICS_PORT'] = String(port);
        env['SSDK_METRICS_HOST'] = '127.0.0.1';
        scrapes.push(`http://127.0.0.1:${port}/metrics`);
      }
      const child = spawn(process.execPath, [`${ROOT}bin/ssdk.js`, 'operator', WORD_COUNT, '--operator', unit, '--nats', NATS_URL, '--postgres', pg.connectionString, '--schema', pg.schema, '--subject-prefix', prefix, '--partitions', String(PARTITIONS)], { stdio: ['ignore', 'ignore', 'pipe'], env });
      let seen = '';
      const running = new Promise<void>((resolve) => child.stderr.on('data', (b: Buffer) => ((seen += b.toString()), seen.includes(': running') && resolve())));
      // CPU seconds (user + system) as the process last reported them: a busy machine stretches
      // wall time, much less the work a process does.
      let cpu = 0;
      // Start-up (loading and compiling the sources) is not the work measured: CPU counts from `running`.
      const poll = setInterval(() => {
        try {
          const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          cpu = (Number(f[11]) + Number(f[12])) / 100;
        } catch {
          // exited
        }
      }, 50);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (clearInterval(poll), resolve(code))));
      let cpuAtStart = 0;
      void running.then(() => (cpuAtStart = cpu));
      return { running, exited, stderr: () => seen, cpu: () => cpu - cpuAtStart };
    });
    await Promise.all(procs.map((p) => p.running));
    const t0 = performance.now();
    const scraper = setInterval(() => void Promise.all(scrapes.map((u) => fetch(u).then((r) => r.text()).catch(() => ''))), 1_000);
    const codes = await Promise.all(procs.map((p) => p.exited));
    clearInterval(scraper);
    const seconds = (performance.now() - t0) / 1000;
    if (codes.some((c) => c !== 0)) throw new Error(`an operator failed: ${procs.map((p) => p.stderr()).join('\n')}`);
    return { seconds, cpu: procs.reduce((n, p) => n + p.cpu(), 0) };
  } finally {
    await bus.destroy().catch(() => {});
    await bus.close();
    await pg.cleanup();
  }
}

async function embeddedRound(mode: Mode, texts: string[], otlp: string): Promise<{ seconds: number; cpu: number }> {
  const { plan, dataflow } = await planOrThrow(WORD_COUNT, { partitions: 1 });
  const telemetry = mode === 'off' ? undefined : await RuntimeTelemetry.open({ serviceName: 'bench', collect: mode === 'tracing+metrics', env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } });
  const df = await startEmbedded({ plan, checkpoints: memoryCheckpointStore(), isolation: 'native', functions: { native: sourceFunctions(WORD_COUNT, dataflow) }, ...(telemetry ? { observer: telemetry.observer() } : {}) });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  // Frames of 100 records, like the distributed producer's.
  for (let i = 0; i < texts.length; i += 100) await df.produce('sentences', texts.slice(i, i + 100).map((v) => ({ value: v, timestamp: 0 })));
  await df.endInput();
  await df.ended();
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  await df.stop();
  await telemetry?.close();
  return { seconds: s, cpu: (c.user + c.system) / 1e6 };
}

/** Medians per mode, and their ratio to `off`: throughput (wall clock) and CPU seconds per 1000 sentences' worth of work. */
function report(what: string, rows: Map<Mode, Array<{ rate: number; cpu: number }>>): void {
  const rate = (m: Mode) => median(rows.get(m)!.map((x) => x.rate));
  const cpu = (m: Mode) => median(rows.get(m)!.map((x) => x.cpu));
  const best = (m: Mode) => Math.max(...rows.get(m)!.map((x) => x.rate));
  const leastCpu = (m: Mode) => Math.min(...rows.get(m)!.map((x) => x.cpu));
  console.log(`${what}: ${rows.get('off')!.length} rounds — median throughput (ratio to off), median CPU seconds (ratio), best throughput (ratio), least CPU (ratio)`);
  for (const m of MODES) {
    console.log(
      `  ${m.padEnd(16)} ${fmt(rate(m)).padStart(8)}/s (${(rate(m) / rate('off')).toFixed(3)})  ${cpu(m).toFixed(2).padStart(6)} CPU-s (${(cpu(m) / cpu('off')).toFixed(3)})  best ${fmt(best(m)).padStart(8)}/s (${(best(m) / best('off')).toFixed(3)})  least ${leastCpu(m).toFixed(2)} CPU-s (${(leastCpu(m) / leastCpu('off')).toFixed(3)})`,
    );
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const texts = sentences(SENTENCES);
  const otlp = await receiver();
  console.log(`bench:telemetry — ${SENTENCES} sentences through count-words (4 operator processes, ${PARTITIONS} partitions, NATS + PostgreSQL), ${ROUNDS} rounds per mode, alternating`);
  const dist = new Map<Mode, Array<{ rate: number; cpu: number }>>(MODES.map((m) => [m, []]));
  let round = 0;
  for (let r = 0; r < (values['embedded-only'] ? 0 : ROUNDS); r++) {
    for (const mode of MODES) {
      const spansBefore = otlp.spans();
      const { seconds, cpu } = await distributedRound(mode, round++, texts, otlp.url);
      dist.get(mode)!.push({ rate: SENTENCES / seconds, cpu });
      console.log(`  round ${r + 1} ${mode.padEnd(16)} ${fmt(SENTENCES / seconds)} sentences/s (${seconds.toFixed(2)} s wall, ${cpu.toFixed(2)} CPU-s in the operators, ${otlp.spans() - spansBefore} spans received)`);
    }
  }
  if (!values['embedded-only']) report('distributed', dist);

  const embedded = new Map<Mode, Array<{ rate: number; cpu: number }>>(MODES.map((m) => [m, []]));
  const many = sentences(SENTENCES * 2);
  await embeddedRound('off', many.slice(0, 5_000), otlp.url); // warm-up
  for (let r = 0; r < ROUNDS + 2; r++) {
    for (const mode of MODES) {
      const { seconds, cpu } = await embeddedRound(mode, many, otlp.url);
      embedded.get(mode)!.push({ rate: many.length / seconds, cpu });
    }
  }
  report(`embedded (one process, ${many.length} sentences)`, embedded);
  await otlp.close();
}

await main();
