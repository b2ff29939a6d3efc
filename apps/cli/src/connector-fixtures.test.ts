/**
 * Connector files (fixtures/connectors): Fluvio's published examples and ssdk's own. Each reads
 * as valid, or fails with exactly the error codes fixtures/connectors/README.md lists for it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const root = join(repo, 'fixtures/connectors');
const readme = await readFile(join(root, 'README.md'), 'utf8');
const files = (await readdir(root, { recursive: true })).filter((path) => path.endsWith('.yaml')).sort();
/** `| [fluvio/x.yaml](...) | origin | valid |` or `| ... | invalid-name (why) |`. */
const table = new Map(
  [...readme.matchAll(/^\| \[([\w./-]+\.yaml)\]\([^)]*\) \| [^|]* \| ([^|]*) \|$/gm)].map((m) => [
    m[1] as string,
    m[2]!.trim() === 'valid' ? [] : m[2]!.replace(/\(.*\)/, '').split(',').map((code) => code.trim()).sort(),
  ]),
);

async function validate(path: string) {
  const io = bufferIo(repo);
  const code = await main(['validate', path], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

const examples = (await readdir(join(repo, 'examples/connectors'))).filter((path) => path.endsWith('.yaml')).sort();

describe('connector fixtures', () => {
  it.each(examples)('connector examples - examples/connectors/%s is valid', async (path) => {
    const { code, out } = await validate(join(repo, 'examples/connectors', path));
    expect(out).toContain('valid — connector');
    expect(code).toBe(0);
  });

  it('connector fixtures - the README lists every file with its origin and what validate says', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect([...table.keys()].sort()).toEqual(files);
  });

  it.each(files)('connector fixtures - validate %s', async (path) => {
    const { code, out, err } = await validate(join(root, path));
    const expected = table.get(path) ?? [];
    const codes = [...err.matchAll(/^\S+:\d+:\d+: error: /gm)].length;
    expect(codes).toBe(expected.length);
    if (expected.length === 0) {
      expect(code).toBe(0);
      expect(out).toContain('valid — connector');
    } else {
      expect(code).toBe(2);
      expect(err).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});
