/**
 * Regenerates the golden plans: `examples/<name>/expected/plan.json` is exactly what
 * `ssdk plan examples/<name>/services.yaml --format json` prints (default options).
 * apps/cli/src/plan-golden.test.ts compares against them.
 *
 *   npx tsx tools/update-goldens.ts               # every example
 *   npx tsx tools/update-goldens.ts word-count    # only the named examples
 *   npx tsx tools/update-goldens.ts --check       # write nothing; exit 1 when a golden is stale
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bufferIo, main } from '@ssdk/cli';

const repo = new URL('../', import.meta.url).pathname;
const args = process.argv.slice(2);
const check = args.includes('--check');
const only = args.filter((a) => !a.startsWith('--'));
const examples = readdirSync(join(repo, 'examples'))
  .filter((name) => existsSync(join(repo, 'examples', name, 'services.yaml')))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

let failed = 0;
for (const name of examples) {
  const io = bufferIo(repo);
  const code = await main(['plan', `examples/${name}/services.yaml`, '--format', 'json'], io);
  if (code !== 0) {
    process.stderr.write(`${name}: ssdk plan exited with ${code}\n${io.stderr()}`);
    failed++;
    continue;
  }
  const golden = join(repo, 'examples', name, 'expected', 'plan.json');
  const current = existsSync(golden) ? readFileSync(golden, 'utf8') : undefined;
  if (current === io.stdout()) continue;
  if (check) {
    process.stderr.write(`${name}: expected/plan.json is out of date\n`);
    failed++;
  } else {
    writeFileSync(golden, io.stdout());
    process.stdout.write(`${name}: wrote expected/plan.json\n`);
  }
}
if (only.length > examples.length) {
  process.stderr.write(`no such example: ${only.filter((n) => !examples.includes(n)).join(', ')}\n`);
  failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
