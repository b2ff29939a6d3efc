/**
 * Component → JavaScript glue + core modules, with jco's transpiler, in-process. The output is
 * cached on disk by the component's content hash, so each component is transpiled once per
 * machine (0.5–2.5 s), and the glue is patched: jco reads `process.env.JCO_DEBUG` on every call
 * (~2 µs), which we remove.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TranspiledComponent {
  hash: string;
  dir: string;
  /** The ES module exporting `instantiate(getCoreModule, imports)`. */
  glue: string;
  /** Core module file names inside `dir`. */
  modules: string[];
  /** The component's imports (interface names), e.g. `ssdk:dataflow/host`. */
  imports: string[];
  /** The component's exported functions. */
  exports: string[];
  /**
   * ssdk's engine component with a dataflow's functions: the script each new instance gets
   * through its `load` export (the hash then covers it too).
   */
  functionsSource?: string;
}

/** A change here (or in jco) invalidates every cached transpile. */
const TRANSPILE_SCHEME = 'jco-transpile-0.15.0/sync/v1';
const GLUE = 'guest.mjs';

/**
 * Where transpiled components are kept by default: `transpiled/` in the shared component cache when
 * `SSDK_COMPONENT_CACHE` names one (`ssdk up`'s state dir, a compose stack's `components` volume,
 * which starts as a copy of the image's: so an operator container finds ssdk's engine transpiled
 * and skips jco, three quarters of its start's CPU), else a folder in the temp dir.
 */
export function transpileCacheDir(env: Record<string, string | undefined> = process.env): string {
  const shared = env['SSDK_COMPONENT_CACHE'];
  return shared && shared !== 'off' ? join(shared, 'transpiled') : join(tmpdir(), 'ssdk-wasm');
}

export function componentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 24);
}

export async function transpileCached(bytes: Uint8Array, cacheDir: string): Promise<TranspiledComponent> {
  const hash = createHash('sha256').update(TRANSPILE_SCHEME).update(bytes).digest('hex').slice(0, 24);
  const dir = join(cacheDir, hash);
  const info = join(dir, 'info.json');
  if (existsSync(info)) {
    const meta = JSON.parse(readFileSync(info, 'utf8')) as Pick<TranspiledComponent, 'imports' | 'exports'>;
    return { hash, dir, glue: join(dir, GLUE), modules: readdirSync(dir).filter((f) => f.endsWith('.wasm')), ...meta };
  }
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  const result = await transpileBytes(bytes, {
    name: 'guest',
    instantiation: { tag: 'sync' },
    nodejsCompat: false,
    tlaCompat: false,
    wasiShim: false,
  });
  // Written to a temporary folder, then renamed: a concurrent process sees all or nothing.
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  const modules: string[] = [];
  for (const [name, data] of Object.entries(result.files)) {
    if (name === 'guest.js') writeFileSync(join(tmp, GLUE), patchGlue(Buffer.from(data).toString('utf8')));
    else if (name.endsWith('.wasm')) {
      writeFileSync(join(tmp, name), data);
      modules.push(name);
    }
  }
  const meta = { imports: result.imports, exports: result.exports.filter(([, kind]) => kind === 'function').map(([name]) => name) };
  writeFileSync(join(tmp, 'info.json'), JSON.stringify(meta));
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race
  }
  return { hash, dir, glue: join(dir, GLUE), modules, ...meta };
}

/** Removes jco's per-call `process.env.JCO_DEBUG` read; fails loudly when jco's output changes. */
export function patchGlue(js: string): string {
  const re = /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};/;
  if (!re.test(js)) throw new Error('jco glue changed: the _debugLog pattern was not found (update patchGlue)');
  const out = js.replace(re, 'const _debugLog = () => {};');
  if (/process\.env/.test(out)) throw new Error('jco glue still reads process.env (update patchGlue)');
  return out;
}
