/**
 * A step that passes its record on (filter, assign-key, assign-timestamp, update-state) may only
 * read its value: changing it in place is refused by the function check, where it is written,
 * so native and sandboxed runs (which check the same file) refuse it alike.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kebabCase, loadServicesFile } from '@ssdk/spec';
import { checkDataflow } from '@ssdk/plan';
import { checkFunctionCodeWith } from './check.ts';

const HEAD = `apiVersion: 0.5.0
meta: {name: t, version: 0.1.0, namespace: t}
types:
  inner:
    type: object
    properties:
      n: {type: u32}
      list: {type: list, items: {type: u32}}
  reading:
    type: object
    properties:
      sensor: {type: string}
      at: {type: u64}
      tags: {type: list, items: {type: string}}
      inner: {type: inner}
      note: {type: option, value: {type: string}}
      raw: {type: bytes}
topics:
  in: {schema: {value: {type: reading}}}
  out: {schema: {value: {type: reading}}}
`;

interface Case {
  /** The step's function (its name is the step's): `r` is its value. */
  fn: string;
  operator?: string;
  /** The change the check reports, as its message quotes it; none: allowed. */
  refused?: string;
  /** What the reported position points at, on the code's line (the first line holding it). */
  at?: string;
}

const filter = (name: string, ...lines: string[]) => [`function ${name}(r: Reading): boolean {`, ...lines.map((l) => `  ${l}`), '  return true;', '}'].join('\n');

const REFUSED: Record<string, Case> = {
  'an assignment to a field': { fn: filter('setField', 'r.at = 0;'), refused: 'r.at = …', at: 'r.at' },
  'a compound assignment to a nested field': { fn: filter('addNested', 'r.inner.n += 1;'), refused: 'r.inner.n += …', at: 'r.inner.n' },
  'a logical assignment': { fn: filter('orNote', "r.note ??= 'x';"), refused: 'r.note ??= …', at: 'r.note' },
  'an assignment to a list element': { fn: filter('setElement', "r.tags[0] = 'x';"), refused: 'r.tags[0] = …', at: 'r.tags[0]' },
  'an assignment through a cast': { fn: filter('castSet', '(r as { at: number }).at = 1;'), refused: '(r as { at: number }).at = …', at: '(r as' },
  'an increment': { fn: filter('bump', 'r.at++;'), refused: 'r.at++', at: 'r.at++' },
  'a decrement before': { fn: filter('drop', '--r.inner.n;'), refused: '--r.inner.n', at: '--r' },
  'a delete': { fn: filter('forget', 'delete r.note;'), refused: 'delete r.note', at: 'delete' },
  'a destructuring assignment': { fn: filter('swap', '[r.inner.n] = [2];'), refused: 'r.inner.n = …', at: 'r.inner.n' },
  'an assignment in a closure': { fn: filter('later', '[1].forEach((x) => { r.at = x; });'), refused: 'r.at = …', at: 'r.at' },
  'Object.assign onto the value': { fn: filter('merge', 'Object.assign(r, { at: 1 });'), refused: 'Object.assign(r, …)', at: 'Object' },
  'Object.assign onto a nested object': { fn: filter('mergeInner', 'Object.assign(r.inner, { n: 1 });'), refused: 'Object.assign(r.inner, …)', at: 'Object' },
  'a destructured parameter\'s part': { fn: ['function tagged({ tags }: Reading): boolean {', "  tags.push('x');", '  return true;', '}'].join('\n'), refused: 'tags.push(…)', at: 'tags.push' },
  // Documented: the check follows names, not values; a copy under a name of its own may be changed.
  'a change after the parameter was given a copy': { fn: filter('reboundChange', 'r = { ...r };', 'r.at = 3;'), refused: 'r.at = …', at: 'r.at = 3' },
  'an unannotated parameter': { fn: ['function loose(r) {', '  r.seen = true;', '  return true;', '}'].join('\n'), refused: 'r.seen = …', at: 'r.seen' },
};
for (const method of ['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin']) {
  const args = { push: "'x'", unshift: "'x'", splice: '0, 1', fill: "'x'", copyWithin: '0, 1' }[method as 'push'] ?? '';
  REFUSED[`the array method ${method}`] = { fn: filter(`call${method[0]!.toUpperCase()}${method.slice(1)}`, `r.tags.${method}(${args});`), refused: `r.tags.${method}(…)`, at: 'r.tags' };
}
for (const [call, refused] of [
  ["Object.defineProperty(r, 'at', { value: 1 })", 'Object.defineProperty(r, …)'],
  ['Object.defineProperties(r.inner, { n: { value: 1 } })', 'Object.defineProperties(r.inner, …)'],
  ['Object.setPrototypeOf(r, null)', 'Object.setPrototypeOf(r, …)'],
  ['Object.freeze(r.tags)', 'Object.freeze(r.tags, …)'],
  ['Object.seal(r)', 'Object.seal(r, …)'],
  ['Object.preventExtensions(r.inner)', 'Object.preventExtensions(r.inner, …)'],
  ["Reflect.set(r, 'at', 1)", 'Reflect.set(r, …)'],
  ["Reflect.deleteProperty(r, 'note')", 'Reflect.deleteProperty(r, …)'],
  ["Reflect.defineProperty(r.inner, 'n', { value: 2 })", 'Reflect.defineProperty(r.inner, …)'],
  ['Reflect.setPrototypeOf(r, null)', 'Reflect.setPrototypeOf(r, …)'],
  ['Reflect.preventExtensions(r)', 'Reflect.preventExtensions(r, …)'],
] as const) {
  const name = /\.(\w+)\(/.exec(call)![1]!;
  REFUSED[`the global ${call.slice(0, call.indexOf('('))}`] = { fn: filter(`via${name[0]!.toUpperCase()}${name.slice(1)}${call.startsWith('Reflect') ? 'R' : 'O'}`, `${call};`), refused, at: call.slice(0, call.indexOf('.')) };
}
REFUSED['a copy into a bytes value'] = { fn: filter('overwrite', 'r.raw.set([1, 2], 0);'), refused: 'r.raw.set(…)', at: 'r.raw' };
REFUSED['a mutating method of a nested list'] = { fn: filter('sortNested', 'r.inner.list.sort();'), refused: 'r.inner.list.sort(…)', at: 'r.inner' };

const ALLOWED: Record<string, Case> = {
  'a map that changes its input and returns it': { operator: 'map', fn: ['function stamp(r: Reading): Reading {', '  r.at = 1;', "  r.tags.push('x');", '  delete r.note;', '  return r;', '}'].join('\n') },
  'a filter-map that changes its input': { operator: 'filter-map', fn: ['function maybe(r: Reading): Reading | undefined {', '  r.inner.n++;', '  return r;', '}'].join('\n') },
  'a flat-map that changes its input': { operator: 'flat-map', fn: ['function spread(r: Reading): Reading[] {', '  Object.assign(r, { at: 2 });', '  return [r];', '}'].join('\n') },
  'a filter reading deep fields': { fn: filter('deep', 'if (r.inner.list[0] === r.inner.n && r.tags.length > 0) return false;', 'const sorted = r.tags.slice().sort().reverse();', 'if (sorted.indexOf(r.sensor) < 0) return false;') },
  'a filter changing a copy of its input': { fn: filter('copied', 'const c = { ...r, tags: [...r.tags] };', 'c.at = 1;', 'c.tags.push(r.sensor);', 'Object.assign(c, { inner: { ...r.inner } });', 'c.inner.n++;', 'if (c.at < 0) return false;') },
  'a filter giving its parameter another value': { fn: filter('rebound', 'r = { ...r, at: 2 };', 'if (r.at < 0) return false;') },
  'a filter with a local of the same name': { fn: filter('shadowed', 'if (r.at > 0) {', '  const r = { at: 1, tags: [] as string[] };', '  r.at = 2;', "  r.tags.push('x');", '}') },
  'Object.assign onto a new object': { fn: filter('fresh', 'const o = Object.assign({}, r, { at: 1 });', 'if (o.at < 0) return false;') },
  'reading through Object and Reflect, freezing a copy': { fn: filter('reflected', "if (Reflect.get(r, 'at') !== Object.keys(r).length) return false;", 'const frozen = Object.freeze({ ...r });', "if (!Reflect.has(frozen, 'at') || Object.isFrozen(r)) return false;") },
  'a copy of a bytes value changed': { fn: filter('copiedBytes', 'const raw = r.raw.slice();', 'raw.set([1], 0);', 'new Uint8Array(r.raw).set([2], 0);', 'if (raw[0] === 0) return false;') },
  'a local Reflect of its own': { fn: filter('ownReflect', 'const Reflect = { set: (o: unknown, k: string, v: number) => v > 0 };', "if (!Reflect.set(r, 'at', 1)) return false;") },
};

/** One service whose transforms are the cases' steps, and the file's text. */
function servicesFile(cases: Case[]): string {
  const steps = cases.map((c) => [`      - operator: ${c.operator ?? 'filter'}`, '        run: |', ...c.fn.split('\n').map((l) => `          ${l}`)].join('\n'));
  return `${HEAD}services:
  s:
    sources: [{type: topic, id: in}]
    transforms:
${steps.join('\n')}
    sinks: [{type: topic, id: out}]
`;
}

async function checked(text: string, modules: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-read-only-'));
  await mkdir(join(dir, 'functions'));
  for (const [name, code] of Object.entries(modules)) await writeFile(join(dir, 'functions', name), code);
  const file = join(dir, 'services.yaml');
  await writeFile(file, text);
  const parsed = await loadServicesFile(file);
  expect(parsed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const diagnostics = await checkFunctionCodeWith(parsed.dataflow, checkDataflow(parsed.dataflow).graph, {});
  return { dir, diagnostics };
}

const nameOf = (fn: string) => /function (\w+)/.exec(fn)![1]!;

describe('functions - a step that passes its record on may only read its value', () => {
  it('functions - each way of changing the value in place is refused, at its place, every one at once; its neighbours that may change a value are not', async () => {
    const cases = [...Object.values(REFUSED), ...Object.values(ALLOWED)];
    const text = servicesFile(cases);
    const { diagnostics } = await checked(text);
    const lines = text.split('\n');
    // Where each refused case's change is written in the services file: the line after its function's first line that holds `at`.
    const expected = Object.entries(REFUSED).map(([what, c]) => {
      const start = lines.findIndex((l) => l.includes(`function ${nameOf(c.fn)}(`));
      const line = lines.findIndex((l, i) => i > start && l.includes(c.at!));
      const id = `s.${kebabCase(nameOf(c.fn))}`;
      return { what, line: line + 1, col: lines[line]!.indexOf(c.at!) + 1, message: `filter \`${id}\` changes its input in place (\`${c.refused}\`): a filter passes the record on as it came; make the change in a map (or filter-map) step` };
    });
    const got = diagnostics.map((d) => ({ code: d.code, line: d.pos.line, col: d.pos.col, message: d.message, file: d.pos.file }));
    // The type errors of nothing: every case compiles (the refusal is the only error).
    expect(got.filter((d) => d.code !== 'input-changed-in-place')).toEqual([]);
    expect(got.map(({ line, col, message }) => ({ line, col, message }))).toEqual(expected.map(({ line, col, message }) => ({ line, col, message })));
    expect(got.every((d) => d.file.endsWith('/services.yaml'))).toBe(true);
    expect(diagnostics[0]!.hint).toBe('read `r` here and return a changed copy from a map before it (`{ ...r, … }`); a copy made here (`const c = { ...r }`) may be changed');
  }, 60_000);

  it('functions - assign-key, assign-timestamp and update-state are refused as a filter is, each in its own words; a map beside them is not', async () => {
    const bump = (name: string, ret: string, extra = '') => `function ${name}(r: Reading${extra}): ${ret} {\n  r.at = r.at + 1;\n  return ${ret === 'void' ? '' : ret === 'string' ? 'r.sensor' : 'r.at'};\n}`;
    const indent = (fn: string, by: string) => fn.split('\n').map((l) => `${by}${l}`).join('\n');
    const text = `${HEAD}services:
  keyed:
    sources: [{type: topic, id: in}]
    states:
      totals: {type: keyed-state, properties: {key: {type: string}, value: {type: u32}}}
    transforms:
      - operator: map
        run: |
${indent(bump('widen', 'Reading').replace('return r.at', 'return r'), '          ')}
    partition:
      assign-key:
        run: |
${indent(bump('bySensor', 'string'), '          ')}
      update-state:
        run: |
${indent(bump('count', 'void'), '          ')}
    sinks: [{type: topic, id: out}]
  timed:
    sources: [{type: topic, id: in}]
    states:
      seen: {type: keyed-state, properties: {key: {type: string}, value: {type: u32}}}
    window:
      tumbling: {duration: 10s}
      assign-timestamp:
        run: |
${indent(bump('stamp', 'number', ', eventTime: number'), '          ')}
      partition:
        assign-key:
          run: |
            function key(r: Reading): string { return r.sensor; }
        update-state:
          run: |
            function note(r: Reading, ctx: Ctx): void { ctx.state('seen').increment(); }
      flush:
        run: |
          function total(ctx: Ctx): Reading { return { sensor: '', at: 0, tags: [], inner: { n: 0, list: [] }, note: undefined, raw: new Uint8Array(0) }; }
    sinks: [{type: topic, id: out}]
`;
    const { diagnostics } = await checked(text);
    const lines = text.split('\n');
    const lineOf = (name: string) => lines.findIndex((l) => l.includes(`function ${name}(`)) + 2;
    expect(diagnostics.map((d) => [d.code, d.pos.line, d.message])).toEqual([
      ['input-changed-in-place', lineOf('bySensor'), 'assign-key `keyed.by-sensor` changes its input in place (`r.at = …`): an assign-key step passes the record on as it came, under the key it returns; make the change in a map (or filter-map) step'],
      ['input-changed-in-place', lineOf('count'), 'update-state `keyed.count` changes its input in place (`r.at = …`): an update-state step passes the record on as it came; make the change in a map (or filter-map) step'],
      ['input-changed-in-place', lineOf('stamp'), 'assign-timestamp `timed.stamp` changes its input in place (`r.at = …`): an assign-timestamp step passes the record on as it came, at the time it returns; make the change in a map (or filter-map) step'],
    ]);
  }, 60_000);

  it('functions - a module is refused at its own line and column for the filter that uses it, not for the map that uses it too', async () => {
    const module = "import type { Reading } from './types.ts';\n\nexport function touch(r: Reading): boolean {\n  r.tags.reverse();\n  return r.at > 0;\n}\n";
    const text = `${HEAD}services:
  s:
    sources: [{type: topic, id: in}]
    transforms:
      - operator: filter
        uses: touch
    sinks: [{type: topic, id: out}]
  t:
    sources: [{type: topic, id: in}]
    transforms:
      - operator: map
        uses: touch
    sinks: [{type: topic, id: flags}]
`.replace('topics:\n', 'topics:\n  flags: {schema: {value: {type: bool}}}\n');
    const { dir, diagnostics } = await checked(text, { 'touch.ts': module });
    expect(diagnostics.map((d) => `${d.pos.file.replace(dir, '.')}:${d.pos.line}:${d.pos.col}: ${d.message}`)).toEqual([
      './functions/touch.ts:4:3: filter `s.touch` changes its input in place (`r.tags.reverse(…)`): a filter passes the record on as it came; make the change in a map (or filter-map) step',
    ]);
  }, 60_000);

  it('functions - an exported arrow function and an export alias are checked as a declaration is', async () => {
    const text = `${HEAD}services:
  s:
    sources: [{type: topic, id: in}]
    transforms:
      - operator: filter
        uses: arrow
      - operator: filter
        uses: aliased
    sinks: [{type: topic, id: out}]
`;
    const { dir, diagnostics } = await checked(text, {
      'arrow.ts': "import type { Reading } from './types.ts';\nexport const arrow = (r: Reading): boolean => {\n  r.at = 0;\n  return true;\n};\n",
      'aliased.ts': "import type { Reading } from './types.ts';\nfunction inner(r: Reading): boolean {\n  r.inner.n--;\n  return true;\n}\nexport { inner as aliased };\n",
    });
    expect(diagnostics.map((d) => `${d.pos.file.replace(dir, '.')}:${d.pos.line}:${d.pos.col}: ${d.code}`)).toEqual([
      './functions/arrow.ts:3:3: input-changed-in-place',
      './functions/aliased.ts:3:3: input-changed-in-place',
    ]);
  }, 60_000);
});
