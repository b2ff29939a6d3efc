import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
// Functions are sandboxed by default: each dataflow's component is built once per content hash,
// and this cache (shared by every test file and run) keeps that to once.
process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');
// An example is a folder with a services file: `examples/<name>/`, or one level deeper where a
// family of dataflows shares its input (`examples/nexmark/q5/`).
const examples: string[] = [];
for (const d of await readdir(join(repo, 'examples'), { withFileTypes: true })) {
  if (!d.isDirectory()) continue;
  if (existsSync(join(repo, 'examples', d.name, 'services.yaml'))) examples.push(d.name);
  else for (const sub of await readdir(join(repo, 'examples', d.name), { withFileTypes: true })) {
    if (sub.isDirectory() && existsSync(join(repo, 'examples', d.name, sub.name, 'services.yaml'))) examples.push(`${d.name}/${sub.name}`);
  }
}

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

  it.each(examples)(
    'examples - `ssdk test` reproduces the golden outputs of `%s` with its functions sandboxed (the default)',
    async (name) => {
      const r = await ssdk('test', join(repo, 'examples', name, 'services.yaml'));
      expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
      expect(r.code).toBe(0);
    },
    300_000,
  );

  it.each(examples)('examples - `ssdk test --native` reproduces the golden outputs of `%s` with trusted functions', async (name) => {
    const r = await ssdk('test', join(repo, 'examples', name, 'services.yaml'), '--native');
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

  it('examples - a bad test file is a user error at FILE:LINE:COL with the path of the problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-test-'));
    const cases = join(dir, 'bad.test.yaml');
    await writeFile(cases, 'tests:\n  - name: x\n    inputs:\n      - topc: sentences\n');
    const r = await ssdk('test', join(repo, 'examples/word-count/services.yaml'), '--cases', cases);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${cases}:4:9: tests[0].inputs[0]: Unrecognized key: "topc"`);
    await writeFile(cases, 'tests:\n  - name: x\n    inputs: [\n');
    const yaml = await ssdk('test', join(repo, 'examples/word-count/services.yaml'), '--cases', cases);
    expect(yaml.code).toBe(2);
    expect(yaml.err).toContain(`${cases}:4:1: not valid YAML: `);
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

const PROBE = `apiVersion: 0.5.0
meta: {name: isolation-probe, namespace: tests, version: 0.1.0}
topics:
  words: {schema: {value: {type: string}}}
  tagged: {schema: {value: {type: string}}}
  stamped: {schema: {value: {type: string}}}
services:
  trusted:
    sources: [{type: topic, id: words}]
    transforms:
      - operator: map
        isolation: native
        run: |
          function tagTrusted(w: string): string {
            return w + ':' + (typeof (globalThis as any).process === 'object' ? 'native' : 'sandbox');
          }
    sinks: [{type: topic, id: tagged}]
  guarded:
    sources: [{type: topic, id: tagged}]
    transforms:
      - operator: map
        grants: [clock, {env: [SSDK_PROBE_REGION]}]
        run: |
          function stamp(w: string, ctx: Ctx): string {
            const where = typeof (globalThis as any).process === 'object' ? 'native' : 'sandbox';
            if (w.startsWith('env')) return w + ',' + where + ',' + ctx.env('SSDK_PROBE_REGION');
            if (w.startsWith('clock')) return w + ',' + where + ',' + (Date.now() > 1.7e12 && ctx.now() > 1.7e12 ? 'now' : 'stale');
            return w + ',' + where;
          }
      - operator: map
        run: |
          function ungranted(w: string, ctx: Ctx): string {
            if (w.startsWith('secret')) return w + ctx.env('SSDK_PROBE_REGION');
            if (w.startsWith('late')) return w + ctx.now();
            return w;
          }
    sinks: [{type: topic, id: stamped}]
`;

describe('examples - isolation and grants', () => {
  async function probe(...flags: string[]) {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-probe-'));
    await writeFile(join(dir, 'services.yaml'), PROBE);
    await writeFile(join(dir, 'words.jsonl'), ['"env"', '"clock"', '"secret"', '"late"'].join('\n') + '\n');
    process.env['SSDK_PROBE_REGION'] = 'eu-west';
    const r = await ssdk('run', join(dir, 'services.yaml'), '-i', `words=${join(dir, 'words.jsonl')}`, '-o', join(dir, 'out'), '--until-idle', '--ephemeral', ...flags);
    const lines = async (f: string) => (await readFile(join(dir, 'out', f), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
    const dead = (await lines('guarded.dead-letter.jsonl')) as Array<{ reason: string; operator: string }>;
    return { r, tagged: (await lines('tagged.jsonl')).sort(), stamped: (await lines('stamped.jsonl')).sort(), dead: dead.map((d) => [d.operator, d.reason.replace(/ \(at .*\)$/, '')]).sort() };
  }

  const DENIED = [
    ['guarded.ungranted', 'GrantDeniedError: ctx.env("SSDK_PROBE_REGION") needs the `env` grant, which step `guarded.ungranted` does not have: add `grants: [{env: [SSDK_PROBE_REGION]}]` to the step (or to `config`)'],
    ['guarded.ungranted', 'GrantDeniedError: ctx.now() needs the `clock` grant, which step `guarded.ungranted` does not have: add `grants: [clock]` to the step (or to `config`)'],
  ];

  it('examples - by default each step runs as the file says; grants reach only granted steps, the rest is dead-lettered naming the grant', async () => {
    const { r, tagged, stamped, dead } = await probe();
    expect(r.code).toBe(0);
    // Built now: a progress line before and after; found in the cache: silent.
    const progress = r.err.split('\n').filter((l) => l.includes('component'));
    if (progress.length) expect(progress).toEqual([expect.stringMatching(/^building ssdk's WebAssembly engine \([0-9a-f]{16}\): once per ssdk version/), expect.stringMatching(/^built component [0-9a-f]{16} for trusted, guarded/)]);
    expect(tagged).toEqual(['clock:native', 'env:native', 'late:native', 'secret:native']);
    expect(stamped).toEqual(['clock:native,sandbox,now', 'env:native,sandbox,eu-west']);
    expect(dead).toEqual(DENIED);
  }, 300_000);

  it('examples - `--native` runs every function in V8, with the same grants API; `--sandbox` runs every one sandboxed', async () => {
    const native = await probe('--native');
    expect(native.r.code).toBe(0);
    expect(native.r.err).not.toMatch(/component/);
    expect(native.tagged).toEqual(['clock:native', 'env:native', 'late:native', 'secret:native']);
    expect(native.stamped).toEqual(['clock:native,native,now', 'env:native,native,eu-west']);
    expect(native.dead).toEqual(DENIED);
    const sandboxed = await probe('--sandbox');
    expect(sandboxed.r.code).toBe(0);
    expect(sandboxed.tagged).toEqual(['clock:sandbox', 'env:sandbox', 'late:sandbox', 'secret:sandbox']);
    expect(sandboxed.stamped).toEqual(['clock:sandbox,sandbox,now', 'env:sandbox,sandbox,eu-west']);
    expect(sandboxed.dead).toEqual(DENIED);
  }, 300_000);

  it('examples - `--native` and `--sandbox` together are a usage error', async () => {
    const r = await ssdk('test', join(repo, 'examples/word-count/services.yaml'), '--native', '--sandbox');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--native and --sandbox contradict each other');
  });
});
