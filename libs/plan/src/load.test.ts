import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServicesFile, SpecError, type Diagnostic } from '@ssdk/spec';
import { PlanOptionsError } from './errors.ts';
import { checkServicesFile, planOrThrow, planServicesFile, type CodeCheck } from './load.ts';
import { planDataflow } from './physical/plan.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const WORD_COUNT = join(repo, 'examples/word-count/services.yaml');
const RUST = join(repo, 'fixtures/valid/dataflow/bike-docks-rust.yaml');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function servicesFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-plan-load-'));
  dirs.push(dir);
  const file = join(dir, 'services.yaml');
  await writeFile(file, text);
  return file;
}

const where = (d: Diagnostic) => `${d.pos.file}:${d.pos.line}:${d.pos.col}: ${d.severity}: ${d.code}`;
const HEAD = 'apiVersion: 0.5.0\nmeta:\n  name: x\n  namespace: y\n  version: 0.1.0\n';

describe('services file → plan', () => {
  it('plan file - plans as planDataflow does over the loaded file, options included', async () => {
    const planned = await planServicesFile(WORD_COUNT, { partitions: 3, subjectPrefix: 'load-test', fuse: true });
    const direct = planDataflow((await loadServicesFile(WORD_COUNT)).dataflow, { partitions: 3, subjectPrefix: 'load-test', fuse: true });
    expect(planned.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(planned.plan?.hash).toBe(direct.plan!.hash);
    expect(planned.plan?.options).toMatchObject({ partitions: 3, subjectPrefix: 'load-test', fuse: true });
    expect(planned.dataflow.meta.name).toBe('word-count');
  });

  it('plan file - a structural error is reported alone at its position, not again as what it breaks', async () => {
    const file = await servicesFile(`${HEAD}services:\n  s:\n    sourcse: []\n`);
    const planned = await planServicesFile(file);
    expect(planned.plan).toBeUndefined();
    expect(planned.diagnostics.map(where)).toEqual([`${file}:8:5: error: unknown-key`]);
  });

  it('plan file - every error of the checks at once, each at FILE:LINE:COL', async () => {
    const text = (await readFile(WORD_COUNT, 'utf8')).replace('id: sentences', 'id: sentencez').replace(/(type: topic\n\s+id: )top-words/, '$1top-wordz');
    const file = await servicesFile(text);
    const planned = await planServicesFile(file);
    expect(planned.plan).toBeUndefined();
    const errors = planned.diagnostics.filter((d) => d.severity === 'error');
    // Each at its source item (`- type: topic`, the line above its `id:`).
    const item = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle));
    expect(errors.map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.col}`)).toEqual([`${file}:${item('sentencez')}:9`, `${file}:${item('top-wordz')}:9`]);
    expect(errors.map((d) => d.message)).toEqual([expect.stringContaining('sentencez'), expect.stringContaining('top-wordz')]);
  });

  it('plan file - a Rust function stops a plan to run; a plan to show has it as a warning', async () => {
    const run = await planServicesFile(RUST);
    expect(run.plan).toBeUndefined();
    expect(run.diagnostics.some((d) => d.code === 'rust-function' && d.severity === 'error')).toBe(true);
    const show = await planServicesFile(RUST, { purpose: 'show' });
    expect(show.plan).toBeDefined();
    expect(show.diagnostics.filter((d) => d.code === 'rust-function').every((d) => d.severity === 'warning')).toBe(true);
  });

  it('plan file - the code check runs on every function of a sound file, alongside a broken file’s errors with their scope; its error takes the plan away', async () => {
    const calls: string[] = [];
    const failing: CodeCheck = async (df, graph, scope) => {
      calls.push(`${df.meta.name}:${graph.services.length}:${scope ? 'scoped' : 'all'}`);
      scope?.waits('s.some-step');
      return [{ severity: 'error', code: 'function-type', message: 'does not type-check', pos: { file: df.file, line: 3, col: 7 } }];
    };
    const planned = await planServicesFile(WORD_COUNT, { checkCode: failing });
    expect(calls).toEqual(['word-count:2:all']);
    expect(planned.plan).toBeUndefined();
    expect(planned.diagnostics.map(where)).toContain(`${WORD_COUNT}:3:7: error: function-type`);
    expect(planned.codeWaiting).toBeUndefined();
    const broken = await servicesFile(`${HEAD}services:\n  s:\n    sourcse: []\n`);
    for (const checked of [await planServicesFile(broken, { checkCode: failing }), await checkServicesFile(broken, { checkCode: failing })]) {
      expect(checked.diagnostics.map(where)).toEqual([`${broken}:8:5: error: unknown-key`, `${broken}:3:7: error: function-type`]);
      expect(checked.codeWaiting).toEqual(['s.some-step']);
      // The parser left `sourcse` out: what it held is checked once it is fixed.
      expect(checked.codeCut).toBe(true);
    }
    expect(calls).toEqual(['word-count:2:all', 'x:1:scoped', 'x:1:scoped']);
    const checked = await checkServicesFile(WORD_COUNT, { checkCode: failing });
    expect(checked.diagnostics.map(where)).toContain(`${WORD_COUNT}:3:7: error: function-type`);
    // Errors of the planner's checks (no structural one): scoped, and nothing was left out.
    const unknownTopic = await servicesFile((await readFile(WORD_COUNT, 'utf8')).replace('id: sentences', 'id: sentencez'));
    const scoped = await checkServicesFile(unknownTopic, { checkCode: failing });
    expect(calls.at(-1)).toBe('word-count:2:scoped');
    expect(scoped.codeCut).toBeUndefined();
  });

  it('plan file - planOrThrow gives the plan, or a user error carrying every diagnostic', async () => {
    expect((await planOrThrow(WORD_COUNT, { partitions: 1 })).plan.options.partitions).toBe(1);
    const file = await servicesFile((await readFile(WORD_COUNT, 'utf8')).replace('id: sentences', 'id: sentencez').replace('type: u32', 'type: u33'));
    const err = await planOrThrow(file).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).domain).toBe('user');
    expect((err as SpecError).message).toMatch(new RegExp(`^${file}:\\d+:\\d+: error: [\\s\\S]*\\(and \\d+ more\\)`));
    expect((err as SpecError).diagnostics.filter((d) => d.severity === 'error').length).toBeGreaterThanOrEqual(2);
  });

  it('plan file - options out of range are the caller’s mistake, thrown', async () => {
    await expect(planServicesFile(WORD_COUNT, { partitions: 0 })).rejects.toBeInstanceOf(PlanOptionsError);
  });

  it('plan file - a missing file is one diagnostic at its path', async () => {
    const planned = await planServicesFile('/no/such/services.yaml');
    expect(planned.diagnostics.map(where)).toEqual(['/no/such/services.yaml:1:1: error: file-not-found']);
    // A file with nothing in it has no steps left out: nothing to say about its functions.
    const none: CodeCheck = async () => [];
    expect((await checkServicesFile('/no/such/services.yaml', { checkCode: none })).codeCut).toBeUndefined();
    expect((await checkServicesFile(await servicesFile(''), { checkCode: none })).codeCut).toBeUndefined();
  });
});
