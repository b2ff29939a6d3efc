// One-line breakages of the examples, each run through `ssdk validate` in-process: what a user
// who deletes a line or swaps two letters sees. Prints one JSON line per run (the example, the
// edit, the exit code, every diagnostic printed, and anything else printed: a stack trace, a
// crash), to compare two trees' answers (`--every N`: every Nth line, default 4). `--mismatch`
// first breaks each example's last service's types (a step's parameter that does not take what
// arrives): a breakage elsewhere should leave that error reported, and add none of its own.
//   npx tsx tools/fuzz-one-line.ts [--mismatch] > /tmp/mine.jsonl
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { bufferIo, main } from '@ssdk/cli';

const repo = new URL('../', import.meta.url).pathname;
const EXAMPLES = ['word-count', 'car-sensors', 'page-views', 'seed-pipeline', 'word-probe', 'wat-filter'];
const { values } = parseArgs({ options: { every: { type: 'string', default: '4' }, mismatch: { type: 'boolean', default: false } } });
/** A type mismatch in each example's last service (the seed's in the function its last operation uses). */
const MISMATCH: Readonly<Record<string, [string, string]>> = {
  'word-count': ['function keyWindowWord(word: string)', 'function keyWindowWord(word: number)'],
  'car-sensors': ['function windowKeyByCar(event: CarEvent)', 'function windowKeyByCar(event: string)'],
  'page-views': ['function keyByPage(view: PageView)', 'function keyByPage(view: string)'],
  'seed-pipeline': ['  flag-payment:\n    type: filter-map\n    inputs:\n      - name: payment\n        type: payment', '  flag-payment:\n    type: filter-map\n    inputs:\n      - name: payment\n        type: order'],
  'word-probe': ['function lookupWordCount(probe: string', 'function lookupWordCount(probe: number'],
  'wat-filter': ['', ''],
};
const every = Number(values.every);

/** Two letters swapped in the line's first word of three letters or more; undefined when it has none. */
function swapLetters(line: string): string | undefined {
  const m = /[A-Za-z]{3,}/.exec(line);
  if (!m) return undefined;
  const at = m.index + 1;
  return line.slice(0, at) + line[at + 1] + line[at] + line.slice(at + 2);
}

const DIAGNOSTIC = /^(?<file>[^\s:]+):(?<line>\d+):(?<col>\d+): (?<severity>error|warning): (?<message>.*)$/;

for (const example of EXAMPLES) {
  const source = join(repo, 'examples', example);
  const [was, is] = MISMATCH[example]!;
  const original = readFileSync(join(source, 'services.yaml'), 'utf8');
  const text = values.mismatch ? original.replace(was, is) : original;
  if (values.mismatch && was && text === original) throw new Error(`${example}: the mismatch's text is not in the file`);
  const lines = text.split('\n');
  const dir = mkdtempSync(join(tmpdir(), `ssdk-fuzz-${example}-`));
  cpSync(source, dir, { recursive: true, filter: (p) => !p.includes('/.ssdk') });
  const file = join(dir, 'services.yaml');
  for (let i = 0; i < lines.length; i += every) {
    const edits: Array<[string, string[]]> = [['delete', [...lines.slice(0, i), ...lines.slice(i + 1)]]];
    const swapped = swapLetters(lines[i] ?? '');
    if (swapped !== undefined) edits.push(['swap', [...lines.slice(0, i), swapped, ...lines.slice(i + 1)]]);
    for (const [edit, edited] of edits) {
      writeFileSync(file, edited.join('\n'));
      const io = bufferIo(dirname(file));
      let exit: number | string;
      try {
        exit = await main(['validate', file], io);
      } catch (err) {
        exit = `threw: ${err instanceof Error ? err.stack : String(err)}`;
      }
      const diagnostics: string[] = [];
      const other: string[] = [];
      for (const l of io.stderr().split('\n')) {
        const d = DIAGNOSTIC.exec(l);
        if (d?.groups) diagnostics.push(`${d.groups['file'] === file ? '' : `${d.groups['file']!.replace(dir, '')}:`}${d.groups['line']}:${d.groups['col']}: ${d.groups['severity']}: ${d.groups['message']}`);
        else if (l && !l.startsWith('  hint: ') && !l.startsWith(`${file}: `)) other.push(l);
      }
      console.log(JSON.stringify({ example, edit, line: i + 1, exit, diagnostics, other }));
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
