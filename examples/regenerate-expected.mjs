#!/usr/bin/env node
// Rebuilds every example's golden outputs: runs examples/<name>/reference.mjs for each example
// (plain Node, no ssdk), then checks that every .jsonl line under input/ and expected/ parses as
// JSON and that every expected/state/*.json file parses.
//
//   node examples/regenerate-expected.mjs                # expected/ from the committed input/
//   node examples/regenerate-expected.mjs --write-input  # also regenerate input/ (seeded)
//   node examples/regenerate-expected.mjs word-count     # only the named examples
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const forward = args.filter((a) => a === '--write-input');
const only = args.filter((a) => !a.startsWith('--'));

const examples = readdirSync(here)
  .filter((name) => existsSync(join(here, name, 'reference.mjs')))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

if (only.length > 0 && examples.length !== only.length) {
  const missing = only.filter((n) => !examples.includes(n));
  console.error(`no such example: ${missing.join(', ')}`);
  process.exit(2);
}

function* files(dir, suffix) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path, suffix);
    else if (name.endsWith(suffix)) yield path;
  }
}

let failed = 0;
for (const name of examples) {
  const result = spawnSync(process.execPath, [join(here, name, 'reference.mjs'), ...forward], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.error(`${name}: reference.mjs exited with ${result.status ?? result.signal}`);
    failed++;
    continue;
  }
  for (const sub of ['input', 'expected']) {
    for (const path of files(join(here, name, sub), '.jsonl')) {
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line === '') return;
          try {
            JSON.parse(line);
          } catch (err) {
            console.error(`${relative(here, path)}:${i + 1}: not JSON: ${err.message}`);
            failed++;
          }
        });
    }
  }
  for (const path of files(join(here, name, 'expected', 'state'), '.json')) {
    try {
      JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      console.error(`${relative(here, path)}: not JSON: ${err.message}`);
      failed++;
    }
  }
}

if (failed > 0) {
  console.error(`${failed} problem(s)`);
  process.exit(1);
}
console.log(`regenerated ${examples.length} example(s): ${examples.join(', ')}`);
