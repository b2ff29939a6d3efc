/**
 * The two halves of a sandboxed dataflow, bundled with esbuild:
 * - the **engine**: the guest glue and the engine's chain executor, the same for every dataflow
 *   (one per world), compiled into a component once per ssdk version and cached;
 * - the **functions**: the dataflow's own code as one script, handed to each new instance of the
 *   engine (its `load` export) and evaluated there. So an edit rebuilds a bundle (milliseconds),
 *   never a component, and the user's code still runs only inside the sandbox.
 * Inline `run:` code becomes a virtual module per step (its positions map back to the services
 * file); `functions/<fn>.ts` modules and their npm `dependencies` are resolved from the services
 * file's folder (the user's node_modules). Everything ssdk adds is loaded under the
 * `ssdk-guest:` namespace, so a bundle — and its content hash — does not depend on where ssdk or
 * the dataflow is installed.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { FunctionCompileError } from '@ssdk/functions';
import type { SourceLocation } from '../host/errors.ts';
import { FUNCTIONS_SCRIPT } from '../host/source-map.ts';
import { lowerUnicodePropertyEscapes } from './regexp.ts';

export interface GuestFunction {
  /** Operator id. */
  id: string;
  code:
    | { kind: 'inline'; code: string; exportName: string; origin: SourceLocation }
    | { kind: 'module'; path: string; exportName: string };
}

export interface GuestBundle {
  js: string;
  map: string;
  /** Inline sources in the map → where their code starts in the services file. */
  inline: Record<string, SourceLocation>;
}

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
/** Defined by the published package's build (`tools/package/build.ts`), which bundles this code into `lib/`. */
declare const SSDK_PACKAGED: boolean | undefined;

/**
 * The files ssdk puts into every guest, by their name in the `ssdk-guest:` namespace. They are
 * read as sources at build time; the published package carries them unchanged in `lib/guest/`,
 * so a component built there has the same content hash as one built in the workspace.
 */
export function guestFiles(): Record<string, string> {
  if (typeof SSDK_PACKAGED === 'boolean' && SSDK_PACKAGED) {
    return Object.fromEntries(GUEST_FILES.map((name) => [name, join(here, 'guest', name)]));
  }
  const chain = require.resolve('@ssdk/engine/chain');
  const compiler = require.resolve('@ssdk/engine/chain-compiler');
  const http = require.resolve('@ssdk/engine/http');
  const ownResult = require.resolve('@ssdk/engine/own-result');
  return {
    'glue.ts': join(here, '..', 'guest', 'glue.ts'),
    'layout.ts': join(here, '..', 'batch', 'layout.ts'),
    'chain.ts': chain,
    'chain-compiler.ts': compiler,
    'http.ts': http,
    'own-result.ts': ownResult,
  };
}
const GUEST_FILES = ['glue.ts', 'layout.ts', 'chain.ts', 'chain-compiler.ts', 'http.ts', 'own-result.ts'] as const;

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** The global the functions script defines: operator id → function. */
const FUNCTIONS_GLOBAL = 'ssdkFunctions';
/** The global through which the functions script reaches the host interface (a script has no imports). */
const HOST_GLOBAL = 'ssdkHost';

/**
 * The engine half: `load` evaluates the functions script in a new instance; `process` (and
 * `flush` for a windowed world) then serve every call from the guest it made.
 */
export async function bundleEngine(opts: { exportFlush: boolean }): Promise<GuestBundle> {
  const lines = [
    "import { makeGuest } from 'ssdk-guest:glue.ts';",
    "import * as host from 'ssdk:dataflow/host';",
    'let guest;',
    'export function load(functions) {',
    '  try {',
    `    globalThis.${HOST_GLOBAL} = host;`,
    '    // Indirect eval: the script runs in the global scope, as a module top level would.',
    '    (0, eval)(functions);',
    `    guest = makeGuest(globalThis.${FUNCTIONS_GLOBAL});`,
    "    return '';",
    '  } catch (err) {',
    '    // Where it was thrown first: a syntax error has no frame of its own, only this.',
    "    const at = err && err.fileName ? `${err.fileName}:${err.lineNumber}:${err.columnNumber}\\n` : '';",
    "    return `${String(err)}\\n${at}${err && err.stack ? err.stack : ''}`;",
    '  }',
    '}',
    'function loaded() {',
    "  if (!guest) throw new Error('the engine was called before its functions were loaded');",
    '  return guest;',
    '}',
    'export function process(input) { return loaded().process(input); }',
  ];
  if (opts.exportFlush) lines.push('export function flush(start, end, entries) { return loaded().flush(start, end, entries); }');
  return runEsbuild({ entry: lines.join('\n'), root: here, format: 'esm', inline: {}, inlineCode: new Map(), name: 'engine' });
}

/** The functions half: the dataflow's functions as one script defining `globalThis.ssdkFunctions`. */
export async function bundleFunctions(opts: { functions: readonly GuestFunction[]; root: string }): Promise<GuestBundle> {
  const inline: Record<string, SourceLocation> = {};
  const inlineCode = new Map<string, string>();
  const lines: string[] = [];
  const table: string[] = [];
  opts.functions.forEach((f, i) => {
    if (f.code.kind === 'inline') {
      const source = `ssdk-inline:${f.id}.ts`;
      inline[source] = f.code.origin;
      inlineCode.set(`${f.id}.ts`, `${f.code.code}\nexport { ${f.code.exportName} as fn };\n`);
      lines.push(`import { fn as f${i} } from ${JSON.stringify(source)};`);
      table.push(`  ${JSON.stringify(f.id)}: f${i},`);
    } else {
      const rel = relative(opts.root, f.code.path).split('\\').join('/');
      lines.push(`import * as m${i} from ${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)};`);
      table.push(`  ${JSON.stringify(f.id)}: pick(m${i}, ${JSON.stringify(f.code.exportName)}, ${JSON.stringify(rel)}),`);
    }
  });
  lines.push(
    'function pick(m, name, file) {',
    '  const fn = m[name] ?? m.default;',
    "  if (typeof fn !== 'function') throw new Error(`${file} does not export a function \\`${name}\\` (or a default export)`);",
    '  return fn;',
    '}',
    `globalThis.${FUNCTIONS_GLOBAL} = {\n${table.join('\n')}\n};`,
  );
  const bundle = await runEsbuild({ entry: lines.join('\n'), root: opts.root, format: 'iife', inline, inlineCode, name: FUNCTIONS_SCRIPT.replace(/\.js$/, ''), hostGlobal: HOST_GLOBAL });
  return { ...bundle, js: `${bundle.js}\n//# sourceURL=${FUNCTIONS_SCRIPT}\n` };
}

async function runEsbuild(opts: {
  entry: string;
  root: string;
  format: 'esm' | 'iife';
  inline: Record<string, SourceLocation>;
  inlineCode: Map<string, string>;
  name: string;
  /** A script cannot import the host interface: it reads this global, which the engine sets. */
  hostGlobal?: string;
}): Promise<GuestBundle> {
  const files = guestFiles();
  const { inline, inlineCode } = opts;
  const plugin: esbuild.Plugin = {
    name: 'ssdk-guest',
    setup(build) {
      build.onResolve({ filter: /^ssdk:dataflow\/host$/ }, (a) => (opts.hostGlobal ? { path: 'host', namespace: 'ssdk-host' } : { path: a.path, external: true }));
      build.onLoad({ filter: /.*/, namespace: 'ssdk-host' }, () => ({ contents: `module.exports = globalThis.${opts.hostGlobal};`, loader: 'js' }));
      build.onResolve({ filter: /^@ssdk\/engine$/ }, () => ({ path: 'chain.ts', namespace: 'ssdk-guest' }));
      build.onResolve({ filter: /^ssdk-guest:/ }, (a) => ({ path: a.path.slice('ssdk-guest:'.length), namespace: 'ssdk-guest' }));
      build.onResolve({ filter: /.*/, namespace: 'ssdk-guest' }, (a) => ({ path: a.path.split('/').pop()!, namespace: 'ssdk-guest' }));
      build.onLoad({ filter: /.*/, namespace: 'ssdk-guest' }, async (a) => {
        const file = files[a.path];
        if (!file) return { errors: [{ text: `ssdk-guest: no file ${a.path}` }] };
        return { contents: await readFile(file, 'utf8'), loader: 'ts' };
      });
      build.onResolve({ filter: /^ssdk-inline:/ }, (a) => ({ path: a.path.slice('ssdk-inline:'.length), namespace: 'ssdk-inline' }));
      build.onLoad({ filter: /.*/, namespace: 'ssdk-inline' }, (a) => ({ contents: inlineCode.get(a.path) ?? '', loader: 'ts', resolveDir: opts.root }));
      build.onResolve({ filter: /^[a-z_:/]+$/ }, (a) => {
        if (!BUILTINS.has(a.path)) return undefined;
        return {
          errors: [{ text: `\`${a.path}\` is a Node.js module: sandboxed functions have no file system, network, process or environment (use \`isolation: native\` for trusted code)` }],
        };
      });
    },
  };

  let result: esbuild.BuildResult<{ write: false; sourcemap: 'external'; outfile: string }>;
  try {
    result = await esbuild.build({
      stdin: { contents: opts.entry, loader: 'js', sourcefile: 'ssdk-guest:entry.js', resolveDir: opts.root },
      absWorkingDir: opts.root,
      bundle: true,
      format: opts.format,
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['import', 'module', 'default'],
      target: 'es2022',
      write: false,
      sourcemap: 'external',
      sourcesContent: false,
      outfile: `${opts.name}.js`,
      logLevel: 'silent',
      legalComments: 'none',
      plugins: [plugin],
    });
  } catch (err) {
    throw compileError(err, inline, opts.root);
  }
  const js = await lowerUnicodePropertyEscapes(result.outputFiles.find((f) => f.path.endsWith('.js'))!.text.replace(/\/\/# sourceMappingURL=.*\s*$/, ''));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
  return { js, map, inline };
}

/** esbuild's first error as a `FunctionCompileError` at the user's file:line:col. */
function compileError(err: unknown, inline: Record<string, SourceLocation>, root: string): FunctionCompileError {
  const first = (err as { errors?: esbuild.Message[] }).errors?.[0];
  const loc = first?.location;
  let where: SourceLocation | undefined;
  if (loc) {
    const file = loc.file.replace(/^ssdk-inline:/, '');
    const origin = inline[`ssdk-inline:${file}`] ?? inline[loc.file];
    where = origin
      ? { file: origin.file, line: origin.line + loc.line - 1, col: origin.col + loc.column }
      : { file: join(root, loc.file), line: loc.line, col: loc.column + 1 };
  }
  const at = where ? `${where.file}:${where.line}:${where.col}: ` : '';
  return new FunctionCompileError(`${at}${first?.text ?? String(err)}`, where);
}
