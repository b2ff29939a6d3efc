/**
 * The corpus of broken services files (fixtures/invalid): each file states, in its header, every
 * diagnostic `ssdk validate` must print for it — position, severity, message and hint — and this
 * test holds the CLI to exactly that list.
 *
 *   # expect: 14:7: error: unknown key `sourcse` in service `word-counter`
 *   # expect-hint: did you mean `sources`?
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAndCheck } from './dataflow.ts';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const corpus = 'fixtures/invalid';
const files = (await readdir(join(repo, corpus))).filter((name) => name.endsWith('.yaml')).sort();

interface Printed {
  line: number;
  col: number;
  severity: string;
  message: string;
  hint?: string;
}

const DIAGNOSTIC = /^(\d+):(\d+): (error|warning): (.+)$/;

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
    expected.push({ line: Number(m[1]), col: Number(m[2]), severity: m[3] as string, message: m[4] as string });
  }
  return expected;
}

/** What `ssdk validate` printed: `PATH:LINE:COL: SEVERITY: MESSAGE`, each optionally followed by `  hint: HINT`. */
function printedOf(stderr: string, path: string): { diagnostics: Printed[]; other: string[] } {
  const diagnostics: Printed[] = [];
  const other: string[] = [];
  const summary = new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ errors?(, \\d+ warnings?)?$`);
  for (const line of stderr.split('\n')) {
    if (line === '' || summary.test(line)) continue;
    const hint = /^ {2}hint: (.+)$/.exec(line);
    const last = diagnostics[diagnostics.length - 1];
    if (hint && last && last.hint === undefined) {
      last.hint = hint[1] as string;
      continue;
    }
    const m = line.startsWith(`${path}:`) ? DIAGNOSTIC.exec(line.slice(path.length + 1)) : null;
    if (m) diagnostics.push({ line: Number(m[1]), col: Number(m[2]), severity: m[3] as string, message: m[4] as string });
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
      const { dataflow, diagnostics } = await loadAndCheck(join(repo, corpus, name));
      for (const d of diagnostics) codes.add(d.code);
      if (dataflow.apiVersion !== '') dialects.add(dataflow.dialect);
    }
    expect(codes.size, [...codes].sort().join(', ')).toBeGreaterThanOrEqual(40);
    expect([...dialects].sort()).toEqual(['dataflow', 'preview', 'seed']);
  });
});
