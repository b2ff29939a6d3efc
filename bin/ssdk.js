#!/usr/bin/env node
// The `ssdk` command. The workspace runs its TypeScript sources directly: on Node 20 through
// tsx's loader (registered here, in-process, so there is no second Node start-up); Node 22.18+
// strips types natively and the same sources run unchanged (they use only erasable syntax).
//
// When `npm run package` has built the compiled command (dist/ssdk/lib/cli.js) and no source is
// newer than it, that runs instead: tsx's loader is most of a command's start (measured on
// `ssdk build`: ~0.9 CPU s from the sources, ~0.3 compiled; looking at the sources' times costs
// ~20 ms). SSDK_FROM_SOURCE=1 always runs the sources.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const compiled = join(repo, 'dist', 'ssdk', 'lib', 'cli.js');

/** Whether the compiled command is at least as new as every source it was built from. */
function compiledIsFresh() {
  let built;
  try {
    built = statSync(compiled).mtimeMs;
  } catch {
    return false;
  }
  const newer = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      if (e.isDirectory() ? newer(path) : statSync(path).mtimeMs > built) return true;
    }
    return false;
  };
  if (statSync(join(repo, 'package.json')).mtimeMs > built) return false;
  for (const group of ['apps', 'libs']) {
    for (const project of readdirSync(join(repo, group))) if (newer(join(repo, group, project, 'src'))) return false;
  }
  return true;
}

let main;
if (process.env.SSDK_FROM_SOURCE !== '1' && compiledIsFresh()) {
  ({ main } = await import(compiled));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../apps/cli/src/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
