import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServicesFile } from '@ssdk/spec';
import { checkDataflow, checkServicesFile } from '@ssdk/plan';
import { checkFunctionCode } from './check.ts';

const FILE = (uses: string) => `apiVersion: 0.5.0
meta: {name: t, version: 0.1.0, namespace: t}
types:
  reading:
    type: object
    properties:
      sensor: {type: string}
      at: {type: u64}
topics:
  in: {schema: {value: {type: reading}}}
  out: {schema: {value: {type: reading}}}
services:
  s:
    sources: [{type: topic, id: in}]
    transforms:
      - operator: filter
        uses: ${uses}
      - operator: map
        run: |
          function keep(value: Reading): Reading {
            return { ...value, at: value.at + 1 };
          }
    sinks: [{type: topic, id: out}]
`;

async function check(uses: string, modules: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-check-'));
  await mkdir(join(dir, 'functions'));
  for (const [name, text] of Object.entries(modules)) await writeFile(join(dir, 'functions', name), text);
  const file = join(dir, 'services.yaml');
  await writeFile(file, FILE(uses));
  const parsed = await loadServicesFile(file);
  const diagnostics = await checkFunctionCode(parsed.dataflow, checkDataflow(parsed.dataflow).graph);
  return { dir, lines: diagnostics.map((d) => `${d.pos.file.replace(dir, '.')}:${d.pos.line}:${d.pos.col}: ${d.code}: ${d.message}`) };
}

describe('functions - checking user code without running it', () => {
  it('functions - a `uses:` with no module, nearly the name of an imported function, is told that function', async () => {
    // Upstream's own slip (Fluvio's split-sentence at 3005255, fixed at 72f80f1): `word_length` for the import's `word-length`.
    const file = new URL('../../../fixtures/fluvio-corpus/infinyon/stateful-dataflows-examples/dataflow/split-sentence/package-variant/dataflow@3005255.yaml', import.meta.url).pathname;
    const parsed = await loadServicesFile(file);
    const missing = (await checkFunctionCode(parsed.dataflow, checkDataflow(parsed.dataflow).graph)).filter((d) => d.code === 'function-module-missing');
    expect(missing.map((d) => [d.pos.line, d.message, d.hint])).toEqual([
      [47, 'no code for `word_length`: functions/word_length.ts does not exist', 'the imports bring `word-length`: `uses: word-length`, or write functions/word_length.ts beside the services file'],
    ]);
  });

  it('functions - a module whose top level would hang or throw is checked, never run', async () => {
    const { lines } = await check('is-recent', {
      'is-recent.ts': "import type { Reading } from './types.js';\nwhile (true) {}\nthrow new Error('ran');\nexport function isRecent(r: Reading): boolean {\n  return r.at > 0;\n}\n",
    });
    // Nothing ran: the check returned, and the `throw` did not reach it.
    expect(lines).toEqual([]);
  });

  it('functions - modules import the generated types.ts / ctx.ts when the user has none, and their own when they do', async () => {
    const module = "import type { Reading } from './types.js';\nexport function isRecent(r: Reading): boolean {\n  return r.sensor.length > r.at;\n}\n";
    expect((await check('is-recent', { 'is-recent.ts': module })).lines).toEqual([]);
    const own = "export interface Reading { sensor: number; at: number }\n";
    expect((await check('is-recent', { 'is-recent.ts': module, 'types.ts': own })).lines).toEqual([
      "./functions/is-recent.ts:3:19: function-type-error: s.is-recent: Property 'length' does not exist on type 'number' (TS2339)",
    ]);
  });

  it('functions - a default export serves, a non-function export does not', async () => {
    expect((await check('is-recent', { 'is-recent.ts': 'export default function (r: unknown): boolean {\n  return r !== null;\n}\n' })).lines).toEqual([]);
    expect((await check('is-recent', { 'is-recent.ts': 'export const isRecent = 42;\n' })).lines).toEqual([
      './services.yaml:17:15: function-export-missing: `functions/is-recent.ts` exports `isRecent`, but not as a function',
    ]);
  });

  it('functions - alongside the file’s errors, a module naming a type with an error waits as a whole; a module with no such name is checked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-check-'));
    await mkdir(join(dir, 'functions'));
    // The type has an error (u65): `Reading` would be `{ at: unknown }` to the compiler.
    await writeFile(join(dir, 'services.yaml'), FILE('is-recent').replace('at: {type: u64}', 'at: {type: u65}'));
    await writeFile(join(dir, 'functions', 'is-recent.ts'), "import type { Reading } from './types.js';\nexport function isRecent(r: Reading): boolean {\n  return r.at > 0;\n}\n");
    const waiting: string[] = [];
    const checked = await checkServicesFile(join(dir, 'services.yaml'), { checkCode: (df, graph, scope) => checkFunctionCode(df, graph, scope && { ...scope, waits: (id) => (waiting.push(id), scope.waits(id)) }) });
    expect(checked.diagnostics.map((d) => d.code)).toEqual(['unknown-type']);
    expect(waiting).toEqual(['s.keep', 's.is-recent']);
    // Unscoped (the compiler on the broken types), the module and the map both say the type's error again.
    const all = await checkFunctionCode(checked.dataflow, checkDataflow(checked.dataflow).graph);
    expect(all.map((d) => d.message)).toEqual(expect.arrayContaining([expect.stringContaining("'value.at' is of type 'unknown'")]));
  });
});

