/**
 * The corpus of broken services files (fixtures/invalid): each file states, in its header, every
 * diagnostic `ssdk validate` must print for it — position, severity, message and hint — and this
 * test holds the CLI to exactly that list.
 *
 *   # expect: 14:7: error: unknown key `sourcse` in service `word-counter`
 *   # expect-hint: did you mean `sources`?
 *
 * A diagnostic in another file (a `uses:` module) names it relative to the corpus folder:
 * `# expect: functions/broken-filter.ts:2:24: error: …`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFunctionCode } from '@ssdk/functions';
import { checkServicesFile } from '@ssdk/plan';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const corpus = 'fixtures/invalid';
const files = (await readdir(join(repo, corpus))).filter((name) => name.endsWith('.yaml')).sort();

interface Printed {
  /** Another file than the services file, relative to the corpus folder. */
  file?: string;
  line: number;
  col: number;
  severity: string;
  message: string;
  hint?: string;
}

const DIAGNOSTIC = /^(?:([\w./-]+\.ts):)?(\d+):(\d+): (error|warning): (.+)$/;

function printed(m: RegExpExecArray): Printed {
  return { ...(m[1] ? { file: m[1] } : {}), line: Number(m[2]), col: Number(m[3]), severity: m[4] as string, message: m[5] as string };
}

/** The `# expect:` / `# expect-hint:` lines at the top of a corpus file. */
function expectedOf(text: string, name: string): Printed[] {
  const expected: Printed[] = [];
  for (const line of text.split('\n')) {
    const hint = /^# expect-hint: (.+)$/.exec(line);
    if (hint) {
      const last = expected[expected.length - 1];
      if (!last || last.hint !== undefined) throw new Error(`${name}: \`# expect-hint:\` without its \`# expect:\` line`);
      last.hint = hint[1] as string;
      continue;
    }
    const diag = /^# expect: (.+)$/.exec(line);
    if (!diag) break;
    const m = DIAGNOSTIC.exec(diag[1] as string);
    if (!m) throw new Error(`${name}: malformed header line: ${line}`);
    expected.push(printed(m));
  }
  return expected;
}

/** What `ssdk validate` printed: `PATH:LINE:COL: SEVERITY: MESSAGE`, each optionally followed by `  hint: HINT`. */
function printedOf(stderr: string, path: string): { diagnostics: Printed[]; other: string[] } {
  const diagnostics: Printed[] = [];
  const other: string[] = [];
  const summary = new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ errors?(, \\d+ warnings?)?(; .*type-checked once (these are|they are) fixed.*)?$`);
  for (const line of stderr.split('\n')) {
    if (line === '' || summary.test(line)) continue;
    const hint = /^ {2}hint: (.+)$/.exec(line);
    const last = diagnostics[diagnostics.length - 1];
    if (hint && last && last.hint === undefined) {
      last.hint = hint[1] as string;
      continue;
    }
    const m = line.startsWith(`${path}:`)
      ? DIAGNOSTIC.exec(line.slice(path.length + 1))
      : line.startsWith(`${dirname(path)}/`)
        ? DIAGNOSTIC.exec(line.slice(dirname(path).length + 1))
        : null;
    if (m && (m[1] === undefined) === line.startsWith(`${path}:`)) diagnostics.push(printed(m));
    else other.push(line);
  }
  return { diagnostics, other };
}

describe('invalid corpus', () => {
  it.each(files)('corpus - `ssdk validate` prints exactly the expected diagnostics of %s', async (name) => {
    const path = join(repo, corpus, name);
    const expected = expectedOf(await readFile(path, 'utf8'), name);
    expect(expected.length, `${name} has no \`# expect:\` header`).toBeGreaterThan(0);

    const io = bufferIo(repo);
    const code = await main(['validate', path], io);
    const stderr = io.stderr();
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(2);
    expect(io.stdout()).toBe('');
    const printed = printedOf(stderr, path);
    expect(printed.other).toEqual([]);
    expect(printed.diagnostics).toEqual(expected);
  });

  it('corpus - file names are `NN-what-is-wrong.yaml`, numbered once each', () => {
    for (const name of files) expect(name).toMatch(/^\d{2}-[a-z0-9]+(-[a-z0-9]+)*\.yaml$/);
    const numbers = files.map((name) => name.slice(0, 2));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('corpus - at least 40 files covering at least 40 distinct diagnostic codes, in all three shapes', async () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    const codes = new Set<string>();
    const dialects = new Set<string>();
    for (const name of files) {
      const { dataflow, diagnostics } = await checkServicesFile(join(repo, corpus, name), { checkCode: checkFunctionCode });
      for (const d of diagnostics) codes.add(d.code);
      if (dataflow.apiVersion !== '') dialects.add(dataflow.dialect);
    }
    expect(codes.size, [...codes].sort().join(', ')).toBeGreaterThanOrEqual(40);
    expect([...dialects].sort()).toEqual(['dataflow', 'preview', 'seed']);
  });
});
