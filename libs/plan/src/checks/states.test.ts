import { describe, expect, it } from 'vitest';
import type { Dataflow, StateDecl } from '@ssdk/spec';
import { checkDataflow } from '../check.ts';
import { modelBuilder, t, withCode, type ModelBuilder } from '../testing.ts';

const s = t.string();

/** `owner` owns `counts`; `reader` declares the given states. */
function withReader(b: ModelBuilder, readerStates: StateDecl[]): Dataflow {
  return b.dataflow({
    topics: { in: s, out: s },
    services: {
      owner: {
        sources: [b.source('in')],
        states: [b.owned('counts')],
        partition: b.partition({ assignKey: b.step('assign-key', 'key', [s], s), updateState: b.step('update-state', 'count', [s], t.void()) }),
      },
      reader: { sources: [b.source('in')], states: readerStates, sinks: [b.sink('out')] },
    },
  });
}

describe('state checks', () => {
  it('plan - a ref-state to a service that does not exist', () => {
    const b = modelBuilder();
    const ref = b.ref('c', 'ownr.counts');
    expect(withCode(checkDataflow(withReader(b, [ref])).diagnostics, 'ref-state-unknown-service')).toEqual([
      {
        severity: 'error',
        code: 'ref-state-unknown-service',
        message: 'state `c` of service `reader` reads from unknown service `ownr`',
        hint: 'did you mean `owner`?',
        pos: ref.pos,
      },
    ]);
  });

  it('plan - a ref-state to a state its service does not own', () => {
    const b = modelBuilder();
    const ref = b.ref('c', 'owner.totals');
    expect(withCode(checkDataflow(withReader(b, [ref])).diagnostics, 'ref-state-unknown-state')).toMatchObject([
      {
        message: 'state `c` of service `reader` reads `owner.totals`, but service `owner` owns no state `totals`',
        hint: 'service `owner` owns `counts`',
        pos: ref.pos,
      },
    ]);
  });

  it('plan - a valid ref-state is accepted', () => {
    const b = modelBuilder();
    expect(checkDataflow(withReader(b, [b.ref('c', 'owner.counts')])).diagnostics).toEqual([]);
  });

  it('plan - two services owning one state name are two writers', () => {
    const b = modelBuilder();
    const second = b.owned('counts');
    const df = withReader(b, [second]);
    expect(withCode(checkDataflow(df).diagnostics, 'state-two-writers')).toMatchObject([
      {
        message: 'state `counts` is owned by two services, `owner` and `reader`: a state has one writer',
        hint: 'rename one of them, or read the state of `owner` with `from: owner.counts`',
        pos: second.pos,
      },
    ]);
  });

  it('plan - one service declaring a state twice', () => {
    const b = modelBuilder();
    const again = b.ref('c', 'owner.counts');
    const df = withReader(b, [b.ref('c', 'owner.counts'), again]);
    expect(withCode(checkDataflow(df).diagnostics, 'duplicate-state')).toMatchObject([
      { message: 'service `reader` declares state `c` twice', pos: again.pos },
    ]);
  });

  it('plan - a state whose type is not a keyed-state', () => {
    const b = modelBuilder();
    const state = b.owned('total', t.named('amount'));
    const df = b.dataflow({
      types: { amount: t.u64() },
      topics: { in: s },
      services: {
        svc: {
          sources: [b.source('in')],
          states: [state],
          partition: b.partition({ assignKey: b.step('assign-key', 'key', [s], s), updateState: b.step('update-state', 'add', [s], t.void()) }),
        },
      },
    });
    expect(withCode(checkDataflow(df).diagnostics, 'state-not-keyed')).toMatchObject([
      { message: 'state `total` of service `svc` has type `amount`, not a keyed-state', pos: state.pos },
    ]);
  });

  it('plan - update-state in a service that owns no state', () => {
    const b = modelBuilder();
    const update = b.step('update-state', 'count', [s], t.void());
    const df = b.dataflow({
      topics: { in: s, out: s },
      services: {
        owner: { sources: [b.source('in')], states: [b.owned('counts')], sinks: [b.sink('out')] },
        svc: {
          sources: [b.source('in')],
          states: [b.ref('counts', 'owner.counts')],
          partition: b.partition({ assignKey: b.step('assign-key', 'key', [s], s), updateState: update }),
        },
      },
    });
    expect(withCode(checkDataflow(df).diagnostics, 'update-state-without-state')).toEqual([
      {
        severity: 'error',
        code: 'update-state-without-state',
        message: '`update-state` step `count` in service `svc` has no state to update',
        hint: "declare the state it updates under the service's `states:`",
        pos: update.pos,
      },
    ]);
  });
});
