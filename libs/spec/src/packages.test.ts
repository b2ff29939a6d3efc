import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServicesFile } from './load.ts';
import { loadPackageFile } from './packages.ts';
import { looksLikePackageFile } from './parse.ts';
import { allSteps } from './steps-walk.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const PACKAGE = `apiVersion: 0.5.0
meta:
  name: words
  version: 0.1.0
  namespace: h5
types:
  word-count:
    type: object
    properties:
      word:
        type: string
      count:
        type: u32
functions:
  split-words:
    operator: flat-map
    inputs:
      - name: sentence
        type: string
    output:
      type: string
  count-of:
    operator: map
    inputs:
      - name: word
        type: string
    output:
      type: word-count
  shout:
    operator: map
    inputs:
      - name: word
        type: string
    output:
      type: string
    run: |
      function shout(word: string): string {
        return word.toUpperCase();
      }
`;

const dataflow = (imports: string, uses = 'split') => `apiVersion: 0.5.0
meta:
  name: uses-words
  version: 0.1.0
  namespace: h5
imports:
${imports}
topics:
  sentences:
    schema:
      value:
        type: string
  words:
    schema:
      value:
        type: string
services:
  splitter:
    sources:
      - type: topic
        id: sentences
    transforms:
      - operator: flat-map
        uses: ${uses}
      - operator: map
        uses: shout
    sinks:
      - type: topic
        id: words
`;

/** A package folder `pkg/` (with a body for split-words only) and `flow/dataflow.yaml` beside it. */
async function layout(imports: string, uses?: string): Promise<{ root: string; flow: string; pkg: string }> {
  const root = await mkdtemp(join(tmpdir(), 'ssdk-h5-packages-'));
  dirs.push(root);
  await mkdir(join(root, 'pkg', 'functions'), { recursive: true });
  await mkdir(join(root, 'flow'));
  await writeFile(join(root, 'pkg', 'sdf-package.yaml'), PACKAGE);
  await writeFile(join(root, 'pkg', 'functions', 'split-words.ts'), 'export function splitWords(s: string): string[] { return s.split(" "); }\n');
  const flow = join(root, 'flow', 'dataflow.yaml');
  await writeFile(flow, dataflow(imports, uses));
  return { root, flow, pkg: join(root, 'pkg', 'sdf-package.yaml') };
}

const IMPORT = `  - pkg: h5/words@0.1.0
    path: ../pkg
    types:
      - name: word-count
    functions:
      - name: split-words
        alias: split
      - name: shout`;

const COUNTER_PACKAGE = `apiVersion: 0.6.0
meta:
  name: counter
  version: 0.1.0
  namespace: h8
states:
  tally:
    type: keyed-state
    properties:
      key:
        type: string
      value:
        type: u32
  spare:
    type: keyed-state
    properties:
      key:
        type: string
      value:
        type: string
functions:
  bump:
    operator: update-state
    states:
      - name: tally
    inputs:
      - name: word
        type: string
`;

const COUNTER_DATAFLOW = `apiVersion: 0.6.0
meta:
  name: use-counter
  version: 0.1.0
  namespace: h8
imports:
  - pkg: h8/counter@0.1.0
    path: ./counter
    states:
      - name: tally
      - name: spare
    functions:
      - name: bump
topics:
  words:
    schema:
      value:
        type: string
services:
  count:
    sources:
      - type: topic
        id: words
    partition:
      assign-key:
        run: |
          function byWord(w: string): string {
            return w;
          }
      update-state:
        uses: bump
`;

describe('packages', () => {
  it('packages - a package file reads as types, functions (body beside it, or run:), and flags the function still in Rust at its line', async () => {
    const { pkg } = await layout(IMPORT);
    const read = await loadPackageFile(pkg);
    expect(Object.keys(read.pkg.types)).toEqual(['word-count']);
    expect(Object.keys(read.pkg.functions)).toEqual(['split-words', 'count-of', 'shout']);
    // A flat-map's output names one item.
    expect(read.pkg.functions['split-words']!.signature.returns).toMatchObject({ kind: 'list', items: { kind: 'primitive', name: 'string' } });
    expect(read.pkg.functions['split-words']!.module).toBe(join(pkg, '..', 'functions', 'split-words.ts'));
    expect(read.pkg.functions['shout']!.inline?.lang).toBe('typescript');
    expect(read.diagnostics.map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.col} ${d.code}`)).toEqual([`${pkg}:22:3 rust-function`]);
    expect(read.diagnostics[0]!.hint).toContain('export function countOf(word: string): WordCount');
    expect(looksLikePackageFile(PACKAGE)).toBe(true);
  });

  it('packages - a dataflow imports functions (under an alias) and types from the package folder', async () => {
    const { flow, pkg } = await layout(IMPORT);
    const { dataflow, diagnostics } = await loadServicesFile(flow);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(Object.keys(dataflow.types)).toEqual(['word-count']);
    const [split, shout] = allSteps(dataflow);
    expect(split!.fn.source).toMatchObject({ kind: 'uses', ref: 'split', pkg: { id: 'h5/words@0.1.0', name: 'split-words' }, module: join(pkg, '..', 'functions', 'split-words.ts') });
    expect(split!.fn.signature?.returns).toMatchObject({ kind: 'list' });
    // The package's run: code, positioned in the package file.
    expect(shout!.fn.source).toMatchObject({ kind: 'inline', lang: 'typescript', codePos: { file: pkg, line: 37 } });
  });

  it('packages - an imported state becomes the own state of the service that uses a package function naming it; one nothing uses is a warning', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ssdk-h8-states-'));
    dirs.push(root);
    await mkdir(join(root, 'counter', 'functions'), { recursive: true });
    await writeFile(join(root, 'counter', 'sdf-package.yaml'), COUNTER_PACKAGE);
    await writeFile(join(root, 'counter', 'functions', 'bump.ts'), "export function bump(word: string, ctx: any): void {\n  ctx.state('tally').increment();\n}\n");
    await writeFile(join(root, 'dataflow.yaml'), COUNTER_DATAFLOW);
    const { dataflow, diagnostics } = await loadServicesFile(join(root, 'dataflow.yaml'));
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    // `count` uses bump (which names tally) and did not declare it: the package's declaration is its own now.
    expect(dataflow.services['count']!.states).toMatchObject([{ kind: 'owned', name: 'tally', type: { kind: 'keyed-state', value: { kind: 'primitive', name: 'u32' } } }]);
    // `spare` is imported and nothing uses it: said, at the import.
    expect(diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.severity} ${d.code}`)).toEqual(['11:9 warning imported-state-unused']);
    expect(diagnostics[0]!.message).toContain('imported state `spare`');
  });

  it('packages - errors point into the file that has them: the import in the dataflow, the body in the package', async () => {
    const imports = `  - pkg: h5/words@0.1.0
    functions:
      - name: split-wrods
      - name: count-of
      - name: shout
  - pkg: h5/other@1.0.0
    path: ../nowhere
dev:
  imports:
    - pkg: h5/words@0.2.0
      path: ../pkg`;
    const { flow, pkg } = await layout(imports, 'count-of');
    const { diagnostics } = await loadServicesFile(flow);
    const shown = diagnostics.map((d) => `${d.pos.file === flow ? 'flow' : d.pos.file === pkg ? 'pkg' : d.pos.file}:${d.pos.line}:${d.pos.col} ${d.severity} ${d.code}`);
    expect(shown).toEqual(
      expect.arrayContaining([
        'flow:9:9 error unknown-import',
        'flow:12:5 error package-not-found',
        'pkg:22:3 error rust-function',
        // count-of is a map, used here as the flat-map.
        'flow:34:15 error operator-mismatch',
      ]),
    );
    expect(diagnostics.find((d) => d.code === 'unknown-import')!.hint).toContain('split-words');
  });
});
