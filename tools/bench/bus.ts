/**
 * Raw JetStream throughput through the bus: the (a) ceiling of the distributed benchmark. For 1
 * record per message and for 100 records per message (frames), it measures
 *   - publish: pipelined `publish()` calls with deterministic msgIds (records/s, msgs/s, and the
 *     latency of each call and of single-message publishes, p50/p99);
 *   - consume: a partition reader that fetches, decodes every frame and acks (records/s, msgs/s);
 *   - pipeline: both at once, until the reader has every record;
 * and the process's peak RSS. Streams are made under a fresh prefix and deleted at the end.
 *
 *   npm run bench:bus -- [--url nats://127.0.0.1:4222] [--storage file|memory]
 *     [--records1 100000] [--records100 1000000] [--value-bytes 100] [--json]
 */
import { decodeFrame, encodeRecords } from '@ssdk/records';
import { randomBytes } from 'node:crypto';
import { createNatsBus, type NatsBus, type PublishMessage } from '@ssdk/bus';
import { benchArgs } from './args.ts';

const { values: args } = benchArgs({
  options: {
    url: { type: 'string' },
    storage: { type: 'string', default: 'file' },
    records1: { type: 'string', default: '100000' },
    records100: { type: 'string', default: '1000000' },
    'value-bytes': { type: 'string', default: '100' },
    'call-messages': { type: 'string', default: '100' },
    json: { type: 'boolean', default: false },
  },
});

interface Result {
  recordsPerMessage: number;
  records: number;
  messages: number;
  messageBytes: number;
  publish: { recordsPerSec: number; msgsPerSec: number; cpuSeconds: number; callP50Ms: number; callP99Ms: number; singleP50Ms: number; singleP99Ms: number };
  consume: { recordsPerSec: number; msgsPerSec: number; cpuSeconds: number };
  pipeline: { recordsPerSec: number; msgsPerSec: number; cpuSeconds: number };
}

let peakRss = process.memoryUsage.rss();
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);

const valueBytes = Number(args['value-bytes']);
const callMessages = Number(args['call-messages']);
const storage = args.storage === 'memory' ? 'memory' : 'file';

function frames(recordsPerMessage: number, records: number, from = 0): Uint8Array[] {
  const filler = 'x'.repeat(Math.max(0, valueBytes - 40));
  const out: Uint8Array[] = [];
  for (let r = 0; r < records; r += recordsPerMessage) {
    const batch = [];
    for (let i = r; i < Math.min(records, r + recordsPerMessage); i++) {
      batch.push({ key: `key-${(from + i) % 1000}`, value: `{"n":${from + i},"text":"${filler}"}`, timestamp: 1_700_000_000_000 + from + i });
    }
    out.push(encodeRecords(batch));
  }
  return out;
}

/** This process's CPU (user + system) since `from`; the NATS server's is not counted. */
function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function publishAll(bus: NatsBus, topic: string, data: Uint8Array[], tag: string): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < data.length; i += callMessages) {
    const messages: PublishMessage[] = data.slice(i, i + callMessages).map((d, j) => ({ data: d, msgId: `${tag}:${i + j}` }));
    const t0 = performance.now();
    await bus.publish(topic, 0, messages);
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

async function consumeAll(bus: NatsBus, topic: string, messages: number): Promise<number> {
  const reader = bus.read(topic, 0);
  let got = 0;
  let records = 0;
  while (got < messages) {
    const batch = await reader.fetch(500, 5_000);
    if (batch.length === 0) throw new Error(`reader stalled at ${got} of ${messages} messages`);
    for (const m of batch) {
      const f = decodeFrame(m.data);
      if (f.kind === 'data') records += f.records.length;
    }
    got += batch.length;
    await reader.ack(batch.at(-1)!.seq);
  }
  await reader.close();
  return records;
}

async function run(bus: NatsBus, recordsPerMessage: number, records: number): Promise<Result> {
  const data = frames(recordsPerMessage, records);
  const messageBytes = Math.round(data.reduce((n, d) => n + d.byteLength, 0) / data.length);

  // Publish, then consume what was published.
  const topic = `rpm${recordsPerMessage}`;
  await bus.ensureTopic({ name: topic, partitions: 1 });
  let t0 = performance.now();
  let cpu = process.cpuUsage();
  const calls = await publishAll(bus, topic, data, 'p');
  const publishSec = (performance.now() - t0) / 1000;
  const publishCpu = cpuSecondsSince(cpu);
  t0 = performance.now();
  cpu = process.cpuUsage();
  const consumed = await consumeAll(bus, topic, data.length);
  const consumeSec = (performance.now() - t0) / 1000;
  const consumeCpu = cpuSecondsSince(cpu);
  if (consumed !== records) throw new Error(`consumed ${consumed} records, expected ${records}`);

  // Single-message publishes, one at a time: the round trip a lone publish pays.
  const single: number[] = [];
  for (let i = 0; i < Math.min(2_000, data.length); i++) {
    const s = performance.now();
    await bus.publish(topic, 0, [{ data: data[i]!, msgId: `s:${i}` }]);
    single.push(performance.now() - s);
  }

  // Publish and consume at once, on a fresh topic.
  const live = `rpm${recordsPerMessage}-live`;
  await bus.ensureTopic({ name: live, partitions: 1 });
  t0 = performance.now();
  cpu = process.cpuUsage();
  const [, pipelined] = await Promise.all([publishAll(bus, live, data, 'l'), consumeAll(bus, live, data.length)]);
  const pipelineSec = (performance.now() - t0) / 1000;
  const pipelineCpu = cpuSecondsSince(cpu);
  if (pipelined !== records) throw new Error(`pipeline consumed ${pipelined} records, expected ${records}`);
  await bus.deleteTopic(topic);
  await bus.deleteTopic(live);

  calls.sort((a, b) => a - b);
  single.sort((a, b) => a - b);
  return {
    recordsPerMessage,
    records,
    messages: data.length,
    messageBytes,
    publish: {
      recordsPerSec: records / publishSec,
      msgsPerSec: data.length / publishSec,
      cpuSeconds: publishCpu,
      callP50Ms: percentile(calls, 50),
      callP99Ms: percentile(calls, 99),
      singleP50Ms: percentile(single, 50),
      singleP99Ms: percentile(single, 99),
    },
    consume: { recordsPerSec: records / consumeSec, msgsPerSec: data.length / consumeSec, cpuSeconds: consumeCpu },
    pipeline: { recordsPerSec: records / pipelineSec, msgsPerSec: data.length / pipelineSec, cpuSeconds: pipelineCpu },
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(2);

const bus = await createNatsBus({ ...(args.url ? { servers: args.url } : {}), subjectPrefix: `bench_${randomBytes(4).toString('hex')}`, storage, name: 'ssdk-bench' });
try {
  const results = [await run(bus, 1, Number(args.records1)), await run(bus, 100, Number(args.records100))];
  clearInterval(rssTimer);
  const peakRssMb = Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / (1024 * 1024);
  if (args.json) {
    console.log(JSON.stringify({ storage, valueBytes, callMessages, peakRssMb, results }));
  } else {
    console.log(`JetStream through @ssdk/bus (${storage} storage, ~${valueBytes}-byte values, ${callMessages} messages per publish call, 1 partition)`);
    for (const r of results) {
      console.log(`\n${r.recordsPerMessage} record(s)/message: ${fmt(r.records)} records in ${fmt(r.messages)} messages of ~${fmt(r.messageBytes)} B`);
      console.log(`  publish   ${fmt(r.publish.recordsPerSec).padStart(10)} records/s ${fmt(r.publish.msgsPerSec).padStart(9)} msgs/s ${r.publish.cpuSeconds.toFixed(2).padStart(6)} CPU s   call p50 ${ms(r.publish.callP50Ms)} ms p99 ${ms(r.publish.callP99Ms)} ms   single-message p50 ${ms(r.publish.singleP50Ms)} ms p99 ${ms(r.publish.singleP99Ms)} ms`);
      console.log(`  consume   ${fmt(r.consume.recordsPerSec).padStart(10)} records/s ${fmt(r.consume.msgsPerSec).padStart(9)} msgs/s ${r.consume.cpuSeconds.toFixed(2).padStart(6)} CPU s   (fetch, decode, ack)`);
      console.log(`  pipeline  ${fmt(r.pipeline.recordsPerSec).padStart(10)} records/s ${fmt(r.pipeline.msgsPerSec).padStart(9)} msgs/s ${r.pipeline.cpuSeconds.toFixed(2).padStart(6)} CPU s   (publish and consume at once)`);
    }
    console.log(`\nCPU s: this process (user + system); the NATS server's is not counted. Peak RSS ${peakRssMb.toFixed(0)} MB`);
  }
} finally {
  clearInterval(rssTimer);
  await bus.destroy();
}
