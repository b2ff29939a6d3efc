#!/usr/bin/env node
// Removes from an installed folder (`node tools/docker/prune.mjs DIR PACKAGE...`) the packages
// that only PACKAGE... need: every package under DIR/node_modules that the root's dependencies
// no longer reach once PACKAGE... are left out, resolved as Node resolves them (the nearest
// node_modules up the tree). image.sh leaves out componentize-js: it compiles ssdk's engine
// component, which the image carries built (one per world), and with jco's tool chain under it
// (binaryen, rolldown, two TypeScripts, QuickJS, wizer) it was ~360 of the image's 815 MB.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const [root, ...left] = process.argv.slice(2);
if (!root || left.length === 0) {
  process.stderr.write('usage: prune.mjs DIR PACKAGE...\n');
  process.exit(2);
}
const modules = join(root, 'node_modules');
const json = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const depsOf = (pkg) => Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies });

/** The folder `name` resolves to from package folder `from` (undefined: not installed, e.g. an optional one). */
function resolvePackage(from, name) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

const reached = new Set();
const queue = [root];
const skip = new Set(left);
while (queue.length > 0) {
  const dir = queue.pop();
  for (const name of depsOf(json(dir))) {
    if (skip.has(name)) continue;
    const found = resolvePackage(dir, name);
    if (found && !reached.has(found)) {
      reached.add(found);
      queue.push(found);
    }
  }
}

/** Every installed package folder (scoped and nested ones too). */
function* installed(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      for (const scoped of readdirSync(path, { withFileTypes: true })) if (scoped.isDirectory()) yield* packageAt(join(path, scoped.name));
    } else yield* packageAt(path);
  }
}
function* packageAt(path) {
  if (!existsSync(join(path, 'package.json'))) return;
  yield path;
  yield* installed(join(path, 'node_modules'));
}

let removed = 0;
for (const path of [...installed(modules)]) {
  if (reached.has(path) || !existsSync(path)) continue;
  rmSync(path, { recursive: true, force: true });
  removed++;
}
// npm's record of the tree would list what is gone.
rmSync(join(modules, '.package-lock.json'), { force: true });
process.stdout.write(`pruned ${removed} packages only ${left.join(', ')} needed from ${relative(process.cwd(), modules) || modules}\n`);
