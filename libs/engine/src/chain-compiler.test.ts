import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { interpretChain, ownedRecord, recordAsMade, runChain, runFlush, type ChainInput, type ChainOptions, type ChainResult, type ChainStep, type FunctionContext } from './chain.ts';
import { MemoryState } from './memory-state.ts';

const step = (id: string, operator: ChainStep['operator'], fn: (...args: never[]) => unknown, extra: Partial<ChainStep> = {}): ChainStep => ({
  id: `svc.${id}`,
  operator,
  fn: fn as ChainStep['fn'],
  ...extra,
});
const rec = (value: unknown, timestamp = 1000, key: string | number | null = null, extra: Partial<ChainInput> = {}): ChainInput => ({ key, value, timestamp, ...extra });

/** What the functions saw, in call order: the same for both ways of running a chain. */
let seen: unknown[] = [];
const look = (what: string, value: unknown, ctx: FunctionContext) => seen.push([what, value, ctx.key() ?? null, ctx.param('p') ?? null]);

const words = step('words', 'flat-map', (s: string, ctx: FunctionContext) => (look('words', s, ctx), s.split(' ').filter((w) => w !== '')));
const long = step('long', 'filter', (w: string, ctx: FunctionContext) => (look('long', w, ctx), w.length > 1));
const byWord = step('by-word', 'assign-key', (w: string, ctx: FunctionContext) => (look('by-word', w, ctx), w));
const count = step('count', 'update-state', (_w: unknown, ctx: FunctionContext) => void ctx.state('n').increment());
const upper = step('upper', 'map', (w: string, ctx: FunctionContext) => (look('upper', w, ctx), w.toUpperCase()), { params: { p: 'x' } });
const later = step('later', 'assign-timestamp', (v: unknown, t: number, ctx: FunctionContext) => (look('later', v, ctx), t + 0.75));
const evens = step('evens', 'filter-map', (v: number) => (v % 2 === 0 ? v / 2 : v === 1 ? null : undefined));
const kv = step('kv', 'map', (v: string) => (v === 'plain' ? { other: v } : { key: v === 'nokey' ? null : v[0], value: v.length }), { setsKey: true });
const kvMaybe = step('kv-maybe', 'filter-map', (v: string) => (v === 'drop' ? null : { key: v, value: `${v}!` }), { setsKey: true });
const kvItems = step('kv-items', 'flat-map', (v: string) => v.split(',').map((part) => (part === 'bad' ? { key: {}, value: part } : { key: part, value: part.length })), { setsKey: true });
const fanTwice = step('fan-twice', 'flat-map', (v: number) => [v, v + 1]);
const boom = step('boom', 'map', (v: unknown) => {
  if (v === 'BOOM' || v === 'boom') throw new Error(`no ${String(v)}`);
  return v;
});
const throwsString = step('throws-string', 'filter', (v: unknown) => {
  if (v === 'x') throw 'plain string';
  return true;
});
const inWindow = step('in-window', 'map', (v: unknown, ctx: FunctionContext) => ({ v, w: ctx.window() }));

const wrong = {
  filter: step('bad-filter', 'filter', (v: unknown) => (v === 'bad' ? 'yes' : true)),
  map: step('bad-map', 'map', (v: unknown) => (v === 'bad' ? undefined : v)),
  flatMap: step('bad-flat-map', 'flat-map', (v: unknown) => (v === 'bad' ? 3 : [v])),
  key: step('bad-key', 'assign-key', (v: unknown) => (v === 'bad' ? {} : v === 'nan' ? Number.NaN : String(v))),
  time: step('bad-time', 'assign-timestamp', (v: unknown, t: number) => (v === 'bad' ? Number.POSITIVE_INFINITY : v === 'str' ? '5' : t + 1.5)),
  flush: step('a-flush', 'flush', () => 1),
  state: step('bad-state', 'update-state', (_v: unknown, ctx: FunctionContext) => ctx.state('nope').get(), { states: ['n'] }),
};

interface Case {
  name: string;
  steps: ChainStep[];
  /** A function: owned records are changed by a run, so each run gets its own. */
  inputs: () => ChainInput[];
  options?: Omit<ChainOptions, 'state'>;
}

const sentences = () => [rec('a bb ccc', 10), rec('', 20), rec('dd a', 30, 'k0', { headers: { h: '1' } })];
const CASES: Case[] = [
  { name: 'word count: flat-map, filter, assign-key, update-state', steps: [words, long, byWord, count], inputs: sentences },
  { name: 'a map after the re-key, and time changed', steps: [words, byWord, upper, later, count], inputs: sentences },
  { name: 'filter-map drops undefined and null and halves the rest', steps: [evens, evens], inputs: () => [1, 2, 3, 4, 8].map((v) => rec(v)) },
  { name: 'key-value results set the key (and a null key, and a plain object)', steps: [kv, byWord], inputs: () => ['abc', 'nokey', 'plain', 'zz'].map((v) => rec(v, 5, 'old')) },
  { name: 'filter-map with key-value results', steps: [kvMaybe, upper], inputs: () => ['a', 'drop', 'b'].map((v) => rec(v)) },
  { name: 'flat-map with key-value items; a bad item fails the record as a whole', steps: [kvItems, count], inputs: () => [rec('a,bb'), rec('c,bad,d'), rec('e')] },
  { name: 'flat-maps nested; the last step a flat-map', steps: [fanTwice, fanTwice], inputs: () => [rec(1), rec(10, 7, 'k')] },
  { name: 'throws at the first step and after a map (the record as that step saw it)', steps: [boom, upper, boom, throwsString], inputs: () => ['ok', 'boom', 'Boom', 'x'].map((v) => rec(v, 3, 'k')) },
  { name: 'a throw in a flat-map item fails that item only', steps: [words, upper, boom], inputs: () => [rec('a boom b'), rec('c')] },
  { name: 'filter returning a non-boolean', steps: [wrong.filter, upper], inputs: () => ['a', 'bad', 'b'].map((v) => rec(v)) },
  { name: 'map returning nothing', steps: [upper, wrong.map], inputs: () => ['a', 'bad'].map((v) => rec(v)) },
  { name: 'flat-map returning a non-array', steps: [wrong.flatMap, upper], inputs: () => ['a', 'bad'].map((v) => rec(v)) },
  { name: 'assign-key returning an object or NaN', steps: [wrong.key, count], inputs: () => ['a', 'bad', 'nan', 'a'].map((v) => rec(v)) },
  { name: 'assign-timestamp returning Infinity, a string, a fraction', steps: [wrong.time, wrong.time], inputs: () => ['a', 'bad', 'str'].map((v) => rec(v, 100)) },
  { name: 'a flush step per record', steps: [upper, wrong.flush], inputs: () => [rec('a')] },
  { name: 'an undeclared state', steps: [byWord, wrong.state], inputs: () => [rec('a')] },
  { name: 'ctx.window() inside and outside a window', steps: [inWindow], inputs: () => [rec('a', 5, null, { window: { start: 0, end: 10 } }), rec('b')] },
  { name: 'outputs not kept (a window state)', steps: [words, byWord, count], inputs: sentences, options: { discardOutputs: true } },
  { name: 'owned: key and time changed in place, then a map', steps: [later, byWord, upper, later], inputs: () => [ownedRecord(null, 'a', 1000), ownedRecord('x', 'b', 2000)], options: { owned: true } },
  { name: 'owned: a filter and re-key only (the inputs leave as themselves)', steps: [long, byWord, later], inputs: () => [ownedRecord(null, 'a', 1000), ownedRecord('x', 'bb', 2000, { h: '2' })], options: { owned: true } },
  { name: 'owned: a flat-map first', steps: [words, byWord, later], inputs: () => [ownedRecord(null, 'a b', 1000)], options: { owned: true } },
  { name: 'owned: a failure after the key changed in place', steps: [byWord, wrong.time], inputs: () => [ownedRecord('k', 'bad', 1000), ownedRecord('k', 'ok', 1000)], options: { owned: true } },
  { name: 'owned records run without owned', steps: [byWord, later], inputs: () => [ownedRecord('k', 'a', 1000)] },
  { name: 'a step without a function', steps: [upper, { id: 'svc.none', operator: 'map', fn: undefined as unknown as ChainStep['fn'] }], inputs: () => [rec('a')] },
];

/** A run as data: outputs (and whether each is its input object), failures, state, what functions saw, the inputs after. */
function observe(run: typeof runChain, c: Case, times = 2) {
  const state = new MemoryState();
  const runs: unknown[] = [];
  seen = [];
  const inputs = c.inputs();
  // Twice over the same inputs: a run again (owned records) starts from what they were made with.
  for (let t = 0; t < times; t++) {
    const result: ChainResult = run(c.steps, inputs, { ...c.options, state });
    runs.push({
      outputs: result.outputs.map((o) => ({ ...o, isInput: inputs.indexOf(o as ChainInput) })),
      failures: result.failures.map(({ error, ...f }) => ({ ...f, error: error instanceof Error ? `${error.name}: ${error.message}` : error, recordClass: f.record.constructor.name })),
    });
  }
  return { runs, state: [...state.entries('n')], seen, inputs: inputs.map((r) => ({ ...recordAsMade(r) })) };
}

describe('engine - compiled chains do what the interpreter does', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('engine - %s', (_name, c) => {
    const interpreted = observe(interpretChain, c);
    const compiled = observe(runChain, c);
    expect(compiled).toEqual(interpreted);
    // Records keep their exact shape: no `undefined` field where the interpreter has none.
    expect(JSON.stringify(compiled.runs)).toBe(JSON.stringify(interpreted.runs));
  });

  it('engine - runChain runs a chain as its compiled function where code can be made', () => {
    const frames: string[] = [];
    const where = step('where', 'map', (v: unknown) => (frames.push(new Error().stack ?? ''), v));
    runChain([where], [rec(1)]);
    interpretChain([where], [rec(1)]);
    expect(frames[0]).toMatch(/ssdk-chain-\d+\.js/);
    expect(frames[1]).not.toMatch(/ssdk-chain-\d+\.js/);
  });

  it('engine - a step given another function, operator or setsKey in the same array makes the chain again', () => {
    const steps = [step('m', 'map', (v: number) => v + 1)];
    expect(runChain(steps, [rec(1)]).outputs[0]!.value).toBe(2);
    steps[0]!.fn = ((v: number) => v * 10) as ChainStep['fn'];
    expect(runChain(steps, [rec(1)]).outputs[0]!.value).toBe(10);
    steps[0] = { ...steps[0]!, operator: 'filter', fn: ((v: number) => v > 1) as ChainStep['fn'] };
    expect(runChain(steps, [rec(1), rec(2)]).outputs.map((o) => o.value)).toEqual([2]);
    steps[0] = step('kv', 'map', (v: number) => ({ key: 'k', value: v }));
    expect(runChain(steps, [rec(1)]).outputs[0]!.key).toBe(null);
    steps[0]!.setsKey = true;
    expect(runChain(steps, [rec(1)]).outputs[0]!.key).toBe('k');
  });

  it('engine - where code cannot be made from strings, the interpreter runs the chain', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssdk-chain-'));
    try {
      const script = join(dir, 'run.ts');
      const chain = fileURLToPath(new URL('./chain.ts', import.meta.url));
      writeFileSync(
        script,
        [
          `import { runChain } from ${JSON.stringify(chain)};`,
          `let refused = false;`,
          `try { new Function('return 1'); } catch { refused = true; }`,
          `const steps = [{ id: 's.words', operator: 'flat-map', fn: (v) => v.split(' ') }, { id: 's.key', operator: 'assign-key', fn: (w) => w }, { id: 's.bad', operator: 'filter', fn: (w) => (w === 'x' ? 1 : true) }];`,
          `const r = runChain(steps, [{ key: null, value: 'a x b', timestamp: 5 }]);`,
          `console.log(JSON.stringify({ refused, outputs: r.outputs.map((o) => [o.key, o.input]), failures: r.failures.map((f) => [f.operator, f.reason]) }));`,
        ].join('\n'),
      );
      const out = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
      expect(JSON.parse(out)).toEqual({
        refused: true,
        outputs: [['a', 0], ['b', 0]],
        failures: [['s.bad', 'FunctionContractError: filter must return a boolean, got number 1']],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A node process with tsx: seconds on a loaded machine.
  }, 60_000);
});

describe('engine - a throw’s dead-letter reason names its place in the user’s code', () => {
  const site = { file: 'services.yaml', line: 24, col: 40 };
  const located = (id: string, operator: ChainStep['operator'], fn: (...args: never[]) => unknown) =>
    step(id, operator, fn, { locate: (error) => (error instanceof Error && error.message === 'no boom' ? site : undefined) });
  const thrower = located('shout', 'map', (v: string) => {
    if (v === 'boom') throw new Error(`no ${v}`);
    if (v === 'other') throw new Error('elsewhere');
    return v;
  });

  it.each([
    ['compiled', runChain],
    ['interpreted', interpretChain],
  ] as const)('engine - %s: the reason ends with (at FILE:LINE:COL) when the step locates the throw, as it was without', (_how, run) => {
    const r = run([thrower], [rec('ok'), rec('boom'), rec('other')]);
    expect(r.failures.map((f) => [f.input, f.operator, f.reason])).toEqual([
      [1, 'svc.shout', 'no boom (at services.yaml:24:40)'],
      [2, 'svc.shout', 'elsewhere'],
    ]);
    // Without a `locate` the reason is the error alone.
    expect(run([boom], [rec('boom')]).failures[0]!.reason).toBe('no boom');
  });

  it('engine - a flush that throws is located the same way', () => {
    const flush = located('top', 'flush', () => {
      throw new Error('no boom');
    });
    expect(runFlush(flush, { start: 0, end: 10 }, {}).failure?.reason).toBe('no boom (at services.yaml:24:40)');
  });
});

