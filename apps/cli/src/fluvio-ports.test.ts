/**
 * Three of InfinyOn's Stateful DataFlow examples, ported (function bodies only) under
 * examples/fluvio-ports: two dataflows whose functions come from packages (mask-user-pii,
 * split-sentence), and primitives/sql/join, whose SQL runs as written for SDF. Each run equals the
 * golden output that examples/fluvio-ports/reference.mjs computes from the Rust semantics.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');
const PORTS = ['dataflows/mask-user-pii/package-variant', 'dataflows/split-sentence/package-variant', 'primitives/sql/join'];

async function ssdk(...argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

const file = (port: string) => join(repo, 'examples/fluvio-ports', port, 'dataflow.yaml');

describe('Fluvio examples, ported', () => {
  it.each(PORTS)('fluvio ports - `%s` validates', async (port) => {
    const r = await ssdk('validate', file(port));
    expect(r.err).toBe('');
    expect(r.out).toContain('valid');
    expect(r.code).toBe(0);
  });

  it.each(PORTS)('fluvio ports - `ssdk test --native` of `%s` equals the reference', async (port) => {
    const r = await ssdk('test', file(port), '--native');
    expect(r.out).toMatch(/^1 passed, 0 failed$/m);
    expect(r.code).toBe(0);
  }, 300_000);

  it.each(PORTS)('fluvio ports - `ssdk test` of `%s`, sandboxed (the default), equals the reference', async (port) => {
    const r = await ssdk('test', file(port));
    expect(r.out).toMatch(/^1 passed, 0 failed$/m);
    expect(r.code).toBe(0);
  }, 600_000);

  it('fluvio ports - `ssdk test --function` calls a package function on one value', async () => {
    const r = await ssdk('test', join(repo, 'examples/fluvio-ports/packages/mask-ssn/sdf-package.yaml'), '--function', 'mask-ssn', '--value', '"ssn 123-45-6789, not 1234-56-789"');
    expect(r.out).toBe('"ssn ***-**-****, not 1234-56-789"\n');
    expect(r.code).toBe(0);
  });

  it('fluvio ports - a package function still in Rust is refused with the TypeScript signature, exit 2', async () => {
    const pkg = join(repo, 'fixtures/fluvio-corpus/infinyon/stateful-dataflows-examples/packages/parse-sentence/sdf-package.yaml');
    const r = await ssdk('test', pkg, '--function', 'word-length', '--value', '"x"');
    expect(r.err).toMatch(/sdf-package\.yaml:\d+:3: error: function `word-length` of package `example\/parse-sentence@0\.1\.0` has no TypeScript body/);
    expect(r.err).toContain('export function wordLength(word: string): number');
    expect(r.err).not.toContain('sentence-to-words');
    expect(r.code).toBe(2);
  });
});
