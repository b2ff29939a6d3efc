/**
 * What the embedded benchmarks share: running a services file in this process (native or
 * sandboxed functions) over records produced in batches, peak-RSS sampling, and the report line.
 * Numbers, not verdicts: every benchmark prints its baseline from the same run beside them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDataflow, planDataflow } from '@ssdk/plan';
import type { ChainExecutor } from '@ssdk/engine';
import { guardForBenchmarks, sourceFunctions, startEmbedded, type ProduceRecord, type SandboxFactory, type UnitMetricsSnapshot } from '@ssdk/runtime';
import { loadServicesFile } from '@ssdk/spec';
import { openWasmHost } from '@ssdk/wasm-host';

export const repo = new URL('../../', import.meta.url).pathname;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
sampler.unref();

/** Starts a peak-RSS measurement from now; the returned function reads the peak so far. */
export function measureRss(): () => number {
  peakRss = process.memoryUsage().rss;
  return () => Math.max(peakRss, process.memoryUsage().rss);
}

export const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`;

/** `--build-component FILE --state-dir DIR` (the child process): builds, prints the build folder. */
export async function buildComponent(file: string, stateDir: string): Promise<void> {
  const { dataflow } = await loadServicesFile(file);
  const { graph } = checkDataflow(dataflow);
  const { buildDataflow } = await import('@ssdk/wasm-host/build');
  const built = await buildDataflow({ dataflow, graph, stateDir, componentCache: process.env['SSDK_COMPONENT_CACHE'] ?? join(repo, 'node_modules/.cache/ssdk-components') });
  console.log(built.buildDir);
}

/**
 * Builds the dataflow's component (cached) in a child process — componentize-js takes ~700 MB,
 * which is the build's, not the runtime's — and serves every unit's chain from it. The child is
 * this same script run with `--build-component FILE --state-dir DIR`, which must call
 * `buildComponent`.
 */
async function openSandbox(file: string, workers: number | undefined): Promise<{ factory: SandboxFactory; close(): Promise<void>; workers(): number }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'ssdk-bench-'));
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, '--build-component', file, '--state-dir', stateDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const buildDir = out.trim().split('\n').at(-1)!;
  console.log(`  (component ready in ${Math.round(performance.now() - t0)} ms)`);
  const host = openWasmHost(workers === undefined ? {} : { workers });
  const build = await host.loadBuild(buildDir);
  const chains: ChainExecutor[] = [];
  return {
    workers: () => host.stats.workers,
    async factory(op, steps) {
      const component = await build.componentFor(steps.map((s) => s.id));
      const chain = component?.chain({ steps, timeoutMs: 10_000 });
      if (chain) chains.push(chain);
      return chain;
    },
    async close() {
      for (const c of chains) c.close?.();
      await host.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export interface EmbeddedRunOptions {
  partitions: number;
  fuse: boolean;
  /** Messages a unit takes per batch: the runtime's default when unset. */
  batchMessages?: number;
  /** Guest workers of a sandboxed run: one per CPU when unset. */
  workers?: number;
  /**
   * Native functions without `function-timeout` (no V8 watchdog per guarded call): the
   * baseline that prices the guard, in the same run. Benchmarks only.
   */
  unguarded?: boolean;
}

export interface EmbeddedRun {
  ms: number;
  /** The process's CPU time: the main thread's and the guest workers'. */
  cpuMs: number;
  metrics: UnitMetricsSnapshot[];
  rss: number;
  guestWorkers: number | undefined;
  /** Native runs: calls made under the time limit (each one a watchdog thread). */
  guardedCalls: number;
}

/** Runs `file` embedded over `input` (produced to `topic` in slices), to the end of input. */
export async function runEmbedded(file: string, topic: string, input: ProduceRecord[], mode: 'native' | 'sandbox', options: EmbeddedRunOptions): Promise<EmbeddedRun> {
  const { dataflow } = await loadServicesFile(file);
  const { plan, diagnostics } = planDataflow(dataflow, { partitions: options.partitions, fuse: options.fuse });
  if (!plan) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const sandbox = mode === 'sandbox' ? await openSandbox(file, options.workers) : undefined;
  const df = await startEmbedded({
    plan,
    isolation: mode,
    functions: { native: sourceFunctions(file, dataflow), ...(sandbox ? { sandbox: sandbox.factory } : {}) },
    ...(options.batchMessages ? { batchMessages: options.batchMessages } : {}),
  });
  const rss = measureRss();
  guardForBenchmarks.unguarded = options.unguarded === true;
  const calls0 = guardForBenchmarks.calls;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < input.length; i += 50_000) await df.produce(topic, input.slice(i, i + 50_000));
  await df.endInput();
  await df.ended();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const guardedCalls = guardForBenchmarks.calls - calls0;
  guardForBenchmarks.unguarded = false;
  const metrics = df.metrics();
  const guestWorkers = sandbox?.workers();
  await df.stop();
  await sandbox?.close();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, metrics, rss: rss(), guestWorkers, guardedCalls };
}

export function report(name: string, records: number, ms: number, rss: number, extra = '', cpuMs?: number) {
  const cpu = cpuMs === undefined ? '' : `  CPU ${(cpuMs / 1000).toFixed(2).padStart(6)} s`;
  console.log(`${name.padEnd(44)} ${String(Math.round((records / ms) * 1000).toLocaleString('en')).padStart(12)} records/s  ${(ms / 1000).toFixed(2).padStart(7)} s${cpu}  peak RSS ${mb(rss).padStart(7)}  ${extra}`);
}

export function unitLines(metrics: UnitMetricsSnapshot[]) {
  for (const m of metrics) console.log(`    ${m.operator.padEnd(36)} in ${String(m.recordsIn).padStart(9)}  out ${String(m.recordsOut).padStart(9)}  batch p50 ${m.batchLatencyMs.p50} ms  p99 ${m.batchLatencyMs.p99} ms`);
}
