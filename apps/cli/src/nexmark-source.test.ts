/**
 * A services file whose source topic carries a nexmark-source (`examples/nexmark/q1/
 * services.generated.yaml`) runs with no input file: `ssdk run --until-idle` waits for the
 * generated events before it ends the input, and q1's output is the golden one, computed by the
 * reference script from `ssdk nexmark`'s file of the same events.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const example = join(repo, 'examples/nexmark/q1');

async function ssdk(...argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('nexmark-source', () => {
  it('nexmark-source - the generated q1 example validates', async () => {
    const r = await ssdk('validate', join(example, 'services.generated.yaml'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('nexmark-source - `ssdk run --until-idle` of q1 fed by its inline nexmark-source writes q1\'s golden output', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ssdk-nexmark-source-'));
    const r = await ssdk('run', join(example, 'services.generated.yaml'), '--output-dir', out, '--until-idle', '--native', '--ephemeral');
    expect(r.code).toBe(0);
    expect(r.err).toContain('[events-in] published events 0 to 1999; the input of `events` ends here');
    expect(await readdir(out)).toEqual(['q1.jsonl']);
    expect(await readFile(join(out, 'q1.jsonl'), 'utf8')).toBe(await readFile(join(example, 'expected/q1.jsonl'), 'utf8'));
  }, 120_000);
});
