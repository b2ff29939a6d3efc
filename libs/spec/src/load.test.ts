import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadServicesFile } from './load.ts';
import { yaml } from './test-support.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssdk-spec-'));
  await mkdir(join(dir, 'functions'));
  await writeFile(
    join(dir, 'services.yaml'),
    yaml`
      apiVersion: 0.5.0
      meta: {name: t, namespace: n, version: 0.1.0}
      services:
        words:
          sources: [{type: topic, id: sentences}]
          transforms:
            - operator: flat-map
              uses: split-sentence
            - operator: filter
              uses: is-long
            - operator: map
              uses: not-written-yet
          partition:
            assign-key:
              uses: by-word
      `,
  );
  // The stub's file may be named after the reference or its camelCase; the function is the camelCase export.
  await writeFile(
    join(dir, 'functions', 'split-sentence.ts'),
    'function helper(x: number): number { return x }\nexport function splitSentence(sentence: string, ctx: Ctx): string[] {\n  return sentence.split(" ");\n}\n',
  );
  await writeFile(join(dir, 'functions', 'isLong.ts'), 'export default function (word: string): boolean { return word.length > 5 }\n');
  await writeFile(join(dir, 'functions', 'by_word.ts'), 'export function byWord(word: string): string { return word }\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadServicesFile', () => {
  test('spec - reads the file and takes signatures of `uses:` functions from their stubs', async () => {
    const { dataflow, diagnostics } = await loadServicesFile(join(dir, 'services.yaml'));
    expect(diagnostics).toEqual([]);
    const [split, isLong, unwritten] = dataflow.services.words?.transforms ?? [];
    expect(split?.fn.signature).toEqual({
      params: [{ name: 'sentence', type: { kind: 'primitive', name: 'string' } }],
      returns: { kind: 'list', items: { kind: 'primitive', name: 'string' } },
    });
    expect(isLong?.fn.signature?.returns).toEqual({ kind: 'primitive', name: 'bool' });
    // A stub not written yet is not an error here: building reports it.
    expect(unwritten?.fn.signature).toBeUndefined();
    expect(dataflow.services.words?.partition?.assignKey?.fn.signature?.params).toEqual([
      { name: 'word', type: { kind: 'primitive', name: 'string' } },
    ]);
  });

  test('spec - a file that cannot be read is one file-not-found diagnostic, not an exception', async () => {
    const missing = join(dir, 'nope.yaml');
    const { dataflow, diagnostics } = await loadServicesFile(missing);
    expect(diagnostics).toEqual([
      {
        severity: 'error',
        code: 'file-not-found',
        message: `services file \`${missing}\` does not exist`,
        hint: 'check the path (a relative path starts at the current directory), or start a dataflow there with `ssdk init`',
        pos: { file: missing, line: 1, col: 1 },
      },
    ]);
    expect(dataflow.services).toEqual({});
    const { diagnostics: forDir } = await loadServicesFile(dir);
    expect(forDir.map((d) => [d.code, d.message])).toEqual([['file-not-found', `cannot read services file \`${dir}\``]]);
  });
});
