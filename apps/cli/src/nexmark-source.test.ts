/**
 * A services file whose source topic carries a nexmark-source (`examples/nexmark/q1/
 * services.generated.yaml`) runs with no input file: `ssdk run --until-idle` waits for the
 * generated events before it ends the input, and q1's output is the golden one, computed by the
 * reference script from `ssdk nexmark`'s file of the same events. The source ends its topic's
 * input itself: with `--no-end` (the run ends nothing), q5's last windows still close.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
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
  it('nexmark-source - the source ends its topic\'s input itself: q5 fed by it with `--no-end` closes its last windows, q5\'s golden output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-nexmark-source-'));
    const q5 = await readFile(join(repo, 'examples/nexmark/q5/services.yaml'), 'utf8');
    const source = '      - type: topic\n        id: events\n';
    expect(q5).toContain(source);
    const file = join(dir, 'services.yaml');
    await writeFile(file, q5.replace(source, `${source}        connector:\n          meta: {name: events-in, type: nexmark-source}\n          nexmark: {events: 2000, seed: 1, rate: 50, base-time: 1735718380000}\n`));
    const out = join(dir, 'out');
    const r = await ssdk('run', file, '--output-dir', out, '--until-idle', '--no-end', '--native', '--ephemeral');
    expect(r.code).toBe(0);
    expect(await readFile(join(out, 'q5.jsonl'), 'utf8')).toBe(await readFile(join(repo, 'examples/nexmark/q5/expected/q5.jsonl'), 'utf8'));
  }, 120_000);
});
