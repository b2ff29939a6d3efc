/**
 * Where a command's seconds go, for `npm run bench:edit`: with `SSDK_TIMINGS=FILE` the command
 * writes one JSON object to FILE as it ends — each phase's wall and CPU milliseconds (CPU of the
 * whole process, worker threads included; child processes such as esbuild are not). Phases:
 * `start` (Node start to the command's module loaded), `parse` (read, validate and plan the
 * services file), `check` (the functions' type check), `component` (bundle and build), `total`.
 * Off (no cost but a property read) unless the variable is set.
 */
import { writeFileSync } from 'node:fs';

export interface PhaseTime {
  wallMs: number;
  cpuMs: number;
}

const file = process.env['SSDK_TIMINGS'];
const phases: Record<string, PhaseTime> = {};

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Adds the time from Node's start to now to `name` (for `start`: the CLI's own loading). */
export function sinceProcessStart(name: string): void {
  if (!file) return;
  add(name, performance.now(), cpuMs());
}

/** Runs `fn`, adding its wall and CPU time to phase `name`. */
export async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!file) return fn();
  const wall = performance.now();
  const cpu = cpuMs();
  try {
    return await fn();
  } finally {
    add(name, performance.now() - wall, cpuMs() - cpu);
  }
}

/** The same check function, its time counted as `check` (and so not as the `parse` around it). */
export function timedCheck<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => timed('check', () => fn(...args));
}

/** Writes the phases (with `parse` net of the `check` it contains) to $SSDK_TIMINGS. */
export function writeTimings(): void {
  if (!file) return;
  add('total', performance.now(), cpuMs());
  const out: Record<string, PhaseTime | string> = { ...phases };
  // The sources through tsx, or the compiled command (bin/ssdk.js picks; the start differs ~3×).
  out['from'] = import.meta.url.endsWith('.ts') ? 'sources' : 'compiled';
  const parse = phases['parse'];
  const check = phases['check'];
  if (parse && check) out['parse'] = { wallMs: parse.wallMs - check.wallMs, cpuMs: parse.cpuMs - check.cpuMs };
  writeFileSync(file, JSON.stringify(out));
}

function add(name: string, wallMs: number, cpu: number): void {
  const p = (phases[name] ??= { wallMs: 0, cpuMs: 0 });
  p.wallMs += wallMs;
  p.cpuMs += cpu;
}
