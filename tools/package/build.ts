/**
 * `npm run package`: the publishable `ssdk` package, built from the workspace.
 *
 *   dist/ssdk/            the package folder (what `npm pack` packs)
 *     bin/ssdk.js         the `ssdk` command; bin/ssdk-dashboard.js the distributed dashboard
 *     lib/*.js            every workspace lib and app bundled by esbuild (ES modules, split
 *                         into shared chunks, so `ssdk validate` still loads only what it needs)
 *     lib/guest-worker.mjs, lib/callout-worker.mjs, lib/pglite-worker.mjs, lib/guest/*.ts   files read at run time (the sandbox's worker thread,
 *                         the sources every WebAssembly guest is built from)
 *     docs/, README.md    the documentation, links inside the package
 *   dist/ssdk-<version>.tgz
 *
 * npm packages stay external and become the package's `dependencies`, at the versions the
 * workspace declares; an import of a package no workspace project declares stops the build.
 * No TypeScript loader at run time: the package runs on plain Node 20.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { guestFiles } from '@ssdk/wasm-host/build';

const repo = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const out = join(repo, 'dist', 'ssdk');
const lib = join(out, 'lib');

interface PackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
const readJson = (file: string): PackageJson => JSON.parse(readFileSync(file, 'utf8')) as PackageJson;

/** Each workspace project's package.json by package name. */
function workspacePackages(): Map<string, { dir: string; json: PackageJson }> {
  const found = new Map<string, { dir: string; json: PackageJson }>();
  for (const group of ['libs', 'apps']) {
    for (const name of readdirSync(join(repo, group))) {
      const dir = join(repo, group, name);
      if (existsSync(join(dir, 'package.json'))) {
        const json = readJson(join(dir, 'package.json'));
        found.set(json.name, { dir, json });
      }
    }
  }
  return found;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const ENTRIES = {
  cli: 'apps/cli/src/main.ts',
  planner: 'apps/planner/src/main.ts',
  dashboard: 'apps/dashboard/src/main.ts',
};

export async function buildPackage(): Promise<{ dir: string; tarball: string }> {
  const root = readJson(join(repo, 'package.json'));
  const workspace = workspacePackages();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });

  const externals = new Set<string>();
  const result = await esbuild.build({
    absWorkingDir: repo,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, join(repo, path)])),
    outdir: lib,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
    define: { SSDK_PACKAGED: 'true' },
    plugins: [
      {
        name: 'ssdk-externals',
        setup(build) {
          // Workspace packages are bundled; every other package is a dependency of the package.
          build.onResolve({ filter: /^[^./]/ }, (a) => {
            if (a.path.startsWith('node:') || a.path.startsWith('@ssdk/')) return undefined;
            const name = packageName(a.path);
            if (!/^(@[\w.-]+\/)?[\w.-]+$/.test(name) || isBuiltin(name)) return undefined;
            externals.add(name);
            return { path: a.path, external: true };
          });
        },
      },
    ],
  });
  if (result.errors.length) throw new Error('esbuild failed');
  // Packages loaded through `createRequire(import.meta.url)` (CommonJS, loaded on first use).
  for (const file of readdirSync(lib).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(join(lib, file), 'utf8').matchAll(/\brequire\d*\(\s*["']((?:@[\w.-]+\/)?[\w.-]+)(?:\/[^"']*)?["']\s*\)/g)) {
      if (!isBuiltin(m[1]!)) externals.add(m[1]!);
    }
  }

  const declared = new Map<string, string>();
  for (const { json } of workspace.values()) {
    for (const [name, version] of Object.entries(json.dependencies ?? {})) if (!name.startsWith('@ssdk/') && version !== '*') declared.set(name, version);
  }
  // The embedded state database's thread (copied below) imports PGlite; the bundle does not.
  externals.add('@electric-sql/pglite');
  const undeclared = [...externals].filter((name) => !declared.has(name)).sort();
  if (undeclared.length) throw new Error(`imported but declared by no workspace package.json: ${undeclared.join(', ')}`);
  const dependencies = Object.fromEntries([...externals].sort().map((name) => [name, declared.get(name)!]));

  // Files read at run time, beside the code that reads them.
  copyFileSync(join(repo, 'libs/wasm-host/src/host/guest-worker.mjs'), join(lib, 'guest-worker.mjs'));
  // Native chains' ctx.http thread and the client it loads.
  copyFileSync(join(repo, 'libs/wasm-host/src/host/callout-worker.mjs'), join(lib, 'callout-worker.mjs'));
  copyFileSync(join(repo, 'libs/wasm-host/src/host/http-client.mjs'), join(lib, 'http-client.mjs'));
  // PGlite's thread (embedded state: a ctx.sql past its time ends it).
  copyFileSync(join(repo, 'libs/state/src/pglite-worker.mjs'), join(lib, 'pglite-worker.mjs'));
  mkdirSync(join(lib, 'guest'));
  for (const [name, file] of Object.entries(guestFiles())) copyFileSync(file, join(lib, 'guest', name));

  mkdirSync(join(out, 'bin'));
  const bin = (entry: string, body: string) => `#!/usr/bin/env node\n// Generated by tools/package/build.ts.\n${body.replace('ENTRY', `../lib/${entry}.js`)}\n`;
  writeFileSync(join(out, 'bin', 'ssdk.js'), bin('cli', "const { main } = await import('ENTRY');\nprocess.exitCode = await main(process.argv.slice(2));"), { mode: 0o755 });
  writeFileSync(join(out, 'bin', 'ssdk-dashboard.js'), bin('dashboard', "await import('ENTRY');"), { mode: 0o755 });

  cpSync(join(repo, 'docs'), join(out, 'docs'), { recursive: true, filter: (src) => !src.includes(`${join('docs', 'spikes')}`) });
  copyFileSync(join(repo, 'README.md'), join(out, 'README.md'));

  const pkg = {
    name: 'ssdk',
    version: root.version,
    description: root.description,
    license: root.license,
    type: 'module',
    engines: root.engines,
    bin: { ssdk: './bin/ssdk.js', 'ssdk-dashboard': './bin/ssdk-dashboard.js' },
    exports: { '.': './lib/cli.js', './package.json': './package.json' },
    files: ['bin', 'lib', 'docs', 'README.md'],
    dependencies,
  };
  writeFileSync(join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');

  const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', dirname(out)], { cwd: out, encoding: 'utf8' });
  const tarball = join(dirname(out), (JSON.parse(packed) as { filename: string }[])[0]!.filename);
  return { dir: out, tarball };
}

const BUILTINS = new Set(builtinModules);
const isBuiltin = (name: string): boolean => BUILTINS.has(name);

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { tarball } = await buildPackage();
  process.stdout.write(`${basename(tarball)}: ${tarball}\n`);
}
