import { relative } from 'node:path';
import { checkFunctionCode } from '@ssdk/functions';
import { checkDataflow, checkServicesFile } from '@ssdk/plan';
import { buildDataflow, componentCacheDir, type BuildProgress } from '@ssdk/wasm-host/build';
import type { CommandSpec, ParsedCommand } from '../args.ts';
import { countBySeverity, plural, printDiagnostics } from '../diagnostics.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import { paint, type CliIo } from '../io.ts';
import { stateDir } from '../state-dir.ts';
import { timed, timedCheck } from '../timings.ts';
import { optionalString, servicesFileArg } from './generate.ts';

export const buildSpec: CommandSpec = {
  name: 'build',
  summary: "Compile the dataflow's TypeScript functions into sandboxed WebAssembly components (.ssdk/build).",
  usage: 'ssdk build [FILE] [--state-dir DIR] [--cache DIR]',
  options: {
    'state-dir': { type: 'string', valueName: 'DIR', description: 'where outputs go (default: .ssdk/ beside the services file, or $SSDK_HOME)' },
    cache: { type: 'string', valueName: 'DIR', description: 'a component cache shared between builds (default: $SSDK_COMPONENT_CACHE, else ~/.cache/ssdk/components; `off` for none)' },
  },
  maxPositionals: 1,
  examples: ['ssdk build examples/word-count/services.yaml', 'ssdk build --cache ~/.cache/ssdk   # reuse components across dataflows and checkouts'],
};

export async function runBuild(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = servicesFileArg(cmd, io);
  const checked = await timed('parse', () => checkServicesFile(file, { checkCode: timedCheck(checkFunctionCode) }));
  // Paths as reportBuildError prints them: relative to where the command runs.
  printDiagnostics(io, checked.diagnostics.map((d) => ({ ...d, pos: { ...d.pos, file: relative(io.cwd, d.pos.file) || d.pos.file } })));
  if (countBySeverity(checked.diagnostics).errors > 0) return EXIT_USER_ERROR;
  const { graph } = checkDataflow(checked.dataflow);
  const home = stateDir(file, optionalString(cmd, 'state-dir'));
  const cache = optionalString(cmd, 'cache') ?? componentCacheDir();
  const started = performance.now();
  const ticker = elapsedTicker(io);
  let result;
  try {
    result = await timed('component', () => buildDataflow({
      dataflow: checked.dataflow,
      graph,
      stateDir: home,
      ...(cache ? { componentCache: cache } : {}),
      onProgress: (p) => {
        ticker.stop();
        io.out(progressLine(io, p));
        if (p.status === 'building') ticker.start();
      },
    }));
  } catch (err) {
    ticker.stop();
    const code = reportBuildError(err, io);
    if (code !== undefined) return code;
    throw err;
  }
  ticker.stop();
  const built = result.components.filter((c) => c.status === 'built').length;
  const manifest = relative(io.cwd, `${result.buildDir}/manifest.json`);
  io.out(
    `${plural(result.components.length, 'component')} (${built} built, ${result.components.length - built} cached) in ${seconds(performance.now() - started)} → ${manifest}\n`,
  );
  return EXIT_OK;
}

/** A function that cannot be found or does not compile: where, what, like a compiler (exit 2); undefined for other errors. */
export function reportBuildError(err: unknown, io: CliIo): number | undefined {
  const e = err as { pos?: Where; location?: Where; domain?: string };
  const where = e.pos ?? e.location;
  if (!where || !(err instanceof Error) || e.domain !== 'user') return undefined;
  const at = `${where.file}:${where.line}:${where.col}`;
  const message = err.message.startsWith(`${at}: `) ? err.message.slice(at.length + 2) : err.message;
  io.err(`${relative(io.cwd, where.file) || where.file}:${where.line}:${where.col}: ${paint(io, 'red', 'error')}: ${message}\n`);
  return EXIT_USER_ERROR;
}

interface Where {
  file: string;
  line: number;
  col: number;
}

function progressLine(io: CliIo, p: BuildProgress): string {
  if (p.status === 'building') return `${paint(io, 'dim', 'building')} ${p.hash}  ssdk's engine component (once per ssdk version on this machine, 15–20 s of CPU; edits then need no build)\n`;
  const status = p.status === 'built' ? paint(io, 'green', 'built ') : paint(io, 'dim', 'cached');
  return `${status} ${p.hash}  ${(p.bytes / 1e6).toFixed(1).padStart(5)} MB  ${seconds(p.ms).padStart(6)}  ${p.kind}: ${p.services.join(', ')} (${plural(p.functions.length, 'function')})\n`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** On a terminal, the seconds a build has taken so far, redrawn in place every second. */
function elapsedTicker(io: CliIo): { start(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    start() {
      if (!io.terminal || timer) return;
      const t0 = performance.now();
      timer = setInterval(() => io.err(`\r  ${seconds(performance.now() - t0)} elapsed `), 1000);
      timer.unref();
    },
    stop() {
      if (!timer) return;
      clearInterval(timer);
      timer = undefined;
      io.err('\r\x1b[K');
    },
  };
}
