// Rewrites the `# expect:` headers of fixtures/invalid files from what `ssdk validate` prints
// now (run after a deliberate change to a diagnostic, then read the diff):
//   npx tsx tools/bless-invalid-fixtures.ts fixtures/invalid/*.yaml
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { bufferIo, main } from '@ssdk/cli';

const repo = new URL('../', import.meta.url).pathname.replace(/\/$/, '');
const HEADER = /^# expect(-hint)?:/;

async function run(path: string) {
  const io = bufferIo(repo);
  const code = await main(['validate', path], io);
  return { code, err: io.stderr(), out: io.stdout() };
}

function headerFrom(err: string, path: string): string[] {
  const lines: string[] = [];
  for (const line of err.split('\n')) {
    if (line.startsWith(`${path}:`)) {
      const rest = line.slice(path.length + 1);
      if (/^\d+:\d+: /.test(rest)) lines.push(`# expect: ${rest}`);
    } else if (line.startsWith(`${dirname(path)}/`) && /^[\w./-]+\.ts:\d+:\d+: /.test(line.slice(dirname(path).length + 1))) {
      // A diagnostic in a `uses:` module, named relative to the corpus folder.
      lines.push(`# expect: ${line.slice(dirname(path).length + 1)}`);
    } else if (line.startsWith('  hint: ')) {
      lines.push(`# expect-hint: ${line.slice(8)}`);
    }
  }
  return lines;
}

for (const arg of process.argv.slice(2)) {
  const path = relative(repo, arg.startsWith('/') ? arg : `${repo}/${arg}`);
  const text = readFileSync(`${repo}/${path}`, 'utf8');
  const all = text.split('\n');
  let i = 0;
  while (i < all.length && HEADER.test(all[i] ?? '')) i++;
  const body = all.slice(i).join('\n');
  let header: string[] = [];
  for (let round = 0; round < 6; round++) {
    writeFileSync(`${repo}/${path}`, [...header, body].join('\n'));
    const r = await run(path);
    const next = headerFrom(r.err, path);
    if (JSON.stringify(next) === JSON.stringify(header)) {
      console.log(`=== ${path} (exit ${r.code})`);
      console.log(r.err.trimEnd());
      if (r.out) console.log('STDOUT: ' + r.out.trimEnd());
      break;
    }
    header = next;
  }
}
