/**
 * Trusted functions (`isolation: native`): TypeScript compiled by esbuild and run directly in
 * V8 — no WebAssembly boundary, for users who trust their code and want the speed. The same
 * bundle is what the sandboxed build feeds to the component toolchain.
 *
 * Errors keep pointing at the user's code: each bundle carries a `sourceURL`, and `locate()`
 * maps a stack frame through esbuild's source map back to the TypeScript line — in the
 * services file for inline `run:` code, in `functions/<fn>.ts` for modules.
 */
import { isAbsolute, join } from 'node:path';
import * as esbuild from 'esbuild';
import { parseSourceMap, type LineMapper } from './source-map.ts';

export interface NativeSource {
  /** A stable id for stack traces and caches, e.g. the operator id `word-count.split-sentence`. */
  id: string;
  /** The function's code: inline TypeScript, or a module path (absolute or relative to `resolveDir`). */
  code: { inline: string; exportName: string } | { module: string; exportName: string };
  /** Where inline code starts: the file, the 1-based line of its first line, and its indentation + 1. */
  origin?: { file: string; line: number; col?: number };
  /** Imports (a step's npm dependencies, sibling modules) resolve from here. */
  resolveDir: string;
}

export interface CompiledFunction {
  id: string;
  fn: (...args: unknown[]) => unknown;
  /** The user's file:line:col of the deepest frame of `err` inside this function's code. */
  locate(err: unknown): { file: string; line: number; col: number } | undefined;
}

/** User code that does not compile: what and where, for the user. */
export class FunctionCompileError extends Error {
  override name = 'FunctionCompileError';
  readonly code = 'function-compile';
  readonly domain = 'user';
  readonly location: { file: string; line: number; col: number } | undefined;
  constructor(message: string, location?: { file: string; line: number; col: number }) {
    super(message);
    this.location = location;
  }
}

const EXPORT = '__ssdk_fn';

/** What maps a position in a bundle back to the user's code. */
type SourcePlace = Pick<NativeSource, 'id' | 'origin' | 'resolveDir'>;

/**
 * A trusted function compiled, as data: esbuild's output and its source map, with what `locate`
 * needs to point errors at the user's code. `ssdk deploy` ships it as an artifact (by content
 * hash), so an operator runs it with no sources and no compiler.
 */
export interface NativeBundle {
  id: string;
  exportName: string;
  js: string;
  map: string;
  origin?: NativeSource['origin'];
  resolveDir: string;
}

/** Compiles a function and loads it (`bundleNative` then `loadNativeBundle`). */
export async function compileNative(src: NativeSource): Promise<CompiledFunction> {
  return loadNativeBundle(await bundleNative(src));
}

/** Compiles a function with esbuild (its imports bundled in); `FunctionCompileError` with file:line:col. */
export async function bundleNative(src: NativeSource): Promise<NativeBundle> {
  const { code } = src;
  const contents =
    'inline' in code
      ? `${code.inline}\nexport { ${code.exportName} as ${EXPORT} };\n`
      : `import * as m from ${JSON.stringify(toImportPath(code.module))};\nexport const ${EXPORT} = m[${JSON.stringify(code.exportName)}] ?? m.default;\n`;
  const inlineName = `${src.id}.ts`;
  let result: esbuild.BuildResult<{ write: false; sourcemap: 'external'; outfile: string }>;
  try {
    result = await esbuild.build({
      stdin: { contents, loader: 'ts', sourcefile: inlineName, resolveDir: src.resolveDir },
      absWorkingDir: src.resolveDir,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      sourcemap: 'external',
      outfile: 'fn.js',
      logLevel: 'silent',
    });
  } catch (err) {
    const first = (err as { errors?: esbuild.Message[] }).errors?.[0];
    const loc = first?.location;
    const where = loc ? mapInline(src, loc.file, loc.line, loc.column + 1) : undefined;
    throw new FunctionCompileError(`${src.id}: ${first?.text ?? String(err)}`, where);
  }
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
  return { id: src.id, exportName: code.exportName, js, map, ...(src.origin ? { origin: src.origin } : {}), resolveDir: src.resolveDir };
}

/** Loads a compiled function into this process (V8, trusted). */
export async function loadNativeBundle(b: NativeBundle): Promise<CompiledFunction> {
  const map = parseSourceMap(b.map);
  const url = `ssdk-fn://${b.id}.js`;
  const body = b.js.replace(/\/\/# sourceMappingURL=.*\s*$/, '') + `\n//# sourceURL=${url}\n`;
  const dataUrl = `data:text/javascript;base64,${Buffer.from(body).toString('base64')}`;
  const mod = (await import(dataUrl)) as Record<string, unknown>;
  const fn = mod[EXPORT];
  if (typeof fn !== 'function') {
    throw new FunctionCompileError(`${b.id}: \`${b.exportName}\` is not an exported function`, b.origin && { ...b.origin, col: b.origin.col ?? 1 });
  }
  const where = { id: b.id, resolveDir: b.resolveDir, ...(b.origin ? { origin: b.origin } : {}) };
  return { id: b.id, fn: fn as CompiledFunction['fn'], locate: (err) => locate(err, [url, dataUrl], map, where) };
}

// A stack names the module by its sourceURL, or — where a runner rewrites stacks (vitest) —
// by the data URL it was imported from.
function locate(err: unknown, urls: string[], map: LineMapper, src: SourcePlace) {
  const stack = err instanceof Error ? err.stack ?? '' : '';
  let frame: RegExpExecArray | undefined;
  for (const line of stack.split('\n')) {
    for (const url of urls) {
      const at = line.indexOf(`${url}:`);
      if (at >= 0) {
        frame = /^:(\d+):(\d+)/.exec(line.slice(at + url.length)) ?? undefined;
        if (frame) break;
      }
    }
    if (frame) break;
  }
  if (!frame) return undefined;
  const orig = map.original(Number(frame[1]), Number(frame[2]));
  if (!orig) return undefined;
  return mapInline(src, orig.source, orig.line, orig.col);
}

/** Positions inside the inline stdin are shifted to the services file; module positions stay. */
function mapInline(src: SourcePlace, source: string, line: number, col: number) {
  if (source === `${src.id}.ts` || source === '<stdin>') {
    if (!src.origin) return undefined;
    return { file: src.origin.file, line: src.origin.line + line - 1, col: (src.origin.col ?? 1) + col - 1 };
  }
  return { file: isAbsolute(source) ? source : join(src.resolveDir, source), line, col };
}

function toImportPath(p: string): string {
  return isAbsolute(p) || p.startsWith('.') ? p : `./${p}`;
}
