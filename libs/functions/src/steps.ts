/**
 * Where a step's code lives, resolved: inline `run:` code in the services file, or a `uses:`
 * module beside it (`functions/<fn>.ts`, also under its camelCase / snake_case name, or
 * `functions/<fn>/index.ts`). One place, used by native loading and by the component build.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { camelCase, snakeCase, type SourcePos, type Step } from '@ssdk/spec';
import { compileNative, type CompiledFunction, type NativeSource } from './native.ts';

/** A function that cannot be found or cannot run here: what and where, for the user. */
export class FunctionNotFoundError extends Error {
  override name = 'FunctionNotFoundError';
  readonly code = 'function-not-found';
  readonly domain = 'user';
  readonly pos: SourcePos;
  constructor(message: string, pos: SourcePos) {
    super(message);
    this.pos = pos;
  }
}

export function stepSource(id: string, step: Step, servicesFile: string): NativeSource {
  const dir = dirname(resolve(servicesFile));
  const src = step.fn.source;
  if (src.kind === 'inline') {
    if (src.lang === 'rust') {
      throw new FunctionNotFoundError(`\`${id}\` is written in Rust; ssdk runs TypeScript functions: port it first (\`ssdk validate\` shows the signature)`, src.codePos);
    }
    return { id, code: { inline: src.code, exportName: step.fn.name }, origin: { file: servicesFile, line: src.codePos.line, col: src.codePos.col }, resolveDir: dir };
  }
  const module = src.module ?? findModule(dir, src.ref);
  if (!module) {
    if (src.pkg !== undefined) {
      throw new FunctionNotFoundError(`\`${src.ref}\` (package \`${src.pkg.id}\`) has no TypeScript body: port it first (\`ssdk validate\` shows the signature)`, src.refPos);
    }
    throw new FunctionNotFoundError(
      `no code for \`${src.ref}\`: expected functions/${src.ref}.ts beside the services file (exporting \`${camelCase(src.ref)}\`); \`ssdk generate\` writes a stub`,
      src.refPos,
    );
  }
  // A package's function is exported under its own name, whatever the import's alias.
  return { id, code: { module, exportName: camelCase(src.pkg?.name ?? src.ref) }, resolveDir: dir };
}

export function findModule(dir: string, ref: string): string | undefined {
  const names = [...new Set([ref, camelCase(ref), snakeCase(ref)])];
  for (const n of names) {
    for (const candidate of [join(dir, 'functions', `${n}.ts`), join(dir, 'functions', n, 'index.ts')]) {
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/** Compiles a step's function to run in V8 (`isolation: native`). */
export async function loadNativeStep(id: string, step: Step, servicesFile: string): Promise<CompiledFunction> {
  return compileNative(stepSource(id, step, servicesFile));
}

