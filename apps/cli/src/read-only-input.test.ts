/**
 * A filter that changes its input in place is refused by the commands that check a services
 * file, native and sandboxed alike (both check the same file): a user error, exit 2, the place
 * and the way out, no stack trace.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;

async function ssdk(...argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

const TENFOLD = `apiVersion: 0.5.0
meta: {name: tenfold, namespace: tests, version: 0.1.0}
types:
  reading:
    type: object
    properties:
      sensor: {type: string}
      n: {type: u32}
topics:
  in: {schema: {value: {type: reading}}}
  out: {schema: {value: {type: reading}}}
services:
  s:
    sources: [{type: topic, id: in}]
    transforms:
      - operator: filter
        run: |
          function tenfold(r: Reading): boolean {
            r.n *= 10;
            return r.n > 0;
          }
    sinks: [{type: topic, id: out}]
`;

const CASES = `tests:
  - name: tenfold
    inputs:
      - topic: in
        records: [{value: {sensor: a, n: 1}}]
    expect:
      out: {values: [{sensor: a, n: 10}]}
`;

const REFUSAL =
  'services.yaml:19:13: error: filter `s.tenfold` changes its input in place (`r.n *= …`): a filter passes the record on as it came; make the change in a map (or filter-map) step';

describe('ssdk - a step that passes its record on may only read its value', () => {
  for (const argv of [['validate'], ['test', '--native'], ['test', '--sandbox']]) {
    it(`ssdk ${argv.join(' ')} - a filter changing its input in place is a user error at its place, exit 2, no stack trace`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ssdk-read-only-'));
      await writeFile(join(dir, 'services.yaml'), TENFOLD);
      await writeFile(join(dir, 'services.test.yaml'), CASES);
      const r = await ssdk(argv[0]!, join(dir, 'services.yaml'), ...argv.slice(1));
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${join(dir, REFUSAL)}\n`);
      expect(r.err).not.toMatch(/^\s+at /m);
      expect(r.out).not.toMatch(/passed/);
    }, 120_000);
  }
});
