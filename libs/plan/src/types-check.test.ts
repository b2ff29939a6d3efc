import { describe, expect, it } from 'vitest';
import type { Dataflow, Step, TypeRef } from '@ssdk/spec';
import { checkDataflow } from './check.ts';
import { modelBuilder, t, type ModelBuilder, type TopicInit } from './testing.ts';
import { typeToString } from './type-system.ts';

const TYPE_CODES = ['type-mismatch', 'return-type-mismatch', 'merge-type-mismatch', 'sink-type-mismatch'];
const s = t.string();

/** One service: `in` → steps (plain transforms) → `out`. */
function chain(b: ModelBuilder, steps: Step[], from: TopicInit = s, to: TopicInit = t.unknown(), types: Record<string, TypeRef> = {}): Dataflow {
  return b.dataflow({
    types,
    topics: { in: from, out: to },
    services: { svc: { sources: [b.source('in')], transforms: steps, sinks: [b.sink('out')] } },
  });
}

function typeDiagnostics(df: Dataflow) {
  return checkDataflow(df).diagnostics.filter((d) => TYPE_CODES.includes(d.code));
}

/** What the checker computed after a step, printed. */
function after(df: Dataflow, step: Step): { key?: string; value: string } {
  const out = checkDataflow(df).graph.stepTypes.get(step)?.output;
  if (!out) throw new Error('step was not typed');
  return out.key ? { key: typeToString(out.key, df.types), value: typeToString(out.value, df.types) } : { value: typeToString(out.value, df.types) };
}

describe('type checker', () => {
  it('plan - filter passes its input through', () => {
    const b = modelBuilder();
    const keep = b.step('filter', 'isLong', [s], t.bool());
    const df = chain(b, [keep, b.step('map', 'len', [s], t.u64())], s, t.u64());
    expect(typeDiagnostics(df)).toEqual([]);
    expect(after(df, keep)).toEqual({ value: 'string' });
  });

  it('plan - filter whose input does not match what arrives', () => {
    const b = modelBuilder();
    const keep = b.step('filter', 'isLong', [s], t.bool());
    const [d, ...rest] = typeDiagnostics(chain(b, [keep], t.u64()));
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      severity: 'error',
      code: 'type-mismatch',
      message: '`filter` step `isLong` in service `svc` takes `string`, but receives `u64` from topic `in`',
      pos: keep.pos,
    });
    expect(d?.hint).toContain('declare the parameter as `u64`');
  });

  it('plan - filter that does not return bool', () => {
    const b = modelBuilder();
    const keep = b.step('filter', 'isLong', [s], s);
    const [d] = typeDiagnostics(chain(b, [keep]));
    expect(d).toMatchObject({ code: 'return-type-mismatch', message: '`filter` step `isLong` in service `svc` returns `string`; a filter returns `bool`', pos: keep.pos });
  });

  it('plan - map output flows to the next step', () => {
    const b = modelBuilder();
    const len = b.step('map', 'len', [s], t.u64());
    const shout = b.step('map', 'shout', [s], s);
    const [d, ...rest] = typeDiagnostics(chain(b, [len, shout]));
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ code: 'type-mismatch', message: '`map` step `shout` in service `svc` takes `string`, but receives `u64` from step `len`', pos: shout.pos });
  });

  it('plan - map that returns void', () => {
    const b = modelBuilder();
    const m = b.step('map', 'nothing', [s], t.void());
    expect(typeDiagnostics(chain(b, [m]))).toMatchObject([{ code: 'return-type-mismatch', pos: m.pos }]);
  });

  it('plan - filter-map unwraps its option', () => {
    const b = modelBuilder();
    const parse = b.step('filter-map', 'parse', [s], t.option(t.u64()));
    const df = chain(b, [parse, b.step('map', 'double', [t.u64()], t.u64())], s, t.u64());
    expect(typeDiagnostics(df)).toEqual([]);
    expect(after(df, parse)).toEqual({ value: 'u64' });
  });

  it('plan - a step after filter-map that expects the option', () => {
    const b = modelBuilder();
    const next = b.step('map', 'orZero', [t.option(t.u64())], t.u64());
    const df = chain(b, [b.step('filter-map', 'parse', [s], t.option(t.u64())), next]);
    expect(typeDiagnostics(df)).toMatchObject([
      { code: 'type-mismatch', message: '`map` step `orZero` in service `svc` takes `option<u64>`, but receives `u64` from step `parse`', pos: next.pos },
    ]);
  });

  it('plan - flat-map passes list items on', () => {
    const b = modelBuilder();
    const split = b.step('flat-map', 'split', [s], t.list(s));
    const df = chain(b, [split, b.step('map', 'upper', [s], s)], s, s);
    expect(typeDiagnostics(df)).toEqual([]);
    expect(after(df, split)).toEqual({ value: 'string' });
  });

  it('plan - flat-map that does not return a list', () => {
    const b = modelBuilder();
    const split = b.step('flat-map', 'split', [s], s);
    expect(typeDiagnostics(chain(b, [split]))).toMatchObject([
      { code: 'return-type-mismatch', message: '`flat-map` step `split` in service `svc` returns `string`; a flat-map returns a list', pos: split.pos },
    ]);
  });

  it('plan - a list arriving where an item is expected hints at flat-map', () => {
    const b = modelBuilder();
    const upper = b.step('map', 'upper', [s], s);
    const [d] = typeDiagnostics(chain(b, [b.step('map', 'words', [s], t.list(s)), upper]));
    expect(d).toMatchObject({ code: 'type-mismatch', message: '`map` step `upper` in service `svc` takes `string`, but receives `list<string>` from step `words`' });
    expect(d?.hint).toContain('`flat-map`');
  });

  it('plan - assign-key passes the value through and sets the key', () => {
    const b = modelBuilder();
    const key = b.step('assign-key', 'byLength', [s], t.u32());
    const df = b.dataflow({
      topics: { in: s },
      services: { svc: { sources: [b.source('in')], states: [b.owned('n')], partition: b.partition({ assignKey: key, updateState: b.step('update-state', 'count', [s], t.void()) }) } },
    });
    expect(typeDiagnostics(df)).toEqual([]);
    expect(after(df, key)).toEqual({ key: 'u32', value: 'string' });
  });

  it('plan - assign-key with the wrong input and a key that is not a key type', () => {
    const b = modelBuilder();
    const key = b.step('assign-key', 'byWords', [t.u64()], t.list(s));
    const df = b.dataflow({
      topics: { in: s },
      services: { svc: { sources: [b.source('in')], states: [b.owned('n')], partition: b.partition({ assignKey: key, updateState: b.step('update-state', 'count', [s], t.void()) }) } },
    });
    expect(typeDiagnostics(df).map((d) => [d.code, d.message, d.pos])).toEqual([
      ['type-mismatch', '`assign-key` step `byWords` in service `svc` takes `u64`, but receives `string` from topic `in`', key.pos],
      ['return-type-mismatch', '`assign-key` step `byWords` in service `svc` returns `list<string>`; a key is a string, a number or a bool', key.pos],
    ]);
  });

  function windowed(b: ModelBuilder, stamp: Step, flush: Step, update?: Step, out: TopicInit = t.unknown()): Dataflow {
    return b.dataflow({
      types: { reading: t.object({ at: t.i64(), value: t.f64() }) },
      topics: { in: t.named('reading'), out },
      services: {
        svc: {
          sources: [b.source('in')],
          states: [b.owned('sum', t.keyed(s, t.f64()))],
          window: b.window({
            assignTimestamp: stamp,
            partition: b.partition({
              assignKey: b.step('assign-key', 'key', [t.named('Reading')], s),
              updateState: update ?? b.step('update-state', 'add', [t.named('reading')], t.void()),
            }),
            flush,
          }),
          sinks: [b.sink('out')],
        },
      },
    });
  }

  it('plan - assign-timestamp passes the record through', () => {
    const b = modelBuilder();
    const stamp = b.step('assign-timestamp', 'at', [t.named('reading'), t.number()], t.i64());
    const df = windowed(b, stamp, b.step('flush', 'total', [], t.f64()));
    expect(typeDiagnostics(df)).toEqual([]);
    expect(after(df, stamp)).toEqual({ value: 'reading' });
  });

  it('plan - assign-timestamp with a wrong value, event time or result', () => {
    const b = modelBuilder();
    const stamp = b.step('assign-timestamp', 'at', [s, s], s);
    const diags = typeDiagnostics(windowed(b, stamp, b.step('flush', 'total', [], t.f64())));
    expect(diags.map((d) => [d.code, d.message, d.pos])).toEqual([
      ['type-mismatch', '`assign-timestamp` step `at` in service `svc` takes `string`, but receives `reading` from topic `in`', stamp.pos],
      ['type-mismatch', "`assign-timestamp` step `at` in service `svc` takes `eventTime` as `string`, but the record's own timestamp is a number (epoch ms)", stamp.pos],
      ['return-type-mismatch', '`assign-timestamp` step `at` in service `svc` returns `string`; an event time is a number (epoch ms)', stamp.pos],
    ]);
  });

  it('plan - update-state passes its record on outside a window', () => {
    const b = modelBuilder();
    const count = b.step('update-state', 'count', [s], t.void());
    const df = b.dataflow({
      topics: { in: s, out: t.u64() },
      services: {
        svc: {
          sources: [b.source('in')],
          states: [b.owned('n')],
          partition: b.partition({ assignKey: b.step('assign-key', 'key', [s], s), updateState: count }),
          sinks: [b.sink('out')],
        },
      },
    });
    expect(after(df, count)).toEqual({ key: 'string', value: 'string' });
    expect(typeDiagnostics(df)).toMatchObject([
      { code: 'sink-type-mismatch', message: 'sink `out` of service `svc` writes `string`, but topic `out` holds `u64`' },
    ]);
  });

  it('plan - inside a window update-state ends the records and checks its input', () => {
    const b = modelBuilder();
    const add = b.step('update-state', 'add', [t.f64()], t.void());
    const df = windowed(b, b.step('assign-timestamp', 'at', [t.named('reading')], t.i64()), b.step('flush', 'total', [], t.f64()), add);
    expect(after(df, add)).toEqual({ key: 'string', value: 'void' });
    expect(typeDiagnostics(df)).toMatchObject([
      { code: 'type-mismatch', message: '`update-state` step `add` in service `svc` takes `f64`, but receives `reading` from step `key`', pos: add.pos },
    ]);
  });

  it('plan - a flush emits its return type, and a list stays one record', () => {
    const b = modelBuilder();
    const flush = b.step('flush', 'top', [], t.list(t.named('reading')));
    const ok = windowed(b, b.step('assign-timestamp', 'at', [t.named('reading')], t.i64()), flush, undefined, t.list(t.named('reading')));
    expect(typeDiagnostics(ok)).toEqual([]);
    expect(after(ok, flush)).toEqual({ value: 'list<reading>' });

    const b2 = modelBuilder();
    const bad = windowed(b2, b2.step('assign-timestamp', 'at', [t.named('reading')], t.i64()), b2.step('flush', 'top', [], t.list(t.named('reading'))), undefined, t.named('reading'));
    const sink = bad.services['svc']?.sinks[0];
    expect(typeDiagnostics(bad)).toMatchObject([
      { code: 'sink-type-mismatch', message: 'sink `out` of service `svc` writes `list<reading>`, but topic `out` holds `reading`', pos: sink?.pos },
    ]);
  });

  it('plan - a flush that returns void', () => {
    const b = modelBuilder();
    const flush = b.step('flush', 'top', [], t.void());
    const df = windowed(b, b.step('assign-timestamp', 'at', [t.named('reading')], t.i64()), flush);
    expect(typeDiagnostics(df)).toMatchObject([{ code: 'return-type-mismatch', pos: flush.pos }]);
  });

  it('plan - a key-value output sets the key and passes its value on', () => {
    const b = modelBuilder();
    const pair = b.step('map', 'pair', [s], t.kv(s, t.u64()));
    const df = chain(b, [pair, b.step('map', 'double', [t.u64()], t.u64())], s, { key: t.u64(), value: t.u64() });
    expect(after(df, pair)).toEqual({ key: 'string', value: 'u64' });
    const sink = df.services['svc']?.sinks[0];
    expect(typeDiagnostics(df)).toMatchObject([
      { code: 'sink-type-mismatch', message: 'sink `out` of service `svc` writes keys of type `string`, but topic `out` has `u64` keys', pos: sink?.pos },
    ]);
  });

  it('plan - merged sources must arrive at the same type', () => {
    const b = modelBuilder();
    const second = b.source('numbers');
    const df = b.dataflow({
      topics: { words: s, numbers: t.u64(), out: s },
      services: { svc: { sources: [b.source('words'), second], sinks: [b.sink('out')] } },
    });
    expect(typeDiagnostics(df)).toMatchObject([
      {
        code: 'merge-type-mismatch',
        message: 'source `numbers` of service `svc` arrives as `u64`, but source `words` arrives as `string`; merged sources must agree',
        pos: second.pos,
      },
    ]);
    const b2 = modelBuilder();
    const fixed = b2.dataflow({
      topics: { words: s, numbers: t.u64(), out: s },
      services: { svc: { sources: [b2.source('words'), b2.source('numbers', [b2.step('map', 'show', [t.u64()], s)])], sinks: [b2.sink('out')] } },
    });
    expect(typeDiagnostics(fixed)).toEqual([]);
  });

  it("plan - a sink's transforms start from what arrives and must end at the topic's type", () => {
    const b = modelBuilder();
    const df = b.dataflow({
      topics: { in: s, lengths: t.u64(), copies: s },
      services: {
        svc: {
          sources: [b.source('in')],
          sinks: [b.sink('lengths', [b.step('map', 'len', [s], t.u64())]), b.sink('copies', [b.step('map', 'len2', [s], t.u64())])],
        },
      },
    });
    const bad = df.services['svc']?.sinks[1];
    expect(typeDiagnostics(df)).toMatchObject([{ code: 'sink-type-mismatch', message: 'sink `copies` of service `svc` writes `u64`, but topic `copies` holds `string`', pos: bad?.pos }]);
  });

  it('plan - unknown types and TypeScript number are compatible where documented', () => {
    const b = modelBuilder();
    const df = chain(b, [b.step('map', 'untyped', [t.unknown()], t.unknown()), b.step('map', 'double', [t.number()], t.number())], t.u64(), t.f64());
    expect(typeDiagnostics(df)).toEqual([]);
    const b2 = modelBuilder();
    expect(typeDiagnostics(chain(b2, [b2.step('map', 'double', [t.number()], t.number())], s))).toMatchObject([{ code: 'type-mismatch' }]);
  });

  it('plan - named types compare after resolution, by name', () => {
    const b = modelBuilder();
    const types = { 'car-event': t.object({ id: s }), 'bike-event': t.object({ id: s }) };
    const ok = chain(b, [b.step('map', 'id', [t.named('CarEvent')], s)], t.named('car-event'), s, types);
    expect(typeDiagnostics(ok)).toEqual([]);
    const b2 = modelBuilder();
    const bike = b2.step('map', 'id', [t.named('bike-event')], s);
    expect(typeDiagnostics(chain(b2, [bike], t.named('car-event'), s, types))).toMatchObject([
      { code: 'type-mismatch', message: '`map` step `id` in service `svc` takes `bike-event`, but receives `car-event` from topic `in`' },
    ]);
  });

  it('plan - seed steps are checked against their declared function', () => {
    const b = modelBuilder();
    const step = b.step('map', 'len', undefined, undefined, { uses: 'len' });
    const df = b.dataflow({
      dialect: 'seed',
      apiVersion: '0.1.0',
      functions: { len: { operator: 'map', params: [t.u64()], returns: t.u64() } },
      topics: { in: s, out: t.u64() },
      services: { svc: { sources: [b.source('in')], transforms: [step], sinks: [b.sink('out')] } },
    });
    expect(typeDiagnostics(df)).toMatchObject([{ code: 'type-mismatch', message: '`map` step `len` in operation `svc` takes `u64`, but receives `string` from topic `in`', pos: step.pos }]);
  });
});
