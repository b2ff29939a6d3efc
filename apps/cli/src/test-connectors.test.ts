/**
 * `ssdk test` and the connectors written inline in a services file: a source that ends by itself
 * (a nexmark-source) feeds every case, as `ssdk run` runs it; one that reaches outside the test
 * (a webhook, an HTTP endpoint) is not run, and the command says so instead of passing over it.
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

const SHOUT = `apiVersion: 0.5.0
meta: {name: shout, namespace: tests, version: 0.1.0}
config: {isolation: native}
topics:
  lines: {schema: {value: {type: string}}}
  loud: {schema: {value: {type: string}}}
services:
  shout:
    sources:
      - type: topic
        id: lines
        connector:
          meta: {name: lines-in, type: http-source}
          http: {mode: webhook, listen: "127.0.0.1:1", split: lines}
    transforms:
      - operator: map
        run: |
          function shout(line: string): string { return line.toUpperCase(); }
    sinks:
      - type: topic
        id: loud
        connector:
          meta: {name: loud-out, type: http-sink}
          http: {endpoint: "http://127.0.0.1:1/", body: array}
`;

async function shoutWith(cases: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-test-connectors-'));
  await writeFile(join(dir, 'services.yaml'), SHOUT);
  await writeFile(join(dir, 'services.test.yaml'), cases);
  return join(dir, 'services.yaml');
}

describe('ssdk test - inline connectors', () => {
  it('ssdk test - a case with no inputs is fed by the inline nexmark-source (q1 generated: its golden output)', async () => {
    const r = await ssdk('test', join(repo, 'examples/nexmark/q1/services.generated.yaml'), '--native');
    expect(r.out).toMatch(/^1 passed, 0 failed$/m);
    expect(r.code).toBe(0);
  }, 120_000);

  it('ssdk test - connectors that reach outside the test are not run, and it says so; the case feeds and checks their topics', async () => {
    const file = await shoutWith(`tests:
  - name: shouts
    inputs: [{topic: lines, records: [{value: hey}]}]
    expect: {loud: {values: [HEY]}}
`);
    const r = await ssdk('test', file, '--native');
    expect(r.err).toContain("note: `ssdk test` does not run the inline connector `lines-in` (http-source): it reaches outside the test; the cases' inputs feed topic `lines`");
    expect(r.err).toContain('note: `ssdk test` does not run the inline connector `loud-out` (http-sink): it reaches outside the test; the cases check topic `loud`');
    expect(r.out).toMatch(/^1 passed, 0 failed$/m);
    expect(r.code).toBe(0);
  });

  it('ssdk test - a case with no inputs and no source that feeds it by itself is a user error naming the case', async () => {
    const file = await shoutWith(`tests:
  - name: nothing in
    expect: {loud: {values: []}}
`);
    const r = await ssdk('test', file, '--native');
    expect(r.err).toContain('case `nothing in` has no inputs, and no inline source of this dataflow feeds it by itself (a nexmark-source): give it `inputs`');
    expect(r.code).toBe(2);
  });
});
