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

  it('plan file - the services a structural error leaves intact have their chains checked beside it; the broken parts, and what names them, do not', async () => {
    const text = await readFile(WORD_COUNT, 'utf8');
    const lines = text.split('\n');
    const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    // A type mismatch in `top-words`: its window's key function takes a number where words arrive.
    const mismatched = text.replace('function keyWindowWord(word: string)', 'function keyWindowWord(word: number)');
    const errorsOf = async (edited: string) => {
      const file = await servicesFile(edited);
      // `validate` and every command that plans say the same.
      expect((await planServicesFile(file)).diagnostics).toEqual((await checkServicesFile(file)).diagnostics);
      return (await checkServicesFile(file)).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.pos.line}:${d.pos.col}: ${d.code}`);
    };
    const mismatch = `${lineOf('function keyWindowWord') - 1}:11: type-mismatch`;
    // A structural error in the other service (`count-words`): both, each at its line.
    expect(await errorsOf(mismatched.replace('- operator: flat-map', '- operator: flatmap'))).toEqual([`${lineOf('- operator: flat-map')}:19: unknown-operator`, mismatch]);
    expect(await errorsOf(mismatched.replace('    partition:\n      assign-key:', '    pratition:\n      assign-key:'))).toEqual([`${lineOf('    partition:')}:5: unknown-key`, mismatch]);
    // In the same service the chain may be what the parser cut: the error alone.
    expect(await errorsOf(mismatched.replace('grace-period: 2s', 'grace-perod: 2s'))).toEqual([`${lineOf('grace-period')}:9: unknown-key`]);
    // A type or a topic with an error of its own stands as unknown: no mismatch said of what it may have been.
    expect(await errorsOf(mismatched.replace('  word:\n    type: string', '  word:\n    tpye: string'))).toEqual([`${lineOf('  word:') + 1}:5: missing-key`]);
    expect(await errorsOf(mismatched.replace('      value:\n        type: word', '      vlaue:\n        type: word'))).toEqual([`${lines.indexOf('        type: word')}:7: unknown-key`]);
    // A name the intact service gives that is not declared, when every error lies in a service: nothing it names was dropped.
    const misnamed = mismatched.replace(/(sinks:\n\s+- type: topic\n\s+id: )top-words/, '$1top-wordz').replace('- operator: flat-map', '- operator: flatmap');
    const unknownSink = `${lineOf('id: top-words') - 1}:9: unknown-topic`;
    expect(await errorsOf(misnamed)).toEqual([`${lineOf('- operator: flat-map')}:19: unknown-operator`, mismatch, unknownSink]);
    // With an error among the topics (or types) a topic may have been dropped: the name waits.
    expect(await errorsOf(misnamed.replace('- operator: flatmap', '- operator: flat-map').replace('  sentences:\n    schema:', '  sentences:\n    shcema:'))).toEqual([
      `${lineOf('  sentences:') + 1}:5: unknown-key`,
      mismatch,
    ]);
    // A misspelt section after `services:` lies in the last service by its line, but is no error of a service: the names wait.
    const topicsLast = text.replace(/topics:\n[\s\S]*?(?=services:\n)/, '') + text.slice(text.indexOf('topics:\n'), text.indexOf('services:\n')).replace('topics:', 'topcis:');
    expect(await errorsOf(topicsLast)).toEqual([`${topicsLast.split('\n').indexOf('topcis:') + 1}:1: unknown-key`]);
    // Without the structural error the planner says the same of the chain.
    expect(await errorsOf(mismatched)).toEqual([mismatch]);
  });

  it('plan file - a topic or a type the parser read short (`propreties`) stands as unknown beside its error, not as the empty object it reads as', async () => {
    const points = (topic: string, types = '') =>
      `${HEAD}${types}topics:\n  points:\n    schema:\n      value:\n${topic}  sums:\n    schema:\n      value:\n        type: f64\n` +
      `services:\n  add:\n    sources:\n      - type: topic\n        id: points\n    transforms:\n      - operator: map\n        run: |\n` +
      `          function add(p: { x: number; y: number }): number {\n            return p.x + p.y;\n          }\n    sinks:\n      - type: topic\n        id: sums\n`;
    const inline = (properties: string) => `        type: object\n        ${properties}:\n          x:\n            type: f64\n          y:\n            type: f64\n`;
    const named = (properties: string) => `types:\n  point:\n    type: object\n    ${properties}:\n      x:\n        type: f64\n      y:\n        type: f64\n`;
    const codes = async (text: string) => (await checkServicesFile(await servicesFile(text))).diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
    // As written, both fit the code's `{x, y}`.
    expect(await codes(points(inline('properties')))).toEqual([]);
    expect(await codes(points('        type: point\n', named('properties')))).toEqual([]);
    expect(await codes(points(inline('propreties')))).toEqual(['unknown-key']);
    expect(await codes(points('        type: point\n', named('propreties')))).toEqual(['unknown-key']);
  });

  it('plan file - beside a structural error, a ref-state to the broken service is left; the intact service’s own states are checked', async () => {
    const probe = await readFile(join(repo, 'examples/word-probe/services.yaml'), 'utf8');
    const file = await servicesFile(
      probe
        .replace('    states:\n      count-per-word:\n        type: keyed-state', '    statse:\n      count-per-word:\n        type: keyed-state')
        .replace('    states:\n      count-per-word:\n        from: count-words.count-per-word', '    states:\n      count-per-word:\n        from: count-words.count-per-word\n      seen:\n        type: WordCount'),
    );
    const checked = await checkServicesFile(file);
    // `count-words` owns no state now as the parser read it: `lookup-word`'s ref-state is not said to name nothing.
    expect(checked.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual(['unknown-key', 'state-not-keyed']);
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
