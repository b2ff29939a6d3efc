/**
 * The valid fixtures (fixtures/valid): every shape of the services file must read as valid.
 * Files written for Fluvio's tools keep their Rust bodies, each reported once, at its `run:`
 * line, as a function to port — the lines fixtures/valid/README.md lists.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFunctionCode } from '@ssdk/functions';
import { checkServicesFile } from '@ssdk/plan';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const root = 'fixtures/valid';
const readme = await readFile(join(repo, root, 'README.md'), 'utf8');

/**
 * The services files, as paths relative to fixtures/valid (`seed/ticket-routing.yaml`); `*.test.yaml` are their cases.
 * Packages a fixture imports (`packages/<name>/sdf-package.yaml`) are support files, as `seed/functions/` is.
 */
const all = (await readdir(join(repo, root), { recursive: true })).map((path) => path.split('\\').join('/'));
const files = all
  .filter((path) => path.endsWith('.yaml') && !path.endsWith('.test.yaml') && !path.includes('/packages/'))
  .sort();
const withCases = files.filter((path) => all.includes(path.replace(/\.yaml$/, '.test.yaml')));

/** The README's table: `| [seed/x.yaml](seed/x.yaml) | seed | 0.1.0 | ...`. */
const table = new Map(
  [...readme.matchAll(/^\| \[([\w./-]+\.yaml)\]\([^)]*\) \| (\w+) \| ([\d.]+) \|/gm)].map((m) => [
    m[1] as string,
    { shape: m[2] as string, apiVersion: m[3] as string },
  ]),
);

/** The README's plain lists: ``- `preview/x.yaml`: 68, 78, 84``. */
const rustLines = new Map(
  [...readme.matchAll(/^- `([\w./-]+\.yaml)`: (\d+(?:, \d+)*)$/gm)].map((m) => [m[1] as string, (m[2] as string).split(', ').map(Number)]),
);

async function ssdk(...argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('valid fixtures', () => {
  it('fixtures - the README lists every fixture, and every listed fixture exists', () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
    expect([...table.keys()].sort()).toEqual(files);
    for (const path of rustLines.keys()) expect(files).toContain(path);
  });

  it.each(files)('fixtures - %s parses in its shape, with no error but Rust bodies to port', async (path) => {
    const { dataflow, diagnostics } = await checkServicesFile(join(repo, root, path), { checkCode: checkFunctionCode });
    const listed = table.get(path);
    expect(dataflow.dialect).toBe(path.split('/')[0]);
    expect(dataflow.dialect).toBe(listed?.shape);
    expect(dataflow.apiVersion).toBe(listed?.apiVersion);

    const unexpected = diagnostics.filter((d) =>
      d.severity === 'error' ? d.code !== 'rust-function' : d.code !== 'rust-dependency',
    );
    expect(unexpected.map((d) => `${d.pos.line}:${d.pos.col}: ${d.severity} ${d.code}: ${d.message}`)).toEqual([]);

    const rust = diagnostics.filter((d) => d.code === 'rust-function');
    expect(rust.map((d) => d.pos.line)).toEqual(rustLines.get(path) ?? []);
    for (const d of rust) {
      expect(d.severity).toBe('error');
      expect(d.hint).toContain('port it to TypeScript: function ');
    }
  });

  it.each(files)('fixtures - `ssdk validate` and `ssdk plan --format json` accept %s (Rust bodies fail validate only)', async (path) => {
    const file = join(repo, root, path);
    const hasRust = rustLines.has(path);

    const validate = await ssdk('validate', file);
    expect(validate.err).not.toMatch(/\n\s+at /);
    if (hasRust) {
      expect(validate.code).toBe(2);
      expect(validate.err).toMatch(/: error: function `[\w-]+` is written in Rust; ssdk runs TypeScript functions$/m);
    } else {
      expect(validate.err).toBe('');
      expect(validate.code).toBe(0);
      expect(validate.out).toContain(`${file}: valid`);
    }

    const plan = await ssdk('plan', file, '--format', 'json');
    expect(plan.err).not.toMatch(/: error: /);
    expect(plan.code).toBe(0);
    const document = JSON.parse(plan.out) as { hash: string; dataflow: { dialect: string } };
    expect(document.dataflow.dialect).toBe(path.split('/')[0]);
    expect(document.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  // Run, not only validated: every good record of the cases goes through, none dead-lettered
  // (`ssdk test` fails on any dead letter a case does not expect). Native, to stay cheap.
  it.each(withCases)('fixtures - %s runs its cases with no record dead-lettered', async (path) => {
    const run = await ssdk('test', join(repo, root, path), '--native');
    expect(run.out + run.err).toMatch(/ passed, 0 failed/);
    expect(run.code).toBe(0);
  }, 120_000);
});
