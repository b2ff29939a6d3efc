/**
 * JavaScript → WebAssembly component with componentize-js (StarlingMonkey), in-process, every
 * WASI feature disabled: the component's only import is `ssdk:dataflow/host`. The first build
 * in a process compiles the engine (10–27 s); later ones take 3–5 s.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

export const COMPONENTIZE_JS_VERSION = '0.23.0';

let preopensSet = false;

export async function componentizeJs(opts: { js: string; witDir: string; world: string; workDir: string; name: string }): Promise<Uint8Array> {
  if (!preopensSet) {
    // componentize-js reads the WIT through preview2-shim's file system, which grants nothing
    // until told ("os error 44"); this is the build process, not a guest.
    const fs = (await import('@bytecodealliance/preview2-shim/filesystem')) as unknown as { _setPreopens(p: Record<string, string>): void };
    fs._setPreopens({ '/': '/' });
    preopensSet = true;
  }
  const { componentize } = await import('@bytecodealliance/componentize-js').catch((err: unknown) => {
    // The ssdk image leaves componentize-js out (tools/docker/prune.mjs): it carries ssdk's
    // engines built, one per world, and this is the only thing that would compile one anew.
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error(`ssdk's engine component (world ${opts.world}) is not in the component cache, and this installation has no componentize-js to build it (the ssdk image carries the engines of its own version built): set SSDK_COMPONENT_CACHE to the folder holding them, or build with a full \`npm install ssdk\``, { cause: err });
  });
  const workDir = await workDirFor(opts.workDir);
  const sourcePath = join(workDir, `${opts.name}.js`);
  await writeFile(sourcePath, opts.js);
  try {
    const { component } = await componentize({
      sourcePath,
      witPath: opts.witDir,
      worldName: opts.world,
      disableFeatures: ['random', 'stdio', 'clocks', 'http', 'fetch-event'],
    });
    return component;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * componentize-js maps the source's folder into the guest relative to the current directory
 * when the folder's path *starts with* the current directory's as text (`startsWith(cwd)`), so
 * from `/x/rel` a source under `/x/relwork/` loads as `ork/…` and the build fails. Such a folder
 * is swapped for a fresh one under the system's temporary folder.
 */
export async function workDirFor(wanted: string, cwd = process.cwd()): Promise<string> {
  const misread = (dir: string) => dir.startsWith(cwd) && dir !== cwd && !dir.startsWith(cwd.endsWith(sep) ? cwd : cwd + sep);
  if (!misread(wanted)) {
    await mkdir(wanted, { recursive: true });
    return wanted;
  }
  const fresh = await mkdtemp(join(tmpdir(), 'ssdk-componentize-'));
  if (misread(fresh)) throw new Error(`cannot build from ${cwd}: run ssdk from another folder (componentize-js misreads paths that start with it)`);
  return fresh;
}

/**
 * A core module in WAT → a component of `world`, with jco's own tools in-process (the
 * equivalents of `jco parse`, `jco embed` and `jco new`).
 */
export async function componentizeWat(opts: { wat: string; witSource: string; world: string }): Promise<Uint8Array> {
  const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
  const core = await tools.parse(opts.wat);
  const embedded = await tools.componentEmbed({ binary: core, witSource: opts.witSource, world: opts.world });
  return tools.componentNew(embedded);
}
