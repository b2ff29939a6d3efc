/**
 * `npm run bench:edit` — seconds from an edit to a rebuilt component and to a result, end to end:
 * the real `ssdk` command (bin/ssdk.js, a new Node process each time, as a user runs it) on a copy
 * of examples/word-count. Scenarios:
 *   cold        `ssdk build` with an empty component cache and an empty check cache (the engine
 *               component is compiled: tens of seconds; `--skip-cold` leaves it out)
 *   hit         `ssdk build` again, nothing changed
 *   edit        `ssdk build` after one function's body changed (a new edit each repetition)
 *   run-edit    `ssdk run … --until-idle` after an edit: edit to the dataflow's outputs
 * Baselines in the same run: `node -e ''` (Node's own start) and `ssdk --version` (Node + the
 * CLI's loader, no command). Each row: the median of `--reps` runs, wall and CPU (the child's
 * own and its children's, from /proc/self/stat), then the command's phases as it reports them
 * (SSDK_TIMINGS: start = Node start to the command loaded, parse = read/validate/plan, check =
 * type check, component = bundle + build). The load average is printed: on a shared 2-core box
 * wall time follows it; CPU time is the figure to compare between runs.
 *
 * bin/ssdk.js runs the compiled command when `npm run package` built it and no source is newer
 * (the header says which ran); `--sources` makes it the sources.
 *
 *   npm run bench:edit [-- --reps 3 --skip-cold --sources]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.ts';

const { values } = benchArgs({ options: { reps: { type: 'string', default: '3' }, 'skip-cold': { type: 'boolean', default: false }, sources: { type: 'boolean', default: false } } });
const REPS = Number(values.reps);
const repo = new URL('../../', import.meta.url).pathname;
const bin = join(repo, 'bin', 'ssdk.js');

const work = mkdtempSync(join(tmpdir(), 'ssdk-bench-edit-'));
const example = join(work, 'word-count');
cpSync(join(repo, 'examples', 'word-count'), example, { recursive: true, filter: (src) => !src.includes('.ssdk') });
const file = join(example, 'services.yaml');
const original = readFileSync(file, 'utf8');
const timingsFile = join(work, 'timings.json');
// --skip-cold: the user's component cache (its engine is built already), else an empty one.
const componentCache = values['skip-cold'] ? (process.env['SSDK_COMPONENT_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'ssdk', 'components')) : join(work, 'components');
const checkCache = join(work, 'checks');
// --sources: the TypeScript sources through tsx even when a fresh compiled command exists (bin/ssdk.js).
const env = { ...process.env, SSDK_COMPONENT_CACHE: componentCache, SSDK_CHECK_CACHE: checkCache, SSDK_TIMINGS: timingsFile, NO_COLOR: '1', ...(values.sources ? { SSDK_FROM_SOURCE: '1' } : {}) };

interface Sample {
  wallMs: number;
  cpuMs: number;
  phases: Record<string, { wallMs: number; cpuMs: number }>;
}
let ranFrom = 'sources';

/** CPU seconds of this process's waited-for children (and theirs), in ms. */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // Fields 16 and 17 (cutime, cstime) are the 14th and 15th after the command name.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function run(args: string[]): Sample {
  rmSync(timingsFile, { force: true });
  const cpu = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, cwd: work, encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  let phases = {};
  try {
    const written = JSON.parse(readFileSync(timingsFile, 'utf8')) as Sample['phases'] & { from?: string };
    ranFrom = written.from ?? ranFrom;
    delete written.from;
    phases = written;
  } catch {
    // A baseline (node -e) reports no phases.
  }
  return { wallMs, cpuMs: childrenCpuMs() - cpu, phases };
}

let edits = 0;
/** One function's body changed, results unchanged: a new bound in isCountable. */
function edit(): void {
  edits++;
  const changed = original.replace('word.length >= 3 &&', `word.length >= 3 && word.length < ${1000 + edits} &&`);
  if (changed === original) throw new Error('the edit no longer applies to examples/word-count/services.yaml');
  writeFileSync(file, changed);
}

function median(samples: Sample[]): Sample {
  const pick = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.phases)))];
  return {
    wallMs: pick(samples.map((s) => s.wallMs)),
    cpuMs: pick(samples.map((s) => s.cpuMs)),
    phases: Object.fromEntries(names.map((n) => [n, { wallMs: pick(samples.map((s) => s.phases[n]?.wallMs ?? 0)), cpuMs: pick(samples.map((s) => s.phases[n]?.cpuMs ?? 0)) }])),
  };
}

function repeat(n: number, before: () => void, args: string[]): Sample {
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    before();
    samples.push(run(args));
  }
  return median(samples);
}

const build = [bin, 'build', file];
const runArgs = [bin, 'run', file, '--input', `sentences=${join(example, 'input', 'sentences.jsonl')}`, '--records', '--output-dir', join(work, 'out'), '--until-idle', '--fresh'];
const rows: [string, Sample][] = [];
const load0 = loadavg()[0]!;
rows.push(['node start (baseline)', repeat(REPS, () => {}, ['-e', ''])]);
rows.push(['ssdk --version (baseline)', repeat(REPS, () => {}, [bin, '--version'])]);
if (!values['skip-cold']) rows.push(['build: cold', repeat(1, () => rmSync(componentCache, { recursive: true, force: true }), build)]);
rows.push(['build: cache hit', repeat(REPS, () => {}, build)]);
rows.push(['build: one-function edit', repeat(REPS, edit, build)]);
rows.push(['run --until-idle: edit', repeat(REPS, edit, runArgs)]);
const outputs = readFileSync(join(work, 'out', 'top-words.jsonl'), 'utf8').trim().split('\n').length;
const load1 = loadavg()[0]!;
rmSync(work, { recursive: true, force: true });

const ms = (v: number | undefined) => (v === undefined ? '' : v < 10_000 ? `${Math.round(v)}` : `${(v / 1000).toFixed(1)}s`);
const cols = ['start', 'parse', 'check', 'component'];
console.log(`ssdk edit loop on examples/word-count (median of ${REPS}; cold once; the ${ranFrom === 'compiled' ? 'compiled command, dist/ssdk' : 'TypeScript sources through tsx'}), load average ${load0.toFixed(1)} → ${load1.toFixed(1)}, ${process.version}`);
console.log(`${'scenario'.padEnd(26)} ${'wall ms'.padStart(8)} ${'cpu ms'.padStart(8)}   ${cols.map((c) => `${c} wall/cpu`.padStart(20)).join('')}`);
for (const [name, s] of rows) {
  console.log(`${name.padEnd(26)} ${ms(s.wallMs).padStart(8)} ${ms(s.cpuMs).padStart(8)}   ${cols.map((c) => (s.phases[c] ? `${ms(s.phases[c].wallMs)}/${ms(s.phases[c].cpuMs)}` : '-').padStart(20)).join('')}`);
}
console.log(`(run --until-idle wrote ${outputs} top-words windows)`);
console.log(JSON.stringify({ bench: 'edit', from: ranFrom, load: [load0, load1], rows: Object.fromEntries(rows) }));
