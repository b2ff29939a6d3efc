import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { camelCase, snakeCase } from '@ssdk/spec';
import { checkDataflow, checkServicesFile } from '@ssdk/plan';
import { findModule } from '@ssdk/functions';
import { functionStubs, generateCtxTs, generateTypesTs, generateWit } from '@ssdk/wit';
import type { CommandSpec, ParsedCommand } from '../args.ts';
import { countBySeverity, printDiagnostics } from '../diagnostics.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { stateDir } from '../state-dir.ts';

export const generateSpec: CommandSpec = {
  name: 'generate',
  summary: 'Scaffold functions/: a typed stub and a test per `uses:` function, types.ts, ctx.ts and the WIT.',
  usage: 'ssdk generate [FILE] [--state-dir DIR]',
  options: {
    'state-dir': { type: 'string', valueName: 'DIR', description: 'where the WIT goes (default: .ssdk/ beside the services file, or $SSDK_HOME)' },
  },
  maxPositionals: 1,
  examples: ['ssdk generate examples/seed-pipeline/services.yaml', 'ssdk generate            # services.yaml (or dataflow.yaml) in this folder'],
};

/**
 * `functions/types.ts`, `functions/ctx.ts` and the WIT are generated code, rewritten every run;
 * a function module or test that exists is the user's and is never touched.
 */
export async function runGenerate(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = servicesFileArg(cmd, io);
  const checked = await checkServicesFile(file);
  printDiagnostics(io, checked.diagnostics);
  if (countBySeverity(checked.diagnostics).errors > 0) return EXIT_USER_ERROR;
  const df = checked.dataflow;
  const { graph } = checkDataflow(df);
  const root = dirname(resolve(file));
  const show = (p: string) => relative(io.cwd, p) || p;
  const write = async (path: string, text: string) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    io.out(`wrote ${show(path)}\n`);
  };
  const functions = join(root, 'functions');
  await write(join(functions, 'types.ts'), generateTypesTs(df));
  await write(join(functions, 'ctx.ts'), generateCtxTs(df, graph));
  for (const stub of functionStubs(df, graph)) {
    const existing = findModule(root, stub.ref) ?? prebuilt(root, stub.ref);
    if (existing) io.out(`kept ${show(existing)}\n`);
    else await write(join(root, stub.module), stub.moduleText);
    const test = join(root, stub.test);
    if (!existing && !existsSync(test)) await write(test, stub.testText);
  }
  const witDir = join(stateDir(file, optionalString(cmd, 'state-dir')), 'wit');
  for (const [rel, text] of Object.entries(generateWit(df, graph).files)) await write(join(witDir, rel), text);
  return EXIT_OK;
}

function prebuilt(root: string, ref: string): string | undefined {
  for (const n of new Set([ref, camelCase(ref), snakeCase(ref)])) {
    const p = join(root, 'functions', `${n}.wasm`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** FILE, or the services file of the current folder. */
export function servicesFileArg(cmd: ParsedCommand, io: CliIo): string {
  const given = cmd.positionals[0];
  if (given) return resolve(io.cwd, given);
  for (const name of ['services.yaml', 'dataflow.yaml', 'services.yml', 'dataflow.yml']) {
    const p = join(io.cwd, name);
    if (existsSync(p)) return p;
  }
  return join(io.cwd, 'services.yaml');
}

export function optionalString(cmd: ParsedCommand, name: string): string | undefined {
  const v = cmd.values[name];
  return typeof v === 'string' ? v : undefined;
}
