/**
 * Golden plans: `ssdk plan <example> --format json` is byte-for-byte the committed
 * `examples/<name>/expected/plan.json` (regenerate with `npx tsx tools/update-goldens.ts`), and
 * the plan hash moves only when what runs moves — not with comments, indentation or the
 * file's place on disk.
 */
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { PhysicalPlan } from '@ssdk/plan';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const examples = (await readdir(join(repo, 'examples'), { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(join(repo, 'examples', d.name, 'services.yaml')))
  .map((d) => d.name)
  .sort();

async function ssdk(...argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

async function planOf(file: string): Promise<PhysicalPlan> {
  const r = await ssdk('plan', file, '--format', 'json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as PhysicalPlan;
}

/** A copy of an example (services file rewritten by `rewrite`, `functions/` as is) in a new temp dir. */
async function copyExample(name: string, rewrite: (text: string) => string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `ssdk-golden-${name}-`));
  const from = join(repo, 'examples', name);
  if (existsSync(join(from, 'functions'))) await cp(join(from, 'functions'), join(dir, 'functions'), { recursive: true });
  const file = join(dir, 'services.yaml');
  await writeFile(file, rewrite(await readFile(join(from, 'services.yaml'), 'utf8')));
  return file;
}

/** The same document, re-serialised: comments gone, another indentation, or everything in flow style with quoted strings. */
const reformats: Record<string, (text: string) => string> = {
  'comments stripped, 4-space indentation': (text) => stringify(parse(text), { indent: 4, lineWidth: 0 }),
  'flow style, double-quoted strings': (text) =>
    stringify(parse(text), { collectionStyle: 'flow', defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0 }),
};

type Doc = Record<string, unknown>;

/** The mapping at `path` inside a parsed services file. */
function at(doc: Doc, ...path: Array<string | number>): Doc {
  let current: unknown = doc;
  for (const key of path) current = (current as Record<string | number, unknown>)[key];
  return current as Doc;
}

/** Changes to word-count that change what runs. */
const changes: Record<string, (doc: Doc) => void> = {
  'a window duration': (doc) => {
    at(doc, 'services', 'top-words', 'window', 'tumbling')['duration'] = '30s';
  },
  "a step's code": (doc) => {
    const step = at(doc, 'services', 'count-words', 'transforms', 1);
    step['run'] = String(step['run']).replace('word.length >= 3', 'word.length >= 4');
  },
  'the partitions': (doc) => {
    at(doc, 'config')['partitions'] = 4;
  },
};

describe('golden plans', () => {
  it('golden - there is an example for every shape of the format', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });

  it.each(examples)('golden - `ssdk plan examples/%s/services.yaml --format json` equals expected/plan.json', async (name) => {
    const r = await ssdk('plan', join(repo, 'examples', name, 'services.yaml'), '--format', 'json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const golden = await readFile(join(repo, 'examples', name, 'expected', 'plan.json'), 'utf8');
    expect(r.out, 'regenerate with `npx tsx tools/update-goldens.ts`').toBe(golden);
    expect(golden).not.toContain(repo);
    expect(golden).not.toContain(tmpdir());
    expect(golden).not.toContain('services.yaml');
  });

  it.each(examples)('golden - the plan hash of %s is the same on every run', async (name) => {
    const file = join(repo, 'examples', name, 'services.yaml');
    const [first, second] = [await planOf(file), await planOf(file)];
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(second.hash).toBe(first.hash);
  });

  describe.each(examples)('golden - %s, reformatted elsewhere', (name) => {
    it.each(Object.keys(reformats))('keeps its plan and hash when the file is re-serialised (%s)', async (how) => {
      const golden = JSON.parse(await readFile(join(repo, 'examples', name, 'expected', 'plan.json'), 'utf8')) as PhysicalPlan;
      const file = await copyExample(name, reformats[how] as (text: string) => string);
      const plan = await planOf(file);
      expect(plan.hash).toBe(golden.hash);
      expect(plan).toEqual(golden);
    });
  });

  it.each(Object.keys(changes))('golden - changing %s changes the hash of word-count', async (what) => {
    const golden = await planOf(join(repo, 'examples', 'word-count', 'services.yaml'));
    const file = await copyExample('word-count', (text) => {
      const doc = parse(text) as Doc;
      const before = stringify(doc);
      changes[what]?.(doc);
      expect(stringify(doc)).not.toBe(before);
      return stringify(doc);
    });
    const changed = await planOf(file);
    expect(changed.hash).not.toBe(golden.hash);
  });

  it.each(examples)('golden - %s renders as dot, mermaid and text', async (name) => {
    const file = join(repo, 'examples', name, 'services.yaml');
    const plan = await planOf(file);
    const dot = await ssdk('plan', file, '--format', 'dot');
    expect(dot.code).toBe(0);
    expect(dot.out).toMatch(/^digraph/);
    const mermaid = await ssdk('plan', file, '--format', 'mermaid');
    expect(mermaid.code).toBe(0);
    expect(mermaid.out).toMatch(/^flowchart/);
    const text = await ssdk('plan', file, '--format', 'text');
    expect(text.code).toBe(0);
    expect(plan.operators.length).toBeGreaterThan(0);
    for (const op of plan.operators) expect(text.out).toContain(op.id);
  });
});
