import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServicesFile } from '@ssdk/spec';
import { checkDataflow } from '@ssdk/plan';
import { checkCacheDir, userCacheDir } from './check-cache.ts';
import { checkFunctionCodeWith } from './check.ts';

const FILE = (bound: number) => `apiVersion: 0.5.0
meta: {name: t, version: 0.1.0, namespace: t}
topics:
  in: {schema: {value: {type: string}}}
  out: {schema: {value: {type: string}}}
services:
  s:
    sources: [{type: topic, id: in}]
    transforms:
      - operator: filter
        uses: is-long
      - operator: filter
        run: |
          function short(value: string): boolean {
            return value.length < ${bound};
          }
    sinks: [{type: topic, id: out}]
`;

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-check-cache-'));
  await mkdir(join(dir, 'functions', 'lib'), { recursive: true });
  // The step's module imports a helper through a folder index: `./lib` → lib/index.ts.
  await writeFile(join(dir, 'functions', 'is-long.ts'), "import { minimum } from './lib';\nexport function isLong(value: string): boolean {\n  return value.length > minimum();\n}\n");
  await writeFile(join(dir, 'functions', 'lib', 'index.ts'), 'export function minimum(): number {\n  return 3;\n}\n');
  await writeFile(join(dir, 'services.yaml'), FILE(100));
  const cacheDir = join(dir, 'cache');
  const check = async () => {
    const parsed = await loadServicesFile(join(dir, 'services.yaml'));
    let hit: boolean | undefined;
    const diagnostics = await checkFunctionCodeWith(parsed.dataflow, checkDataflow(parsed.dataflow).graph, { cacheDir, onCache: (h) => (hit = h) });
    return { hit, lines: diagnostics.map((d) => `${d.pos.file.replace(dir, '.')}:${d.pos.line}:${d.pos.col}: ${d.message}`) };
  };
  return { dir, check };
}

describe('functions - the type check kept by content', () => {
  it('functions - an unchanged dataflow is answered from the cache; editing a module, a file it imports or the services file checks again', async () => {
    const { dir, check } = await setup();
    expect(await check()).toEqual({ hit: false, lines: [] });
    expect(await check()).toEqual({ hit: true, lines: [] });

    // A file the step's module imports, not named in the services file: its edit is seen.
    await writeFile(join(dir, 'functions', 'lib', 'index.ts'), "export function minimum(): string {\n  return 'x';\n}\n");
    const broken = { hit: false, lines: ["./functions/is-long.ts:3:10: s.is-long: Operator '>' cannot be applied to types 'number' and 'string' (TS2365)"] };
    expect(await check()).toEqual(broken);
    // The error is kept too, and given again at the same place.
    expect(await check()).toEqual({ ...broken, hit: true });

    // Inline code in the services file.
    await writeFile(join(dir, 'services.yaml'), FILE(200).replace('return value.length <', 'return value <'));
    const inline = await check();
    expect(inline.hit).toBe(false);
    expect(inline.lines).toEqual([
      "./services.yaml:15:20: s.short: Operator '<' cannot be applied to types 'string' and 'number' (TS2365)",
      "./functions/is-long.ts:3:10: s.is-long: Operator '>' cannot be applied to types 'number' and 'string' (TS2365)",
    ]);
    await rm(dir, { recursive: true, force: true });
  });

  it('functions - a file that appears where module resolution looked is a new input: `./lib.ts` now wins over lib/index.ts', async () => {
    const { dir, check } = await setup();
    expect((await check()).lines).toEqual([]);
    await writeFile(join(dir, 'functions', 'lib.ts'), 'export function minimum(): boolean {\n  return true;\n}\n');
    expect(await check()).toEqual({ hit: false, lines: ["./functions/is-long.ts:3:10: s.is-long: Operator '>' cannot be applied to types 'number' and 'boolean' (TS2365)"] });
    await rm(join(dir, 'functions', 'lib.ts'));
    // Back as it was: checked again (an entry per key, the last result), and right again.
    expect(await check()).toEqual({ hit: false, lines: [] });
    expect(await check()).toEqual({ hit: true, lines: [] });
    await rm(dir, { recursive: true, force: true });
  });

  it('functions - a step whose operator changed is checked again: the same module may change its input as a map, not as a filter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-check-cache-'));
    await mkdir(join(dir, 'functions'));
    await writeFile(join(dir, 'functions', 'tag.ts'), "import type { Item } from './types.ts';\nexport function tag(item: Item): Item {\n  item.tags.push('seen');\n  return item;\n}\n");
    const file = (operator: string) => `apiVersion: 0.5.0
meta: {name: t, version: 0.1.0, namespace: t}
types:
  item: {type: object, properties: {tags: {type: list, items: {type: string}}}}
topics:
  in: {schema: {value: {type: item}}}
  out: {schema: {value: {type: item}}}
services:
  s:
    sources: [{type: topic, id: in}]
    transforms:
      - operator: ${operator}
        uses: tag
    sinks: [{type: topic, id: out}]
`;
    const cacheDir = join(dir, 'cache');
    const check = async (operator: string) => {
      await writeFile(join(dir, 'services.yaml'), file(operator));
      const parsed = await loadServicesFile(join(dir, 'services.yaml'));
      let hit: boolean | undefined;
      const diagnostics = await checkFunctionCodeWith(parsed.dataflow, checkDataflow(parsed.dataflow).graph, { cacheDir, onCache: (h) => (hit = h) });
      return { hit, codes: diagnostics.map((d) => `${d.pos.file.replace(dir, '.')}:${d.pos.line}:${d.pos.col}: ${d.code}`) };
    };
    expect(await check('map')).toEqual({ hit: false, codes: [] });
    expect(await check('map')).toEqual({ hit: true, codes: [] });
    // Only the operator changed (its function returns an Item, which a filter's boolean is not: a type error too).
    const asFilter = await check('filter');
    expect(asFilter.hit).toBe(false);
    expect(asFilter.codes).toContain('./functions/tag.ts:3:3: input-changed-in-place');
    await rm(dir, { recursive: true, force: true });
  });

  it('functions - where the cache lives: SSDK_CHECK_CACHE, `off`, else the XDG cache folder', () => {
    expect(checkCacheDir({ SSDK_CHECK_CACHE: '/srv/checks' })).toBe('/srv/checks');
    expect(checkCacheDir({ SSDK_CHECK_CACHE: 'off' })).toBeUndefined();
    expect(checkCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/ssdk/checks');
    expect(userCacheDir('SSDK_COMPONENT_CACHE', 'components', { XDG_CACHE_HOME: '/x' })).toBe('/x/ssdk/components');
  });
});
