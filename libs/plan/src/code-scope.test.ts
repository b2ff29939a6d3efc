import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CodeScope } from './code-scope.ts';
import { checkServicesFile } from './load.ts';
import { pipelineSteps } from './pipeline.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const WORD_COUNT = join(repo, 'examples/word-count/services.yaml');
const text = await readFile(WORD_COUNT, 'utf8');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** What the scope of word count with one edit leaves uncertain: types, services' states, steps by operator id. */
async function scopeOf(edited: string) {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-code-scope-'));
  dirs.push(dir);
  const file = join(dir, 'services.yaml');
  await writeFile(file, edited);
  let seen: { scope: CodeScope | undefined; ids: Map<unknown, string> } | undefined;
  await checkServicesFile(file, {
    checkCode: async (_df, graph, scope) => {
      const ids = new Map<unknown, string>(graph.services.flatMap((s) => pipelineSteps(s.pipeline).map((site) => [site.step, site.id] as const)));
      seen = { scope, ids };
      return [];
    },
  });
  const scope = seen?.scope;
  if (!scope) return 'no scope';
  return {
    types: [...scope.unsoundTypes].sort(),
    states: [...scope.uncertainStates].sort(),
    steps: [...scope.uncertainSteps].map((s) => seen!.ids.get(s)).sort(),
    everything: scope.everything,
    typesMayBeMissing: scope.typesMayBeMissing,
  };
}

describe('code scope — what a file’s errors leave uncertain for the functions’ check', () => {
  it('code scope - a file without errors is checked whole (no scope)', async () => {
    expect(await scopeOf(text)).toBe('no scope');
  });

  it('code scope - a type with an error, and every type naming it, is unsound; nothing else', async () => {
    expect(await scopeOf(text.replace('count:\n        type: u32', 'count:\n        type: u33'))).toEqual({ types: ['top-words', 'word-count'], states: [], steps: [], everything: false, typesMayBeMissing: true });
  });

  it('code scope - a type named but not declared makes the types naming it unsound', async () => {
    expect(await scopeOf(text.replace(/^ {2}word-count:/m, '  word-cont:'))).toEqual({ types: ['top-words'], states: [], steps: [], everything: false, typesMayBeMissing: true });
  });

  it('code scope - an error in a service (not in a step) makes its states uncertain', async () => {
    expect(await scopeOf(text.replace(/(sources:\n\s+- type: topic\n\s+id: )words/, '$1wrds'))).toEqual({ types: [], states: ['top-words'], steps: [], everything: false, typesMayBeMissing: false });
  });

  it('code scope - a state of a type with an error makes its service’s states uncertain', async () => {
    const edited = text.replace(/(window-counts:\n(?:.*\n){5}\s+type: )u32/, '$1u33');
    expect(edited).not.toBe(text);
    expect(await scopeOf(edited)).toEqual({ types: [], states: ['top-words'], steps: [], everything: false, typesMayBeMissing: false });
  });

  it('code scope - an error in a step (a dropped step lies in the one before it) makes that step and its service’s states uncertain', async () => {
    expect(await scopeOf(text.replace('- operator: filter', '- operator: filtr'))).toEqual({ types: [], states: ['count-words'], steps: ['count-words.split-sentence'], everything: false, typesMayBeMissing: false });
  });

  it('code scope - an error in the imports leaves everything uncertain', async () => {
    const scope = await scopeOf(text.replace('types:\n', 'imports:\n  - pkg: nowhere/missing@0.1.0\n    path: ./no-such-package\n    types:\n      - name: thing\n\ntypes:\n'));
    expect(scope).toMatchObject({ everything: true });
  });

  it('code scope - an error outside the services and types (a misspelt `types:`) says types may be missing', async () => {
    expect(await scopeOf(text.replace(/^types:/m, 'tyeps:'))).toEqual({ types: [], states: [], steps: [], everything: false, typesMayBeMissing: true });
  });

  it('code scope - a state name an uncertain service has is uncertain in every service that has it (ctx.ts types states by name)', async () => {
    const probe = await readFile(join(repo, 'examples/word-probe/services.yaml'), 'utf8');
    // `lookup-word` reads `count-words.count-per-word`: with the owner misspelt its ref fails, and
    // the owner's own `count-per-word` would be typed from the broken ref too.
    expect(await scopeOf(probe.replace(/^ {2}count-words:/m, '  ocunt-words:'))).toMatchObject({ states: ['lookup-word', 'ocunt-words'] });
  });
});

