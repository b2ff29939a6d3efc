import { describe, expect, it } from 'vitest';
import { checkDataflow } from '../check.ts';
import { modelBuilder, t, withCode } from '../testing.ts';

const s = t.string();

describe('topic cycles', () => {
  it('plan - services feeding each other through topics form a cycle', () => {
    const b = modelBuilder();
    const closing = b.sink('b-in');
    const df = b.dataflow({
      topics: { in: s, 'a-in': s, 'b-in': s, out: s },
      services: {
        a: { sources: [b.source('in'), b.source('a-in')], sinks: [closing] },
        b: { sources: [b.source('b-in')], sinks: [b.sink('a-in'), b.sink('out')] },
        c: { sources: [b.source('out')], sinks: [], states: [b.owned('x')] },
      },
    });
    expect(withCode(checkDataflow(df).diagnostics, 'topic-cycle')).toEqual([
      {
        severity: 'error',
        code: 'topic-cycle',
        message: 'services `a`, `b` form a cycle through topics `a-in`, `b-in`',
        hint: 'records would circle forever and windows in the loop could never close; write to a new topic that no service in the loop reads',
        pos: closing.pos,
      },
    ]);
  });

  it('plan - a service reading a topic it writes', () => {
    const b = modelBuilder();
    const sink = b.sink('loop');
    const df = b.dataflow({ topics: { loop: s }, services: { echo: { sources: [b.source('loop')], sinks: [sink] } } });
    expect(withCode(checkDataflow(df).diagnostics, 'topic-cycle')).toMatchObject([
      { message: 'service `echo` reads topic `loop` that it writes itself', pos: sink.pos },
    ]);
  });

  it('plan - a chain through topics is not a cycle', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { a: s, b: s, c: s },
      services: { one: { sources: [b.source('a')], sinks: [b.sink('b')] }, two: { sources: [b.source('b'), b.source('a')], sinks: [b.sink('c')] } },
    });
    expect(checkDataflow(df).diagnostics).toEqual([]);
  });
});
