/**
 * What the distributed benchmarks share (bench:distributed, bench:nexmark): child processes
 * with their peak RSS and CPU seconds read from /proc, `ssdk operator` processes for one unit
 * each, and reading a topic's frames to its end with each record's latency.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NatsBus } from '@ssdk/bus';
import { decodeFrame } from '@ssdk/records';

export const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
export const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  running: Promise<void>;
  peakRssKb: () => number;
  /**
   * CPU time (user + system; on a busy box, steadier than wall time) the process used since it
   * said it was ready, its start-up left out, s. Read from /proc the moment the ready text
   * arrives, not at the last poll (up to a poll earlier: start-up CPU counted in), and from each
   * process's own ready line, not from when the last of several was ready (a unit at work while
   * another still started had that work left out: q7's first unit, 100k events, 0.8 CPU s
   * counted of 1.5).
   */
  cpuSinceReady: () => number;
}

export function startProc(name: string, args: string[], readyText: string | undefined, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'], env: { ...process.env, ...env } });
  let peak = 0;
  let cpu = 0;
  let cpuAtReady: number | undefined;
  const readCpu = () => {
    try {
      // utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (100 a second).
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu = (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // exited: the last reading stands
    }
    return cpu;
  };
  // Every 10 ms: the last reading before the exit is what counts, so what a process does in its
  // last poll interval is left out (≤ 10 ms of CPU).
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
    readCpu();
  }, 10);
  let seen = '';
  const running = new Promise<void>((resolve) => {
    if (!readyText) {
      cpuAtReady = readCpu();
      resolve();
    }
    child.stderr!.on('data', (b: Buffer) => {
      seen += b.toString();
      if (readyText && cpuAtReady === undefined && seen.includes(readyText)) {
        cpuAtReady = readCpu();
        resolve();
      }
      if (/error|Error/.test(b.toString()) && !/retry/.test(b.toString())) process.stderr.write(`[${name}] ${b.toString()}`);
    });
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      clearInterval(poll);
      resolve(code);
    }),
  );
  return { name, child, exited, running, peakRssKb: () => peak, cpuSinceReady: () => cpu - (cpuAtReady ?? cpu) };
}

// Extra node flags for the ssdk processes, e.g. `BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p'`
// to profile them (node refuses --cpu-prof in NODE_OPTIONS).
const childNodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);

/** `ssdk operator FILE --operator UNIT` on NATS and PostgreSQL; running once it says so. `env`: SSDK_ISOLATION, SSDK_FUSE. */
export function startOperator(file: string, unit: string, prefix: string, schema: string, partitions: number, env: Record<string, string>): Proc {
  return startProc(
    unit,
    [...childNodeArgs, `${ROOT}bin/ssdk.js`, 'operator', file, '--operator', unit, '--nats', NATS_URL, '--postgres', DATABASE_URL, '--schema', schema, '--subject-prefix', prefix, '--partitions', String(partitions)],
    ': running',
    env,
  );
}

/**
 * Reads an ssdk topic's partitions until each delivered its end: every record's latency (now −
 * its timestamp), sorted. Records that arrive after `until()` are read but not counted.
 */
export async function drainTopic(bus: NatsBus, topic: string, partitions: number, until: () => number = () => Infinity): Promise<number[]> {
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: partitions }, async (_, p) => {
      const reader = bus.read(topic, p);
      for (;;) {
        const messages = await reader.fetch(256, 1_000);
        const now = Date.now();
        let ended = false;
        for (const m of messages) {
          const f = decodeFrame(m.data);
          if (f.kind === 'end') ended = true;
          else if (f.kind === 'data' && now <= until()) for (const r of f.records) latencies.push(now - r.timestamp);
        }
        if (messages.length) await reader.ack(messages.at(-1)!.seq);
        if (ended) break;
      }
      await reader.close();
    }),
  );
  return latencies.sort((a, b) => a - b);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The units' ids, each after every unit that writes a topic it reads. */
export function upstreamFirst(operators: ReadonlyArray<{ id: string; inputs: ReadonlyArray<{ topic: string }>; outputs: readonly string[] }>): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < operators.length) {
    const ready = operators.filter((u) => !done.has(u.id) && u.inputs.every((i) => operators.every((w) => w === u || done.has(w.id) || !w.outputs.includes(i.topic))));
    if (ready.length === 0) throw new Error(`the units read each other's topics in a cycle: ${operators.filter((u) => !done.has(u.id)).map((u) => u.id).join(', ')}`);
    for (const u of ready) {
      order.push(u.id);
      done.add(u.id);
    }
  }
  return order;
}
