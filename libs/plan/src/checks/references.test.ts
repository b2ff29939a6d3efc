import { describe, expect, it } from 'vitest';
import { checkDataflow } from '../check.ts';
import { modelBuilder, t, withCode, wordCount } from '../testing.ts';

const s = t.string();

describe('reference checks', () => {
  it('plan - the word-count fixture is clean', () => {
    expect(checkDataflow(wordCount()).diagnostics).toEqual([]);
  });

  it('plan - unknown topic in a source, with a did-you-mean hint', () => {
    const b = modelBuilder();
    const source = b.source('sentence');
    const df = b.dataflow({ topics: { sentences: s, out: s }, services: { svc: { sources: [source], sinks: [b.sink('out')] } } });
    expect(withCode(checkDataflow(df).diagnostics, 'unknown-topic')).toEqual([
      {
        severity: 'error',
        code: 'unknown-topic',
        message: 'unknown topic `sentence` in a source of service `svc`',
        hint: 'did you mean `sentences`?',
        pos: source.pos,
      },
    ]);
  });

  it('plan - unknown topic in a sink lists the declared topics', () => {
    const b = modelBuilder();
    const sink = b.sink('zzz');
    const df = b.dataflow({ topics: { in: s, out: s }, services: { svc: { sources: [b.source('in')], sinks: [sink, b.sink('out')] } } });
    expect(withCode(checkDataflow(df).diagnostics, 'unknown-topic')).toMatchObject([
      { message: 'unknown topic `zzz` in a sink of service `svc`', hint: 'the declared topics are `in`, `out`', pos: sink.pos },
    ]);
  });

  it('plan - unknown named types in types, topics, states and signatures', () => {
    const b = modelBuilder();
    const refPos = b.pos();
    const step = b.step('map', 'toCar', [t.named('Sentence')], t.named('CarEvnt'));
    const state = b.owned('cars', t.keyed(s, t.named('vehicle')));
    const df = b.dataflow({
      types: { 'car-event': t.object({ id: s, owner: t.named('person', refPos) }), sentence: s },
      topics: { in: t.named('sentence'), out: t.named('truck') },
      services: { svc: { sources: [b.source('in')], states: [state], transforms: [step], sinks: [b.sink('out')] } },
    });
    const diags = withCode(checkDataflow(df).diagnostics, 'unknown-type');
    // In file order: the reference inside `car-event` was written first.
    expect(diags.map((d) => [d.message, d.pos])).toEqual([
      ['unknown type `person` in type `car-event`', refPos],
      ['unknown type `CarEvnt` in the signature of `toCar` in service `svc`', step.fn.pos],
      ['unknown type `vehicle` in state `cars` of service `svc`', state.pos],
      ['unknown type `truck` in topic `out`', df.topics['out']?.pos],
    ]);
    expect(diags[0]?.hint).toBe('declare it under `types:`');
    expect(diags[1]?.hint).toBe('did you mean `car-event`?');
  });

  it('plan - types that refer to themselves are reported', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      types: {
        tree: t.object({ children: t.list(t.named('tree')) }),
        ping: t.object({ pong: t.option(t.named('pong')) }),
        pong: t.object({ ping: t.named('Ping') }),
        leaf: s,
      },
    });
    const diags = withCode(checkDataflow(df).diagnostics, 'recursive-type');
    expect(diags.map((d) => [d.message, d.pos])).toEqual([
      ['type `tree` refers to itself', df.types['tree']?.pos],
      ['types `ping`, `pong` refer to each other in a cycle', df.types['ping']?.pos],
    ]);
    expect(diags[0]?.hint).toContain('cannot be recursive');
  });

  it('plan - unknown seed function in `uses:`', () => {
    const b = modelBuilder();
    const good = b.step('map', 'x', undefined, undefined, { uses: 'splitSentence' });
    const bad = b.step('map', 'x', undefined, undefined, { uses: 'split-sentense' });
    const df = b.dataflow({
      dialect: 'seed',
      functions: { 'split-sentence': { operator: 'map', params: [s], returns: s } },
      topics: { in: s, out: s },
      services: { svc: { sources: [b.source('in')], transforms: [good, bad], sinks: [b.sink('out')] } },
    });
    expect(withCode(checkDataflow(df).diagnostics, 'unknown-function')).toEqual([
      {
        severity: 'error',
        code: 'unknown-function',
        message: 'unknown function `split-sentense` in operation `svc`',
        hint: 'did you mean `split-sentence`?',
        pos: bad.fn.source.kind === 'uses' ? bad.fn.source.refPos : bad.pos,
      },
    ]);
  });

  it('plan - a seed function used as another operator kind', () => {
    const b = modelBuilder();
    const step = b.step('filter', 'x', undefined, undefined, { uses: 'len' });
    const df = b.dataflow({
      dialect: 'seed',
      functions: { len: { operator: 'map', params: [s], returns: t.u64() } },
      topics: { in: s, out: s },
      services: { svc: { sources: [b.source('in')], transforms: [step], sinks: [b.sink('out')] } },
    });
    expect(withCode(checkDataflow(df).diagnostics, 'function-operator-mismatch')).toMatchObject([
      { message: 'step `len` in operation `svc` runs as `filter` but function `len` is declared as `map`', pos: step.pos },
    ]);
  });

  it("plan - a user topic may not take a service's dead-letter id", () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s, 'svc.dead-letter': s },
      services: { svc: { sources: [b.source('in')], sinks: [b.sink('svc.dead-letter')] } },
    });
    expect(withCode(checkDataflow(df).diagnostics, 'reserved-topic-id')).toMatchObject([
      { message: 'topic `svc.dead-letter` takes the id of the dead-letter topic of service `svc`', pos: df.topics['svc.dead-letter']?.pos },
    ]);
  });

  it('plan - a declared topic nobody uses is a warning', () => {
    const b = modelBuilder();
    const df = b.dataflow({ topics: { in: s, out: s, spare: s }, services: { svc: { sources: [b.source('in')], sinks: [b.sink('out')] } } });
    expect(checkDataflow(df).diagnostics).toEqual([
      {
        severity: 'warning',
        code: 'unused-topic',
        message: 'topic `spare` is declared but no service reads or writes it',
        hint: "remove it, or name it in a service's `sources` or `sinks`",
        pos: df.topics['spare']?.pos,
      },
    ]);
  });

  it('plan - every problem is reported at once, in file order', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s },
      services: {
        a: { sources: [b.source('nope')], sinks: [b.sink('gone')] },
        b: { sources: [], transforms: [b.step('update-state', 'count', [s], t.void())], sinks: [b.sink('in')] },
      },
    });
    const diags = checkDataflow(df).diagnostics;
    expect(diags.map((d) => d.code).sort()).toEqual(
      ['unknown-topic', 'unknown-topic', 'service-no-source', 'operator-misplaced', 'update-state-without-state'].sort(),
    );
    const lines = diags.map((d) => d.pos.line);
    expect(lines).toEqual([...lines].sort((x, y) => x - y));
  });
});
