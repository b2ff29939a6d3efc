import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const examples = (await readdir(join(repo, 'examples'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);

async function ssdk(...argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('examples', () => {
  it('examples - there are at least four, each with a services file and test cases', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(examples)('examples - `%s` validates', async (name) => {
    const r = await ssdk('validate', `examples/${name}/services.yaml`);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('valid');
  });

  it.each(examples)('examples - `ssdk test` reproduces the golden outputs of `%s` on the embedded runtime', async (name) => {
    const r = await ssdk('test', join(repo, 'examples', name, 'services.yaml'));
    expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.code).toBe(0);
  });

  it('examples - `ssdk run --until-idle` writes each output topic as JSON lines equal to the golden files', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ssdk-run-'));
    const ex = join(repo, 'examples', 'word-count');
    const r = await ssdk('run', join(ex, 'services.yaml'), '--input', `sentences=${join(ex, 'input/sentences.jsonl')}`, '--records', '--output-dir', out, '--until-idle', '--dump-state', '--ephemeral');
    expect(r.code).toBe(0);
    expect(r.err).toContain('14 late records went to late-events topics');
    expect((await readdir(out)).sort()).toEqual(['state', 'top-words.jsonl', 'top-words.late-events.jsonl', 'words.jsonl']);
    expect(await readFile(join(out, 'top-words.jsonl'), 'utf8')).toBe(await readFile(join(ex, 'expected/top-words.jsonl'), 'utf8'));
    const sorted = async (p: string) => (await readFile(p, 'utf8')).trim().split('\n').sort();
    expect(await sorted(join(out, 'words.jsonl'))).toEqual(await sorted(join(ex, 'expected/words.jsonl')));
    expect(JSON.parse(await readFile(join(out, 'state/word-totals.json'), 'utf8'))).toEqual(JSON.parse(await readFile(join(ex, 'expected/state/word-totals.json'), 'utf8')));
  });

  it('examples - a case that does not hold fails with a diff and exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-test-'));
    const cases = join(dir, 'cases.test.yaml');
    await writeFile(
      cases,
      'tests:\n  - name: wrong count\n    inputs:\n      - topic: sentences\n        records: [{value: "river river", timestamp: 1736154000000}]\n    expect:\n      top-words:\n        values: [[{word: river, count: 3}]]\n',
    );
    const r = await ssdk('test', join(repo, 'examples/word-count/services.yaml'), '--cases', cases);
    expect(r.code).toBe(1);
    expect(r.out).toContain('✗ wrong count');
    expect(r.out).toContain('topic top-words: 1 missing, 1 unexpected (of 1 expected, 1 actual):');
    expect(r.out).toContain('- [{"count":3,"word":"river"}]');
    expect(r.out).toContain('+ [{"count":2,"word":"river"}]');
    expect(r.out).toContain('0 passed, 1 failed');
  });

  it('examples - a bad test file is a user error with the path of the problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-test-'));
    const cases = join(dir, 'bad.test.yaml');
    await writeFile(cases, 'tests:\n  - name: x\n    inputs:\n      - topc: sentences\n');
    const r = await ssdk('test', join(repo, 'examples/word-count/services.yaml'), '--cases', cases);
    expect(r.code).toBe(2);
    expect(r.err).toContain('tests[0].inputs[0]');
  });
});

describe('examples - restart', () => {
  it('examples - half the input, stop, the rest with --resume: outputs and state equal one uninterrupted run', async () => {
    const ex = join(repo, 'examples', 'word-count');
    const lines = (await readFile(join(ex, 'input/sentences.jsonl'), 'utf8')).trim().split('\n');
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-restart-'));
    await writeFile(join(dir, 'first.jsonl'), lines.slice(0, 102).join('\n') + '\n');
    await writeFile(join(dir, 'second.jsonl'), lines.slice(102).join('\n') + '\n');
    const common = [join(ex, 'services.yaml'), '--records', '--until-idle', '--state-dir', join(dir, 'state')];
    const first = await ssdk('run', ...common, '-i', `sentences=${join(dir, 'first.jsonl')}`, '-o', join(dir, 'out1'), '--no-end');
    expect(first.code).toBe(0);
    const second = await ssdk('run', ...common, '-i', `sentences=${join(dir, 'second.jsonl')}`, '-o', join(dir, 'out2'), '--resume', '--dump-state');
    expect(second.code).toBe(0);
    const read = async (p: string) => (await readFile(p, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
    expect([...(await read(join(dir, 'out1/top-words.jsonl'))), ...(await read(join(dir, 'out2/top-words.jsonl')))]).toEqual(await read(join(ex, 'expected/top-words.jsonl')));
    expect([...(await read(join(dir, 'out1/top-words.late-events.jsonl'))), ...(await read(join(dir, 'out2/top-words.late-events.jsonl')))]).toEqual(
      await read(join(ex, 'expected/top-words.late-events.jsonl')),
    );
    expect(JSON.parse(await readFile(join(dir, 'out2/state/word-totals.json'), 'utf8'))).toEqual(JSON.parse(await readFile(join(ex, 'expected/state/word-totals.json'), 'utf8')));
  }, 120_000);
});

describe('examples - sandboxed functions', () => {
  // Components are built once per content hash; a shared cache keeps reruns fast.
  process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');

  it.each(['word-count', 'wat-filter'])(
    'examples - `ssdk test --sandbox` reproduces `%s` with its functions as WebAssembly components',
    async (name) => {
      const r = await ssdk('test', join(repo, 'examples', name, 'services.yaml'), '--sandbox');
      expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
      expect(r.code).toBe(0);
    },
    180_000,
  );
});
