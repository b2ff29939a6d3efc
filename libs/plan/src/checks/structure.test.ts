import { describe, expect, it } from 'vitest';
import type { Dataflow, Service, WindowSpec } from '@ssdk/spec';
import { checkDataflow } from '../check.ts';
import { modelBuilder, t, withCode, type ModelBuilder, type WindowInit } from '../testing.ts';

const s = t.string();

function oneService(b: ModelBuilder, service: Partial<Omit<Service, 'name' | 'pos'>>): Dataflow {
  return b.dataflow({ topics: { in: s, out: s }, services: { svc: { sources: [b.source('in')], sinks: [b.sink('out')], ...service } } });
}

/** A complete window, overridden by `init`. */
function window(b: ModelBuilder, init: WindowInit = {}): WindowSpec {
  return b.window({
    assignTimestamp: b.step('assign-timestamp', 'at', [s], t.i64()),
    partition: b.partition({ assignKey: b.step('assign-key', 'key', [s], s), updateState: b.step('update-state', 'add', [s], t.void()) }),
    flush: b.step('flush', 'emit', [], s),
    ...init,
  });
}

function windowed(b: ModelBuilder, w: WindowSpec): Dataflow {
  return oneService(b, { states: [b.owned('sum')], window: w });
}

describe('structure checks', () => {
  it('plan - a complete window passes', () => {
    const b = modelBuilder();
    expect(checkDataflow(windowed(b, window(b))).diagnostics).toEqual([]);
  });

  it('plan - partition and window in one service', () => {
    const b = modelBuilder();
    const w = window(b);
    const df = oneService(b, {
      states: [b.owned('sum')],
      partition: b.partition({ assignKey: b.step('assign-key', 'k', [s], s), transforms: [b.step('map', 'm', [s], s)] }),
      window: w,
    });
    expect(withCode(checkDataflow(df).diagnostics, 'partition-and-window')).toEqual([
      {
        severity: 'error',
        code: 'partition-and-window',
        message: 'service `svc` has both `partition` and `window`',
        hint: 'move the partition inside the window (`window.partition`), or split the service in two',
        pos: w.pos,
      },
    ]);
  });

  it('plan - a window without assign-timestamp', () => {
    const b = modelBuilder();
    const w = window(b, { assignTimestamp: undefined });
    expect(withCode(checkDataflow(windowed(b, w)).diagnostics, 'window-missing-assign-timestamp')).toMatchObject([
      { message: 'the tumbling window of service `svc` has no `assign-timestamp`', pos: w.pos },
    ]);
  });

  it('plan - a window without flush is an error, and its sinks receive nothing', () => {
    const b = modelBuilder();
    const w = window(b, { flush: undefined });
    const df = windowed(b, w);
    const sink = df.services['svc']?.sinks[0];
    expect(checkDataflow(df).diagnostics).toEqual([
      {
        severity: 'error',
        code: 'window-missing-flush',
        message: 'the tumbling window of service `svc` has no `flush`: nothing would be emitted',
        hint: "add `flush:` with a function that reads the window's state and returns the result",
        pos: w.pos,
      },
      {
        severity: 'error',
        code: 'sink-unreachable',
        message: 'sink `out` of service `svc` receives no records: its window has no `flush`',
        hint: 'a window emits only what its `flush` returns; add `flush:` to the window',
        pos: sink?.pos,
      },
    ]);
  });

  it('plan - a window duration that is not positive', () => {
    const b = modelBuilder();
    const w = window(b, { durationMs: 0 });
    expect(withCode(checkDataflow(windowed(b, w)).diagnostics, 'window-invalid-duration')).toMatchObject([
      { message: 'the tumbling window of service `svc` lasts 0ms', pos: w.pos },
    ]);
  });

  it('plan - a session window needs a positive gap, and nothing else of the other kinds', () => {
    const b = modelBuilder();
    const none = window(b, { kind: 'session', durationMs: 10_000 });
    const zero = window(b, { kind: 'session', durationMs: 0, gapMs: 0 });
    const ok = window(b, { kind: 'session', durationMs: 10_000, gapMs: 10_000 });
    expect(withCode(checkDataflow(windowed(b, none)).diagnostics, 'window-invalid-gap')).toMatchObject([
      { message: 'the session window of service `svc` has no positive `gap`', pos: none.pos },
    ]);
    expect(checkDataflow(windowed(b, zero)).diagnostics.map((d) => d.code)).toEqual(['window-invalid-gap']);
    expect(checkDataflow(windowed(b, ok)).diagnostics).toEqual([]);
  });

  it('plan - a sliding window slide longer than its duration, or not positive', () => {
    const b = modelBuilder();
    const long = window(b, { kind: 'sliding', durationMs: 60_000, slideMs: 120_000 });
    const zero = window(b, { kind: 'sliding', durationMs: 60_000, slideMs: 0 });
    const ok = window(b, { kind: 'sliding', durationMs: 60_000, slideMs: 10_000 });
    expect(withCode(checkDataflow(windowed(b, long)).diagnostics, 'window-invalid-slide')).toMatchObject([
      { message: 'the sliding window of service `svc` slides by 2m', hint: 'a slide must be positive and at most the duration (1m)', pos: long.pos },
    ]);
    expect(withCode(checkDataflow(windowed(b, zero)).diagnostics, 'window-invalid-slide')).toMatchObject([{ message: 'the sliding window of service `svc` slides by 0ms' }]);
    expect(checkDataflow(windowed(b, ok)).diagnostics).toEqual([]);
  });

  it('plan - a tumbling window offset not shorter than its duration', () => {
    const b = modelBuilder();
    const w = window(b, { durationMs: 20_000, offsetMs: 20_000 });
    expect(withCode(checkDataflow(windowed(b, w)).diagnostics, 'window-invalid-offset')).toMatchObject([
      { message: 'the tumbling window of service `svc` has offset 20s, not within its duration 20s', pos: w.pos },
    ]);
  });

  it('plan - operator kinds in the wrong place', () => {
    const b = modelBuilder();
    const update = b.step('update-state', 'count', [s], t.void());
    const key = b.step('assign-key', 'key', [s], s);
    const stamp = b.step('assign-timestamp', 'at', [s], t.i64());
    const flush = b.step('flush', 'emit', [], s);
    const mapAsKey = b.step('map', 'upper', [s], s);
    const df = oneService(b, {
      states: [b.owned('n')],
      transforms: [update, key, stamp],
      partition: b.partition({ assignKey: mapAsKey }),
      sinks: [b.sink('out', [flush])],
    });
    const diags = withCode(checkDataflow(df).diagnostics, 'operator-misplaced');
    expect(diags.map((d) => [d.message, d.pos])).toEqual([
      ['`update-state` step `count` cannot stand in `transforms` of service `svc`', update.pos],
      ['`assign-key` step `key` cannot stand in `transforms` of service `svc`', key.pos],
      ['`assign-timestamp` step `at` cannot stand in `transforms` of service `svc`', stamp.pos],
      ["`flush` step `emit` cannot stand in a sink's `transforms` of service `svc`", flush.pos],
      ['`map` step `upper` cannot stand in `partition.assign-key` of service `svc`', mapAsKey.pos],
    ]);
    expect(diags[0]?.hint).toBe('`update-state` belongs in `partition.update-state` (or `window.partition.update-state`)');
    expect(diags[4]?.hint).toBe('`partition.assign-key` takes `assign-key`; `map` belongs in a `transforms` list');
  });

  it('plan - a top-level partition without assign-key', () => {
    const b = modelBuilder();
    const p = b.partition({ transforms: [b.step('map', 'm', [s], s)] });
    expect(withCode(checkDataflow(oneService(b, { partition: p })).diagnostics, 'partition-missing-assign-key')).toMatchObject([
      { message: 'the partition of service `svc` has no `assign-key`', pos: p.pos },
    ]);
  });

  it('plan - a window partition may use the key records arrive with', () => {
    const b = modelBuilder();
    const w = window(b, { partition: b.partition({ updateState: b.step('update-state', 'add', [s], t.void()) }) });
    expect(checkDataflow(windowed(b, w)).diagnostics).toEqual([]);
  });

  it('plan - a service without sources', () => {
    const b = modelBuilder();
    const df = oneService(b, { sources: [] });
    expect(withCode(checkDataflow(df).diagnostics, 'service-no-source')).toMatchObject([
      { severity: 'error', message: 'service `svc` has no sources', pos: df.services['svc']?.pos },
    ]);
  });

  it('plan - a service with no sink and no owned state is a warning', () => {
    const b = modelBuilder();
    const df = b.dataflow({ topics: { in: s }, services: { idle: { sources: [b.source('in')], transforms: [b.step('map', 'm', [s], s)] } } });
    expect(checkDataflow(df).diagnostics).toEqual([
      {
        severity: 'warning',
        code: 'service-no-effect',
        message: 'service `idle` has no sinks and owns no state: it would do nothing',
        hint: 'add a sink, or a state that an `update-state` step writes',
        pos: df.services['idle']?.pos,
      },
    ]);
  });

  it('plan - outside a window, update-state passes its record on to the sinks', () => {
    const b = modelBuilder();
    const df = oneService(b, {
      states: [b.owned('n')],
      partition: b.partition({ assignKey: b.step('assign-key', 'key', [s], s), updateState: b.step('update-state', 'count', [s], t.void()) }),
    });
    expect(checkDataflow(df).diagnostics).toEqual([]);
  });
});
