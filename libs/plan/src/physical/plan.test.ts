import { describe, expect, it } from 'vitest';
import type { Dataflow } from '@ssdk/spec';
import { physicalPlanSchema, type PhysicalPlan } from '../document.ts';
import { PlanOptionsError } from '../errors.ts';
import { modelBuilder, t, wordCount } from '../testing.ts';
import { serviceTopicSubject, userTopicSubject } from './naming.ts';
import { mayNameState, planDataflow } from './plan.ts';

const s = t.string();

function plan(df: Dataflow, options: Parameters<typeof planDataflow>[1] = {}): PhysicalPlan {
  const r = planDataflow(df, options);
  if (!r.plan) throw new Error(`no plan: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.plan;
}

const op = (p: PhysicalPlan, id: string) => {
  const found = p.operators.find((o) => o.id === id);
  if (!found) throw new Error(`no operator ${id}`);
  return found;
};

describe('physical plan', () => {
  it('plan - word count: one operator per step, in pipeline order; the time and key steps in the unit before them', () => {
    const p = plan(wordCount());
    expect(p.operators.map((o) => [o.id, o.kind])).toEqual([
      ['word-count.split-sentence', 'flat-map'],
      ['word-count.to-lower', 'fused'],
      ['word-count.increment-count', 'window'],
      ['word-stats.summarize', 'map'],
    ]);
    expect(op(p, 'word-count.to-lower').steps.map((x) => x.id)).toEqual(['word-count.to-lower', 'word-count.event-time', 'word-count.key-by-word']);
    // The window operator: the keyed update-state and the flush that reads its state.
    expect(op(p, 'word-count.increment-count').steps.map((x) => x.operator)).toEqual(['update-state', 'flush']);
    expect(op(p, 'word-count.split-sentence')).toMatchObject({
      service: 'word-count',
      inputs: [{ topic: 'sentences', edge: 'forward' }],
      outputs: ['word-count.split-sentence.out'],
      partitions: 8,
      parallelism: 1,
      deadLetter: 'word-count.dead-letter',
      lateEvents: 'word-count.late-events',
      steps: [{ id: 'word-count.split-sentence', operator: 'flat-map', function: 'splitSentence', input: { value: 'string' }, output: { value: 'string' } }],
    });
    expect(op(p, 'word-count.split-sentence').window).toBeUndefined();
    expect(op(p, 'word-count.increment-count').outputs).toEqual(['top-words']);
    expect(physicalPlanSchema.safeParse(p).success).toBe(true);
  });

  it('plan - the edge into the keyed update-state shuffles, the others forward', () => {
    const p = plan(wordCount());
    expect(op(p, 'word-count.increment-count').inputs).toEqual([{ topic: 'word-count.to-lower.out', edge: 'shuffle' }]);
    const shuffles = p.edges.filter((e) => e.kind === 'shuffle');
    expect(shuffles).toEqual([
      {
        from: { kind: 'operator', id: 'word-count.to-lower' },
        to: { kind: 'operator', id: 'word-count.increment-count' },
        kind: 'shuffle',
        topic: 'word-count.to-lower.out',
      },
    ]);
    expect(p.edges.filter((e) => e.kind === 'forward')).toHaveLength(5);
    expect(p.edges).toContainEqual({ from: { kind: 'topic', id: 'top-words' }, to: { kind: 'operator', id: 'word-stats.summarize' }, kind: 'forward', topic: 'top-words' });
    expect(p.edges).toContainEqual({ from: { kind: 'operator', id: 'word-count.increment-count' }, to: { kind: 'topic', id: 'top-words' }, kind: 'forward', topic: 'top-words' });
  });

  it('plan - state tables, access and ref-state edges', () => {
    const df = wordCount();
    // summarize reads the ref-state; to-lower's code names no state.
    const summarize = df.services['word-stats']!.transforms[0]!;
    summarize.fn.source = { kind: 'inline', lang: 'typescript', code: `function summarize(words: WordCount[], ctx: Ctx): string { return String(ctx.state('counts').get()); }`, codePos: summarize.pos };
    const p = plan(df);
    expect(p.states).toEqual([
      { name: 'count-per-word', owner: 'word-count', table: 'word_count_count_per_word', keyType: 'string', valueType: 'u32', key: { kind: 'primitive', name: 'string' }, value: { kind: 'primitive', name: 'u32' }, windowed: true },
    ]);
    expect(op(p, 'word-count.increment-count').states).toEqual([{ name: 'count-per-word', table: 'word_count_count_per_word', access: 'read-write' }]);
    expect(op(p, 'word-count.to-lower').states).toEqual([]);
    expect(op(p, 'word-stats.summarize').states).toEqual([{ name: 'counts', table: 'word_count_count_per_word', access: 'read' }]);
    expect(p.edges.filter((e) => e.kind === 'state-ref')).toEqual([
      { from: { kind: 'operator', id: 'word-count.increment-count' }, to: { kind: 'operator', id: 'word-stats.summarize' }, kind: 'state-ref', state: 'count-per-word' },
    ]);
  });

  it.each([
    { code: `function f(bid: Bid, ctx: Ctx): void { ctx.state('counts').increment(); }`, may: true },
    { code: `function f(bid: Bid, ctx: Ctx): number { return ctx.state("counts").get() ?? 0; }`, may: true },
    { code: `const COUNTS = 'counts';\nfunction f(bid: Bid, ctx: Ctx): number { return ctx.state(COUNTS).get(); }`, may: true },
    { code: `function f(bid: Bid, ctx: Ctx): number { return ctx.state(bid.kind).get(); }`, may: true },
    { code: `function f(bid: Bid, ctx: Ctx): number { return ctx.state(\`count${'s'}\`).get(); }`, may: true },
    { code: `import { tally } from 'tally';\nfunction f(bid: Bid, ctx: Ctx): number { return tally(ctx); }`, may: true },
    { code: `fn f(bid: Bid, ctx: &Ctx) -> u64 { ctx.state("counts").get() }`, may: true },
    // Type-only imports are erased before the code runs; any other import or re-export brings code.
    { code: `import type { Ctx } from './ctx.js';\nimport type * as T from "./types.js";\nimport type Bid from './bid.js'\nfunction f(bid: T.Bid, ctx: Ctx): number { return bid.price; }`, may: false },
    { code: `import type { Ctx } from './ctx.js'\nimport { tally } from './tally.js';\nfunction f(bid: Bid, ctx: Ctx): number { return tally(ctx); }`, may: true },
    { code: `import type { Ctx } from './ctx.js';\nimport { type Bid, tally } from './tally.js';\nfunction f(bid: Bid, ctx: Ctx): number { return tally(ctx); }`, may: true },
    { code: `export { f } from './tally.js';`, may: true },
    { code: `function f(bid: Bid): Bid { return { ...bid, price: bid.price * 0.908 }; }`, may: false },
    { code: `function f(bid: Bid, ctx: Ctx): number { return ctx.window().start; }`, may: false },
    { code: undefined, may: true },
  ])('plan - a step may name state `counts`: $may for $code', ({ code, may }) => {
    const refPos = { file: 'services.yaml', line: 1, col: 1 };
    const source = code === undefined ? ({ kind: 'uses', ref: 'tally', refPos } as const) : ({ kind: 'inline', lang: 'typescript', code, codePos: refPos } as const);
    expect(mayNameState(source, 'counts')).toBe(may);
  });

  it('plan - topics: user kinds, internal, dead-letter and late-events, with subjects', () => {
    const p = plan(wordCount());
    const topic = (id: string) => p.topics.find((x) => x.id === id);
    expect(p.topics.map((x) => [x.id, x.kind])).toEqual([
      ['sentences', 'source'],
      ['top-words', 'intermediate'],
      ['summaries', 'sink'],
      ['word-count.split-sentence.out', 'internal'],
      ['word-count.to-lower.out', 'internal'],
      ['word-count.dead-letter', 'dead-letter'],
      ['word-count.late-events', 'late-events'],
      ['word-stats.dead-letter', 'dead-letter'],
      ['word-stats.late-events', 'late-events'],
    ]);
    expect(topic('sentences')).toEqual({
      id: 'sentences',
      name: 'sentences',
      kind: 'source',
      subject: 'ssdk.topic.sentences.{partition}',
      partitions: 8,
      value: { type: 'string', schema: { kind: 'primitive', name: 'string' }, converter: 'json' },
    });
    expect(topic('top-words')?.value.type).toBe('list<word-count>');
    expect(topic('word-count.to-lower.out')).toMatchObject({
      subject: 'ssdk.examples.word-count.internal.word-count.to-lower.{partition}',
      key: { type: 'string' },
      value: { type: 'string' },
      service: 'word-count',
    });
    expect(topic('word-count.dead-letter')?.subject).toBe('ssdk.examples.word-count.dead-letter.word-count.{partition}');
    // A dataflow's own topics are named on the bus with its namespace and name: never shared.
    expect(topic('word-count.dead-letter')?.name).toBe('examples.word-count.word-count.dead-letter');
    expect(topic('word-count.to-lower.out')?.name).toBe('examples.word-count.word-count.to-lower.out');
    expect(topic('word-count.late-events')).toMatchObject({ subject: 'ssdk.examples.word-count.late-events.word-count.{partition}', value: { type: 'string' } });
  });

  it('plan - window operators carry the window', () => {
    const p = plan(wordCount());
    const windowed = p.operators.filter((o) => o.window).map((o) => o.id);
    expect(windowed).toEqual(['word-count.to-lower', 'word-count.increment-count']);
    expect(op(p, 'word-count.increment-count').window).toEqual({ kind: 'tumbling', durationMs: 20_000, offsetMs: 0, watermark: { gracePeriodMs: 2_000 } });
  });

  it('plan - fuse merges each run of stateless forward steps', () => {
    const p = plan(wordCount(), { fuse: true });
    expect(p.options.fuse).toBe(true);
    expect(p.operators.map((o) => [o.id, o.kind])).toEqual([
      ['word-count.split-sentence', 'fused'],
      ['word-count.increment-count', 'window'],
      ['word-stats.summarize', 'map'],
    ]);
    const fused = op(p, 'word-count.split-sentence');
    expect(fused.steps.map((x) => x.id)).toEqual(['word-count.split-sentence', 'word-count.to-lower', 'word-count.event-time', 'word-count.key-by-word']);
    expect(fused.outputs).toEqual(['word-count.split-sentence.out']);
    expect(op(p, 'word-count.increment-count').inputs).toEqual([{ topic: 'word-count.split-sentence.out', edge: 'shuffle' }]);
    expect(p.topics.filter((x) => x.kind === 'internal')).toHaveLength(1);
    expect(physicalPlanSchema.safeParse(p).success).toBe(true);
  });

  it('plan - fuse stops at merges and stateful steps; a split into sinks becomes branches of one unit', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { a: s, b: s, x: s, y: s },
      services: {
        svc: {
          sources: [b.source('a', [b.step('map', 'fromA', [s], s)]), b.source('b', [b.step('map', 'fromB', [s], s)])],
          transforms: [b.step('map', 'clean', [s], s), b.step('filter', 'keep', [s], t.bool())],
          sinks: [b.sink('x', [b.step('map', 'toX', [s], s)]), b.sink('y')],
        },
      },
    });
    const p = plan(df, { fuse: true });
    expect(p.operators.map((o) => [o.id, o.steps.length])).toEqual([
      ['svc.from-a', 1],
      ['svc.from-b', 1],
      ['svc.clean', 3],
    ]);
    expect(op(p, 'svc.clean').inputs.map((i) => i.topic)).toEqual(['svc.from-a.out', 'svc.from-b.out']);
    // The sink without transforms is a branch without steps; no internal topic is left.
    expect(op(p, 'svc.clean').outputs).toEqual(['y', 'x']);
    expect(op(p, 'svc.clean').branches).toEqual([
      { steps: [], outputs: ['y'] },
      { steps: ['svc.to-x'], outputs: ['x'] },
    ]);
    expect(p.topics.some((t) => t.id === 'svc.clean.out')).toBe(false);
    expect(physicalPlanSchema.safeParse(p).success).toBe(true);
  });

  it('plan - with fuse, a trunk split into several sinks with transforms is one unit with a branch per sink; without fuse, a unit per step', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { a: s, x: s, y: s },
      services: {
        svc: {
          sources: [b.source('a')],
          transforms: [b.step('filter', 'valid', [s], t.bool()), b.step('map', 'clean', [s], s)],
          sinks: [b.sink('x', [b.step('filter', 'isX', [s], t.bool())]), b.sink('y', [b.step('filter', 'isY', [s], t.bool()), b.step('map', 'toY', [s], s)])],
        },
      },
    });
    const fused = plan(df, { fuse: true });
    expect(fused.operators.map((o) => [o.id, o.kind, o.steps.map((x) => x.id)])).toEqual([
      ['svc.valid', 'fused', ['svc.valid', 'svc.clean', 'svc.is-x', 'svc.is-y', 'svc.to-y']],
    ]);
    expect(op(fused, 'svc.valid')).toMatchObject({
      inputs: [{ topic: 'a', edge: 'forward' }],
      outputs: ['x', 'y'],
      branches: [
        { steps: ['svc.is-x'], outputs: ['x'] },
        { steps: ['svc.is-y', 'svc.to-y'], outputs: ['y'] },
      ],
    });
    expect(fused.edges.filter((e) => e.kind !== 'state-ref').map((e) => [e.from.id, e.to.id])).toEqual([
      ['a', 'svc.valid'],
      ['svc.valid', 'x'],
      ['svc.valid', 'y'],
    ]);
    expect(physicalPlanSchema.safeParse(fused).success).toBe(true);
    const apart = plan(df);
    expect(apart.operators.map((o) => o.id)).toEqual(['svc.valid', 'svc.clean', 'svc.is-x', 'svc.is-y', 'svc.to-y']);
    expect(apart.operators.some((o) => o.branches)).toBe(false);
  });

  it('plan - merged sources feed the first trunk step, split sinks read the last', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { a: s, b: s, x: s, y: s },
      services: {
        svc: {
          sources: [b.source('a'), b.source('b')],
          transforms: [b.step('map', 'clean', [s], s)],
          sinks: [b.sink('x', [b.step('map', 'toX', [s], s)]), b.sink('y')],
        },
      },
    });
    const p = plan(df);
    expect(op(p, 'svc.clean').inputs).toEqual([
      { topic: 'a', edge: 'forward' },
      { topic: 'b', edge: 'forward' },
    ]);
    expect(op(p, 'svc.clean').outputs).toEqual(['svc.clean.out', 'y']);
    expect(op(p, 'svc.to-x')).toMatchObject({ inputs: [{ topic: 'svc.clean.out', edge: 'forward' }], outputs: ['x'] });
  });

  it('plan - a service without steps still moves its records', () => {
    const b = modelBuilder();
    const df = b.dataflow({ topics: { a: s, b: s, c: s }, services: { copy: { sources: [b.source('a'), b.source('b')], sinks: [b.sink('c')] } } });
    const p = plan(df);
    expect(p.operators).toMatchObject([
      { id: 'copy.passthrough', kind: 'passthrough', steps: [], inputs: [{ topic: 'a' }, { topic: 'b' }], outputs: ['c'], states: [] },
    ]);
    expect(physicalPlanSchema.safeParse(p).success).toBe(true);
  });

  it('plan - operator ids use the kebab-case function name, numbered on repeats', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s, out: s },
      services: {
        svc: {
          sources: [b.source('in')],
          transforms: [
            b.step('map', 'trim', [s], s),
            b.step('map', 'x', [s], s, { uses: 'count-words' }),
            b.step('map', 'trim', [s], s),
            b.step('map', 'trim', [s], s),
          ],
          sinks: [b.sink('out')],
        },
      },
    });
    expect(plan(df).operators.map((o) => o.id)).toEqual(['svc.trim', 'svc.count-words', 'svc.trim-2', 'svc.trim-3']);
  });

  it('plan - re-keying inside a partition shuffles again', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s, out: s },
      services: {
        svc: {
          sources: [b.source('in')],
          partition: b.partition({
            assignKey: b.step('assign-key', 'byWord', [s], s),
            transforms: [b.step('map', 'rekey', [s], t.kv(t.u64(), s)), b.step('map', 'keep', [s], s), b.step('map', 'again', [s], s)],
          }),
          sinks: [b.sink('out')],
        },
      },
    });
    const p = plan(df);
    expect(p.operators.map((o) => [o.id, o.inputs[0]?.edge])).toEqual([
      ['svc.by-word', 'forward'],
      ['svc.rekey', 'shuffle'],
      ['svc.keep', 'shuffle'],
      ['svc.again', 'forward'],
    ]);
  });

  it('plan - a partition update-state writes the records it counted to the sinks', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s, out: s },
      services: {
        svc: {
          sources: [b.source('in')],
          states: [b.owned('totals')],
          partition: b.partition({ assignKey: b.step('assign-key', 'byWord', [s], s), updateState: b.step('update-state', 'addToTotal', [s], t.void()) }),
          sinks: [b.sink('out')],
        },
      },
    });
    const p = plan(df);
    expect(op(p, 'svc.add-to-total')).toMatchObject({
      kind: 'update-state',
      inputs: [{ topic: 'svc.by-word.out', edge: 'shuffle' }],
      outputs: ['out'],
      states: [{ name: 'totals', table: 'svc_totals', access: 'read-write' }],
    });
    expect(op(p, 'svc.add-to-total').window).toBeUndefined();
    expect(p.topics.find((x) => x.id === 'svc.by-word.out')?.key).toEqual({ type: 'string', schema: { kind: 'primitive', name: 'string' }, converter: 'json' });
  });

  it('plan - a schedule source reads the ticks of its own topic', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { out: s },
      services: { tick: { sources: [b.schedule('every-minute', { cron: '* * * * *' })], transforms: [b.step('map', 'now', [], s)], sinks: [b.sink('out')] } },
    });
    const p = plan(df);
    expect(p.topics.find((x) => x.kind === 'schedule')).toMatchObject({
      id: 'tick.schedule.every-minute',
      subject: 'ssdk.test.test-flow.schedule.tick.every-minute.{partition}',
      partitions: 1,
      schedule: { name: 'every-minute', cron: '* * * * *' },
    });
    expect(op(p, 'tick.now').inputs).toEqual([{ topic: 'tick.schedule.every-minute', edge: 'forward' }]);
  });

  it('plan - table names are valid PostgreSQL identifiers, unique and bounded', () => {
    const b = modelBuilder();
    const long = 'a'.repeat(80);
    const update = () => b.partition({ assignKey: b.step('assign-key', 'k', [s], s), updateState: b.step('update-state', 'u', [s], t.void()) });
    const df = b.dataflow({
      topics: { in: s },
      services: {
        'My-Service': { sources: [b.source('in')], states: [b.owned('Count.Per Word')], partition: update() },
        my_service: { sources: [b.source('in')], states: [b.owned('count-per-word-x')], partition: update() },
        '9lives': { sources: [b.source('in')], states: [b.owned(long)], partition: update() },
      },
    });
    const tables = plan(df).states.map((x) => x.table);
    expect(tables[0]).toBe('my_service_count_per_word');
    expect(tables[1]).toBe('my_service_count_per_word_x');
    expect(tables[2]).toMatch(/^s_9lives_a+_[0-9a-f]{8}$/);
    for (const name of tables) expect(name).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
    const clash = modelBuilder();
    const df2 = clash.dataflow({
      topics: { in: s },
      services: {
        'a-b': { sources: [clash.source('in')], states: [clash.owned('c')], partition: update() },
        a_b: { sources: [clash.source('in')], states: [clash.owned('d')], partition: update() },
        a: { sources: [clash.source('in')], states: [clash.owned('b_c')], partition: update() },
      },
    });
    expect(plan(df2).states.map((x) => x.table)).toEqual(['a_b_c', 'a_b_d', 'a_b_c_2']);
  });

  it('plan - options: partitions from the file, then the caller; prefix in every subject', () => {
    const b = modelBuilder();
    const df = b.dataflow({ settings: { partitions: 3 }, topics: { in: s, out: s }, services: { svc: { sources: [b.source('in')], sinks: [b.sink('out')] } } });
    expect(plan(df).options).toEqual({ partitions: 3, fuse: false, subjectPrefix: 'ssdk' });
    const p = plan(df, { partitions: 16, subjectPrefix: 'acme.prod' });
    expect(p.options.partitions).toBe(16);
    expect(p.topics.every((x) => x.partitions === 16 && x.subject.startsWith('acme.prod.'))).toBe(true);
    expect(() => planDataflow(df, { partitions: 0 })).toThrow(PlanOptionsError);
  });

  it('plan - step settings: the file config with per-step overrides', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      settings: { functionTimeoutMs: 500, grants: ['clock'] },
      topics: { in: s, out: s },
      services: {
        svc: {
          sources: [b.source('in')],
          transforms: [b.step('map', 'plain', [s], s), b.step('map', 'slow', [s], s, { settings: { functionTimeoutMs: 5_000, isolation: 'native' } })],
          sinks: [b.sink('out')],
        },
      },
    });
    const p = plan(df);
    expect(op(p, 'svc.plain').steps[0]?.settings).toEqual({ isolation: 'wasm', functionTimeoutMs: 500, grants: ['clock'] });
    expect(op(p, 'svc.slow').steps[0]?.settings).toEqual({ isolation: 'native', functionTimeoutMs: 5_000, grants: ['clock'] });
  });

  it('plan - isolation and grants (with the env grant\'s variables) are part of each step and of the hash', () => {
    const b = modelBuilder();
    const make = (extra: Parameters<typeof b.step>[4]) =>
      b.dataflow({
        settings: { grants: ['env'], env: ['REGION'] },
        topics: { in: s, out: s },
        services: { svc: { sources: [b.source('in')], transforms: [b.step('map', 'm', [s], s, extra)], sinks: [b.sink('out')] } },
      });
    const inherited = plan(make(undefined));
    expect(op(inherited, 'svc.m').steps[0]?.settings).toEqual({ isolation: 'wasm', functionTimeoutMs: 1000, grants: ['env'], env: ['REGION'] });
    // A step's grants replace the file's: its variables do not leak in from `config`.
    const own = plan(make({ settings: { grants: ['clock'] } }));
    expect(op(own, 'svc.m').steps[0]?.settings).toEqual({ isolation: 'wasm', functionTimeoutMs: 1000, grants: ['clock'] });
    const other = plan(make({ settings: { grants: ['env'], env: ['TOKEN'] } }));
    const native = plan(make({ settings: { isolation: 'native' } }));
    expect(new Set([inherited.hash, own.hash, other.hash, native.hash]).size).toBe(4);
  });

  it('plan - a dataflow with errors has no plan, warnings do not block it', () => {
    const b = modelBuilder();
    const bad = b.dataflow({ topics: { in: s }, services: { svc: { sources: [b.source('nope')], sinks: [b.sink('in')] } } });
    const r = planDataflow(bad);
    expect(r.plan).toBeUndefined();
    expect(r.diagnostics.map((d) => d.code)).toContain('unknown-topic');

    const b2 = modelBuilder();
    const warned = b2.dataflow({ topics: { in: s, spare: s, out: s }, services: { svc: { sources: [b2.source('in')], sinks: [b2.sink('out')] } } });
    const ok = planDataflow(warned);
    expect(ok.diagnostics.map((d) => d.code)).toEqual(['unused-topic']);
    expect(ok.plan?.topics.find((x) => x.id === 'spare')?.kind).toBe('unused');
  });

  it('plan - the document shape is checked by its schema', () => {
    const p = plan(wordCount());
    expect(physicalPlanSchema.safeParse({ ...p, planVersion: 1 }).success).toBe(false);
    expect(physicalPlanSchema.safeParse({ ...p, hash: 'abc' }).success).toBe(false);
    const broken = structuredClone(p);
    (broken.operators[0] as { kind: string }).kind = 'teleport';
    expect(physicalPlanSchema.safeParse(broken).success).toBe(false);
    expect(physicalPlanSchema.parse(JSON.parse(JSON.stringify(p)))).toEqual(p);
  });
});

/** Each unit's steps, by unit id, in plan order. */
const layout = (p: PhysicalPlan) => p.operators.map((o) => [o.id, o.steps.map((x) => x.id)]);

describe('plan - the steps that route records run in the unit that sends them', () => {
  const windowed = (b: ReturnType<typeof modelBuilder>, init: { transforms?: ReturnType<typeof b.step>[] } = {}) =>
    b.window({
      assignTimestamp: b.step('assign-timestamp', 'eventTime', [s, t.number()], t.number()),
      ...(init.transforms ? { transforms: init.transforms } : {}),
      partition: b.partition({ assignKey: b.step('assign-key', 'byWord', [s], s), updateState: b.step('update-state', 'count', [s], t.void()) }),
      flush: b.step('flush', 'counts', [], s),
    });

  it('plan - a window after a transform: its timestamp and key steps end the transform\'s unit, which carries the window; one hop to the window', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s, out: s },
      services: { svc: { sources: [b.source('in', [b.step('filter', 'valid', [s], t.bool())])], states: [b.owned('counts')], window: windowed(b), sinks: [b.sink('out')] } },
    });
    const p = plan(df);
    expect(layout(p)).toEqual([
      ['svc.valid', ['svc.valid', 'svc.event-time', 'svc.by-word']],
      ['svc.count', ['svc.count', 'svc.counts']],
    ]);
    expect(op(p, 'svc.valid')).toMatchObject({ kind: 'fused', inputs: [{ topic: 'in', edge: 'forward' }], outputs: ['svc.valid.out'], states: [], deadLetter: 'svc.dead-letter', lateEvents: 'svc.late-events' });
    expect(op(p, 'svc.valid').window).toEqual(op(p, 'svc.count').window);
    expect(op(p, 'svc.count').inputs).toEqual([{ topic: 'svc.valid.out', edge: 'shuffle' }]);
    // The one internal topic carries the keyed records the window reads; late events are what the timestamp step reads.
    expect(p.topics.filter((x) => x.kind === 'internal').map((x) => [x.id, x.key?.type, x.value.type])).toEqual([['svc.valid.out', 'string', 'string']]);
    expect(p.topics.find((x) => x.id === 'svc.late-events')?.value.type).toBe('string');
    expect(physicalPlanSchema.safeParse(p).success).toBe(true);
  });

  it('plan - a window reading its source directly: the timestamp and key steps are one unit of their own', () => {
    const b = modelBuilder();
    const df = b.dataflow({ topics: { in: s, out: s }, services: { svc: { sources: [b.source('in')], states: [b.owned('counts')], window: windowed(b), sinks: [b.sink('out')] } } });
    const p = plan(df);
    expect(layout(p)).toEqual([
      ['svc.event-time', ['svc.event-time', 'svc.by-word']],
      ['svc.count', ['svc.count', 'svc.counts']],
    ]);
    expect(op(p, 'svc.event-time')).toMatchObject({ kind: 'fused', inputs: [{ topic: 'in', edge: 'forward' }], window: { kind: 'tumbling' } });
    expect(op(p, 'svc.count').inputs).toEqual([{ topic: 'svc.event-time.out', edge: 'shuffle' }]);
  });

  it('plan - a window with transforms between its timestamp and key steps: each routing step ends the unit before it; the window\'s own transforms stay units of their own', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s, out: s },
      services: {
        svc: { sources: [b.source('in')], states: [b.owned('counts')], window: windowed(b, { transforms: [b.step('map', 'clean', [s], s), b.step('filter', 'keep', [s], t.bool())] }), sinks: [b.sink('out')] },
      },
    });
    expect(layout(plan(df))).toEqual([
      ['svc.event-time', ['svc.event-time']],
      ['svc.clean', ['svc.clean']],
      ['svc.keep', ['svc.keep', 'svc.by-word']],
      ['svc.count', ['svc.count', 'svc.counts']],
    ]);
  });

  it('plan - a partition after a transform: its key step ends the transform\'s unit; the keyed steps after it are shuffled to as before', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s, out: s },
      services: {
        svc: {
          sources: [b.source('in')],
          states: [b.owned('totals')],
          transforms: [b.step('map', 'clean', [s], s)],
          partition: b.partition({ assignKey: b.step('assign-key', 'byWord', [s], s), transforms: [b.step('map', 'tag', [s], s)], updateState: b.step('update-state', 'addToTotal', [s], t.void()) }),
          sinks: [b.sink('out')],
        },
      },
    });
    const p = plan(df);
    expect(layout(p)).toEqual([
      ['svc.clean', ['svc.clean', 'svc.by-word']],
      ['svc.tag', ['svc.tag']],
      ['svc.add-to-total', ['svc.add-to-total']],
    ]);
    expect(p.operators.map((o) => o.inputs)).toEqual([[{ topic: 'in', edge: 'forward' }], [{ topic: 'svc.clean.out', edge: 'shuffle' }], [{ topic: 'svc.tag.out', edge: 'forward' }]]);
    expect(p.topics.find((x) => x.id === 'svc.clean.out')?.key?.type).toBe('string');
    expect(op(p, 'svc.clean').window).toBeUndefined();
  });

  it('plan - a key step fed by two sources is a unit of its own: no one unit sends it all its records', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { a: s, b: s, out: s },
      services: {
        svc: {
          sources: [b.source('a', [b.step('map', 'fromA', [s], s)]), b.source('b')],
          states: [b.owned('totals')],
          partition: b.partition({ assignKey: b.step('assign-key', 'byWord', [s], s), updateState: b.step('update-state', 'addToTotal', [s], t.void()) }),
          sinks: [b.sink('out')],
        },
      },
    });
    const p = plan(df);
    expect(layout(p)).toEqual([
      ['svc.from-a', ['svc.from-a']],
      ['svc.by-word', ['svc.by-word']],
      ['svc.add-to-total', ['svc.add-to-total']],
    ]);
    expect(op(p, 'svc.by-word').inputs).toEqual([
      { topic: 'svc.from-a.out', edge: 'forward' },
      { topic: 'b', edge: 'forward' },
    ]);
  });

  it('plan - fused plans are as before: the routing steps were already in their run', () => {
    expect(layout(plan(wordCount(), { fuse: true }))[0]).toEqual(['word-count.split-sentence', ['word-count.split-sentence', 'word-count.to-lower', 'word-count.event-time', 'word-count.key-by-word']]);
  });
});

describe('plan - names', () => {
  it('plan - subject tokens never merge two names: an escaped name keeps a hash of itself', () => {
    const a = serviceTopicSubject('ssdk', { namespace: 'acme', name: 'pipe.a' }, 'internal', 'svc');
    const b = serviceTopicSubject('ssdk', { namespace: 'acme', name: 'pipe_a' }, 'internal', 'svc');
    const c = serviceTopicSubject('ssdk', { namespace: 'acme', name: 'pipe-a' }, 'internal', 'svc');
    expect(new Set([a, b, c]).size).toBe(3);
    expect(b).toBe('ssdk.acme.pipe_a.internal.svc.{partition}');
    expect(c).toBe('ssdk.acme.pipe-a.internal.svc.{partition}');
    expect(a).toMatch(/^ssdk\.acme\.pipe_a_[0-9a-f]{8}\.internal\.svc\.\{partition\}$/);
    expect(userTopicSubject('ssdk', 'a.b')).not.toBe(userTopicSubject('ssdk', 'a_b'));
  });
});
