import { describe, expect, it } from 'vitest';
import { heldRecordsJson, interpretChain, keptCopy, ownedRecord, recordAsMade, recordValue, runChain, runFlush, timeMadeWith, unreadRecord, type ChainStep, type FunctionContext, type ValueSource } from './chain.ts';
import { MemoryState } from './memory-state.ts';

const step = (operator: ChainStep['operator'], fn: (...args: never[]) => unknown, extra: Partial<ChainStep> = {}): ChainStep => ({
  id: `svc.${operator}`,
  operator,
  fn: fn as ChainStep['fn'],
  ...extra,
});
const rec = (value: unknown, timestamp = 1000, key: string | null = null) => ({ key, value, timestamp });

describe('engine - owned records', () => {
  const later = step('assign-timestamp', (_v: string, t: number) => t + 5);
  const byValue = step('assign-key', (v: string) => v);

  it('engine - owned records change key and time in place, and every run starts from what they were made with', () => {
    const inputs = [ownedRecord(null, 'a', 1000), ownedRecord('x', 'b', 2000)];
    const first = runChain([later, byValue], inputs, { owned: true });
    expect(first.outputs.map((o) => [o.key, o.value, o.timestamp, o.input])).toEqual([
      ['a', 'a', 1005, 0],
      ['b', 'b', 2005, 1],
    ]);
    // No record of the chain's own: the inputs leave as themselves.
    expect(first.outputs[0]).toBe(inputs[0]);
    // Run again (a batch halved past its limit, a message run again): the same, not 1010.
    const again = runChain([later, byValue], inputs, { owned: true });
    expect(again.outputs.map((o) => [o.key, o.timestamp])).toEqual([
      ['a', 1005],
      ['b', 2005],
    ]);
    expect(inputs.map(timeMadeWith)).toEqual([1000, 2000]);
    expect(inputs.map((r) => [recordAsMade(r).key, recordAsMade(r).timestamp])).toEqual([
      [null, 1000],
      ['x', 2000],
    ]);
  });

  it('engine - without owned, a chain changes none of its inputs (a later chain over owned records keeps what the first gave)', () => {
    const inputs = [ownedRecord(null, 'a', 1000)];
    const pre = runChain([later, byValue], inputs, { owned: true });
    const body = runChain([later], pre.outputs);
    expect(body.outputs.map((o) => [o.key, o.timestamp])).toEqual([['a', 1010]]);
    expect([inputs[0]!.key, inputs[0]!.timestamp]).toEqual(['a', 1005]);
    const plain = [rec('a', 1000)];
    runChain([later, byValue], plain, { owned: true });
    expect(plain[0]).toEqual(rec('a', 1000));
  });

  it('engine - a map on an owned record makes a record of its own (the input keeps its value), before or after its key changed', () => {
    for (const steps of [[step('map', (v: string) => v.toUpperCase()), later], [byValue, step('map', (v: string) => v.toUpperCase()), later]]) {
      const inputs = [ownedRecord('k', 'a', 1000)];
      for (let run = 0; run < 2; run++) {
        const r = runChain(steps, inputs, { owned: true });
        expect(r.outputs.map((o) => [o.value, o.timestamp])).toEqual([['A', 1005]]);
        expect(r.outputs[0]).not.toBe(inputs[0]);
        expect(inputs[0]!.value).toBe('a');
      }
    }
  });
});

describe('engine - a map over owned records read from their message', () => {
  const later = step('assign-timestamp', (_v: unknown, t: number) => t + 5);
  const message = [{ n: 1 }, { n: 2 }];
  const reads: number[] = [];
  const source: ValueSource = { valueAgain: (i) => (reads.push(i as number), { ...message[i as number]! }) };
  const read = () => message.map((v, i) => ownedRecord('k', { ...v }, 1000 + i, undefined, source, i));
  const tenfold = step('map', (v: { n: number }) => ({ n: v.n * 10 }));
  for (const [how, run] of [['compiled', runChain], ['interpreted', interpretChain]] as const) {
    it(`engine - a map's result goes into the owned record itself, and each run of the first steps starts from the value read (${how})`, () => {
      const inputs = read();
      for (const steps of [[tenfold, later], [step('filter-map', (v: { n: number }) => ({ n: v.n * 10 })), later]]) {
        for (let again = 0; again < 2; again++) {
          const r = run(steps, inputs, { owned: true });
          expect(r.outputs.map((o) => [o.value, o.timestamp, o.input])).toEqual([
            [{ n: 10 }, 1005, 0],
            [{ n: 20 }, 1006, 1],
          ]);
          // No record made per input: the owned records leave holding the map's results.
          expect(r.outputs[0]).toBe(inputs[0]);
          expect(r.outputs[1]).toBe(inputs[1]);
        }
      }
      // Told as it came (a dead letter of a batch taken back): the value read, not the map's.
      expect(recordAsMade(inputs[0]!)).toEqual({ key: 'k', value: { n: 1 }, timestamp: 1000 });
    });

    it(`engine - the steps after the first take an owned record holding a map's result as one a step made: never read again from its message (${how})`, () => {
      const made = run([tenfold], read(), { owned: true }).outputs;
      reads.length = 0;
      const seen: unknown[] = [];
      const look = step('filter', (v: unknown) => (seen.push(v), true));
      // A window's or a branch's steps, run twice (a ctx.sql round): the map's result both times.
      run([look], made);
      run([look], made);
      expect(seen).toEqual([{ n: 10 }, { n: 20 }, { n: 10 }, { n: 20 }]);
      // Kept past its message (a session's held records): the value as the map left it, run after run.
      const kept = keptCopy(made[0]!);
      seen.length = 0;
      run([look], [kept]);
      run([look], [kept]);
      expect(seen).toEqual([{ n: 10 }, { n: 10 }]);
      expect(reads).toEqual([]);
      // Handed over to the branch that runs last, it is that chain's own (changed in place).
      const r = run([later], made, { handOver: true });
      expect(r.outputs[0]).toBe(made[0]);
      expect(r.outputs.map((o) => o.timestamp)).toEqual([1005, 1006]);
    });
  }
});

describe('engine - a step\'s result is a value of its own', () => {
  for (const [how, run] of [['compiled', runChain], ['interpreted', interpretChain]] as const) {
    it(`engine - a function that returns one object it fills again gives each record what its call returned (${how})`, () => {
      // The outputs of a batch are written after the whole batch ran: sharing the function's one
      // object, every record went out with the last call's fields.
      const reused = { n: 0, label: '' };
      const fill = (v: { n: number }) => {
        reused.n = v.n * 10;
        reused.label = `#${v.n}`;
        return reused;
      };
      const byKey = step('map', (v: { n: number }) => ({ key: `k${v.n}`, value: fill(v) }), { setsKey: true });
      const items = step('flat-map', (v: { n: number }) => [fill(v)]);
      for (const steps of [[step('map', fill)], [step('filter-map', fill)], [byKey], [items]]) {
        const r = run(steps, [rec({ n: 1 }), rec({ n: 2 })]);
        expect(r.outputs.map((o) => o.value)).toEqual([
          { n: 10, label: '#1' },
          { n: 20, label: '#2' },
        ]);
        expect(r.outputs[0]!.value).not.toBe(reused);
      }
    });
  }

  it('engine - the copy is a plain object of the same keys in the same order, each the value read; other results are taken as they are', () => {
    const nested = { deep: [1, 2] };
    const returned: Record<string, unknown> = { b: 1, a: 'x', 2: true, 1: null, nested, get made() { return 'by a getter'; } };
    Object.freeze(returned);
    const r = runChain([step('map', () => returned)], [rec(0)]);
    const value = r.outputs[0]!.value as Record<string, unknown>;
    expect(value).not.toBe(returned);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(Object.keys(returned));
    expect(value).toEqual({ 1: null, 2: true, b: 1, a: 'x', nested, made: 'by a getter' });
    expect(value['nested']).toBe(nested);
    // A copy of its own: a later step may change it (the frozen object was the function's).
    expect(Object.isFrozen(value)).toBe(false);
    class Point {
      readonly x: number;
      constructor(x: number) {
        this.x = x;
      }
    }
    const others: unknown[] = [new Point(1), [1, 2], 'text', 7, null, Object.create(null) as object, new Date(0)];
    for (const other of others) expect(runChain([step('map', () => other)], [rec(0)]).outputs[0]!.value).toBe(other);
    // The value given, or one of its fields (a variant's payload), is the record's own already:
    // taken as it is, so the host can still pass it on as the bytes it was read from.
    const input = { bid: { auction: 1 } };
    for (const [how, run] of [['compiled', runChain], ['interpreted', interpretChain]] as const) {
      expect(run([step('map', (v: typeof input) => v.bid)], [rec(input)]).outputs[0]!.value, how).toBe(input.bid);
      expect(run([step('map', (v: typeof input) => v)], [rec(input)]).outputs[0]!.value, how).toBe(input);
    }
  });

  it('engine - objects of many shapes, and of many keys, are copied too', () => {
    const values = Array.from({ length: 700 }, (_, i) => ({ [`k${i}`]: i, n: i }));
    const r = runChain([step('map', (i: number) => values[i])], values.map((_v, i) => rec(i)));
    r.outputs.forEach((o, i) => {
      expect(o.value).toEqual(values[i]);
      expect(o.value).not.toBe(values[i]);
    });
    const wide = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, i]));
    const w = runChain([step('map', () => wide)], [rec(0)]).outputs[0]!.value;
    expect(w).toEqual(wide);
    expect(w).not.toBe(wide);
  });
});

describe('engine - records handed over (a trunk\'s to the branch that runs last)', () => {
  const upper = step('map', (v: string) => v.toUpperCase());
  const later = step('assign-timestamp', (_v: string, t: number) => t + 5);
  const keep = step('filter', (v: string) => v !== 'drop');
  for (const [how, run] of [['compiled', runChain], ['interpreted', interpretChain]] as const) {
    it(`engine - records a chain made leave the next chain as themselves, changed in place (${how})`, () => {
      // What a trunk made: records of its own (a map's), one per input that passed.
      const made = runChain([step('map', (v: string) => v)], [rec('a', 1000), rec('drop', 2000), rec('b', 3000)]).outputs;
      const r = run([keep, upper, later], made, { handOver: true });
      expect(r.outputs.map((o) => [o.value, o.timestamp, o.input])).toEqual([
        ['A', 1005, 0],
        ['B', 3005, 2],
      ]);
      expect(r.outputs[0]).toBe(made[0]);
      expect(r.outputs[1]).toBe(made[2]);
      // Not handed over, the same chain makes records of its own and leaves its inputs alone.
      const again = runChain([step('map', (v: string) => v)], [rec('a', 1000)]).outputs;
      const plain = run([upper, later], again);
      expect(plain.outputs[0]).not.toBe(again[0]);
      expect([again[0]!.value, again[0]!.timestamp]).toEqual(['a', 1000]);
    });

    it(`engine - handed over, an owned record or one of the caller's own is still not the chain's (${how})`, () => {
      const owned = [ownedRecord(null, 'a', 1000)];
      const plain = [rec('b', 2000)];
      for (const inputs of [owned, plain]) {
        const r = run([upper, later], inputs, { handOver: true });
        expect(r.outputs[0]).not.toBe(inputs[0]);
        expect(inputs[0]!.value).toBe(inputs === owned ? 'a' : 'b');
        expect(inputs[0]!.timestamp).toBe(inputs === owned ? 1000 : 2000);
      }
    });
  }
});

describe('engine - records kept past their message', () => {
  it('engine - a kept copy reads its value again from what its source detaches for it (its own bytes), not from the whole message', () => {
    const message = ['{"n":1}', '{"n":2}'];
    const reads: string[] = [];
    const own: ValueSource = { valueAgain: (text) => (reads.push(`own:${text as string}`), JSON.parse(text as string)) };
    const frame: ValueSource = {
      valueAgain: (i) => (reads.push(`frame:${i as number}`), JSON.parse(message[i as number]!)),
      detach: (i) => ({ again: own, from: message[i as number] }),
    };
    const bump = step('map', (v: { n: number }) => ((v.n += 10), v));
    const kept = keptCopy(ownedRecord(null, JSON.parse(message[1]!), 5, undefined, frame, 1));
    runChain([bump], [kept]);
    const again = runChain([bump], [kept]);
    // The second run reads the value as it came, from the detached place only.
    expect(again.outputs.map((o) => o.value)).toEqual([{ n: 12 }]);
    expect(reads).toEqual(['own:{"n":2}']);
    // A source that cannot detach is kept as it is.
    const plain: ValueSource = { valueAgain: (i) => (reads.push(`plain:${i as number}`), JSON.parse(message[i as number]!)) };
    const keptPlain = keptCopy(ownedRecord(null, JSON.parse(message[0]!), 5, undefined, plain, 0));
    runChain([bump], [keptPlain]);
    runChain([bump], [keptPlain]);
    expect(reads.at(-1)).toBe('plain:0');
  });

  it('engine - an unread record reads its value only when a step runs it (each run anew) or something asks for it; kept, it stays unread, and a held row writes the text its source keeps', () => {
    // Bytes as a producer may write them, not as JSON.stringify would: a space, an escape.
    const message = ['{"n": 1}', '{"n":2,"s":"caf\\u00e9"}'];
    const reads: string[] = [];
    const own: ValueSource = { valueAgain: (text) => (reads.push(`own:${text as string}`), JSON.parse(text as string)), json: (text) => text as string };
    const frame: ValueSource = {
      valueAgain: (i) => (reads.push(`frame:${i as number}`), JSON.parse(message[i as number]!)),
      detach: (i) => ({ again: own, from: message[i as number] }),
    };
    const arrived = message.map((_m, i) => unreadRecord(i, 5 + i, i === 1 ? { h: 'x' } : undefined, frame, i));
    expect(arrived.map((r) => r.value)).toEqual([undefined, undefined]);
    // A late event's value, say: read, not kept in the record.
    expect(recordValue(arrived[0]!)).toEqual({ n: 1 });
    expect(arrived[0]!.value).toBeUndefined();
    const kept = arrived.map(keptCopy);
    expect(reads).toEqual(['frame:0']);
    // Not read, the value is written as its source keeps it; the rest of the record as JSON.stringify writes it.
    const row = heldRecordsJson(kept);
    expect(row).toBe(`[{"key":0,"value":{"n": 1},"timestamp":5},{"key":1,"value":{"n":2,"s":"caf\\u00e9"},"timestamp":6,"headers":{"h":"x"}}]`);
    expect(JSON.parse(row)).toEqual(JSON.parse(JSON.stringify(kept.map((r) => ({ key: r.key, value: recordValue(r), timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) })))));
    // A session's steps at close: each run reads the value as it came, the first too.
    reads.length = 0;
    const bump = step('update-state', (v: { n: number }) => void (v.n += 10));
    const seen: number[] = [];
    const look = step('update-state', (v: { n: number }) => void seen.push(v.n));
    runChain([bump, look], kept, { discardOutputs: true });
    runChain([bump, look], kept, { discardOutputs: true });
    expect(seen).toEqual([11, 12, 11, 12]);
    expect(reads).toEqual(['own:{"n": 1}', 'own:{"n":2,"s":"caf\\u00e9"}', 'own:{"n": 1}', 'own:{"n":2,"s":"caf\\u00e9"}']);
    // Read once, a record is written as its value is: a source's text no longer stands for it.
    expect(JSON.parse(heldRecordsJson(kept))[0].value).toEqual({ n: 11 });
    // The first steps of an owned run read it too.
    const owned = unreadRecord(null, 7, undefined, frame, 0);
    const out = runChain([step('map', (v: { n: number }) => v.n)], [owned], { owned: true });
    expect(out.outputs.map((o) => o.value)).toEqual([1]);
    expect(recordAsMade(unreadRecord(null, 7, undefined, frame, 1)).value).toEqual({ n: 2, s: 'café' });
  });

  it('engine - steps that cannot read a value run an unread record unread when they keep no outputs; a failure\'s record carries the value read then', () => {
    const reads: number[] = [];
    const source: ValueSource = { valueAgain: (i) => (reads.push(i as number), { n: i as number }) };
    const state = new MemoryState();
    const count = step('update-state', (_v: unknown, ctx: FunctionContext) => void ctx.state('c').increment(), { ignoresValue: true, states: ['c'] });
    const fail = step('update-state', () => {
      throw new Error('no');
    }, { ignoresValue: true });
    const records = [unreadRecord('k', 1, undefined, source, 1), unreadRecord('k', 2, undefined, source, 2)];
    runChain([count], records, { discardOutputs: true, state });
    runChain([count], records, { discardOutputs: true, state });
    expect(reads).toEqual([]);
    expect(state.get('c', 'k')).toBe(4);
    const failed = runChain([fail], records.slice(0, 1), { discardOutputs: true, state });
    expect(failed.failures.map((f) => f.record.value)).toEqual([{ n: 1 }]);
    expect(reads).toEqual([1]);
    // Outputs kept: the record goes on, with its value.
    const kept = runChain([count], records.slice(1), { state });
    expect(kept.outputs.map((o) => o.value)).toEqual([{ n: 2 }]);
    // A step that may read the value gets it.
    const seen: unknown[] = [];
    runChain([count, step('update-state', (v: unknown) => void seen.push(v))], [unreadRecord('k', 3, undefined, source, 3)], { discardOutputs: true, state });
    expect(seen).toEqual([{ n: 3 }]);
  });
});

describe('engine - chain of steps over a batch', () => {
  it('engine - filter keeps records whose function returns true', () => {
    const r = runChain([step('filter', (v: number) => v > 1)], [rec(1), rec(2), rec(3)]);
    expect(r.outputs.map((o) => o.value)).toEqual([2, 3]);
    expect(r.outputs.map((o) => o.input)).toEqual([1, 2]);
  });

  it('engine - map replaces the value and keeps key and time', () => {
    const r = runChain([step('map', (v: string) => v.toUpperCase())], [rec('a', 5, 'k')]);
    expect(r.outputs).toEqual([{ key: 'k', value: 'A', timestamp: 5, input: 0 }]);
  });

  it('engine - filter-map drops undefined and null', () => {
    const r = runChain([step('filter-map', (v: number) => (v % 2 ? v * 10 : v === 2 ? null : undefined))], [rec(1), rec(2), rec(3), rec(4)]);
    expect(r.outputs.map((o) => o.value)).toEqual([10, 30]);
  });

  it('engine - flat-map fans out and each item continues through the rest of the chain', () => {
    const r = runChain(
      [step('flat-map', (s: string) => s.split(' ')), step('filter', (w: string) => w.length > 1), step('map', (w: string) => w.length)],
      [rec('a bb ccc'), rec('dd')],
    );
    expect(r.outputs.map((o) => [o.value, o.input])).toEqual([[2, 0], [3, 0], [2, 1]]);
  });

  it('engine - a batch makes exactly its outputs, whatever the batch before made per input (more, none, fewer)', () => {
    // One chain over batches of very different fan-out: its outputs array is made with room for
    // what the batch before made, and holds exactly what this one made.
    const fan = [step('flat-map', (n: number) => Array.from({ length: n }, (_, i) => i)), step('filter', (i: number) => i % 2 === 0)];
    for (const sizes of [[40, 40, 40], [0, 0], [3, 1], [], [100], [1, 1, 1, 1, 1, 1, 1, 1]]) {
      const r = runChain(fan, sizes.map((n) => rec(n)));
      const expected = sizes.flatMap((n, input) => Array.from({ length: Math.ceil(n / 2) }, (_, k) => [k * 2, input]));
      expect(r.outputs.length).toBe(expected.length);
      expect(Object.keys(r.outputs).length).toBe(expected.length);
      expect(r.outputs.map((o) => [o.value, o.input])).toEqual(expected);
    }
  });

  it('engine - assign-key sets the key that later steps and state see', () => {
    const state = new MemoryState();
    const r = runChain(
      [
        step('assign-key', (w: string) => w),
        step('update-state', (_w: string, ctx: FunctionContext) => void ctx.state('counts').increment()),
      ],
      [rec('x'), rec('y'), rec('x')],
      { state },
    );
    expect(r.outputs.map((o) => o.key)).toEqual(['x', 'y', 'x']);
    expect([...state.entries('counts')]).toEqual([['x', 2], ['y', 1]]);
  });

  it('engine - assign-timestamp gets the value and the record time, and sets event time', () => {
    const r = runChain([step('assign-timestamp', (v: { at: number }, t: number) => v.at + t)], [rec({ at: 5 }, 1000)]);
    expect(r.outputs[0]!.timestamp).toBe(1005);
  });

  it('engine - an assigned time is whole milliseconds: a fraction cut toward zero, a whole time as given (owned records too)', () => {
    const at = step('assign-timestamp', (v: number) => v);
    const times = [1_736_154_000_000, 1_736_154_000_000.9, -0.5, 7.5, -7.5];
    const plain = runChain([at], times.map((t) => rec(t)));
    const owned = runChain([at], times.map((t) => ownedRecord(null, t, 0)), { owned: true });
    for (const r of [plain, owned]) expect(r.outputs.map((o) => o.timestamp)).toEqual([1_736_154_000_000, 1_736_154_000_000, -0, 7, -7]);
  });

  it('engine - update-state passes the record on unchanged', () => {
    const state = new MemoryState();
    const r = runChain([step('update-state', (v: number, ctx: FunctionContext) => void ctx.state<number>('sum').update((p) => (p ?? 0) + v))], [rec(2, 1, 'k'), rec(3, 2, 'k')], { state });
    expect(r.outputs.map((o) => o.value)).toEqual([2, 3]);
    expect(state.get('sum', 'k')).toBe(5);
  });

  it('engine - a key-value result sets the key when the step declares it', () => {
    const fn = (v: string) => ({ key: v[0], value: v.length });
    expect(runChain([step('map', fn, { setsKey: true })], [rec('abc')]).outputs[0]).toMatchObject({ key: 'a', value: 3 });
    expect(runChain([step('map', fn)], [rec('abc')]).outputs[0]).toMatchObject({ key: null, value: { key: 'a', value: 3 } });
  });

  it('engine - window state is kept per window and flush sees every key of its window', () => {
    const state = new MemoryState();
    const w1 = { start: 0, end: 10 };
    const w2 = { start: 10, end: 20 };
    const count = step('update-state', (_v: string, ctx: FunctionContext) => void ctx.state('n').increment());
    runChain([count], [{ ...rec('a', 1, 'a'), window: w1 }, { ...rec('b', 2, 'b'), window: w1 }, { ...rec('a', 12, 'a'), window: w2 }], { state });
    const flush = step('flush', (ctx: FunctionContext) => ({ window: ctx.window(), counts: Object.fromEntries(ctx.state('n').entries() as Iterable<[string, number]>) }));
    expect(runFlush(flush, w1, { state }).output).toEqual({ key: null, value: { window: w1, counts: { a: 1, b: 1 } }, timestamp: 9 });
    expect(runFlush(flush, w2, { state }).output?.value).toEqual({ window: w2, counts: { a: 1 } });
  });

  it('engine - ctx.param returns `with:` values', () => {
    const r = runChain([step('map', (v: number, ctx: FunctionContext) => v * Number(ctx.param('factor')), { params: { factor: '3' } })], [rec(2)]);
    expect(r.outputs[0]!.value).toBe(6);
  });

  it.each([
    ['a throw', step('map', () => { throw new Error('boom'); }), 'boom'],
    ['a thrown TypeError', step('map', (v: { a: { b: number } }) => v.a.b), "TypeError: Cannot read properties of undefined (reading 'b')"],
    ['a non-boolean filter result', step('filter', () => 'yes'), 'filter must return a boolean, got string "yes"'],
    ['a map returning nothing', step('map', () => undefined), 'map returned nothing (use filter-map to drop records)'],
    ['a flat-map returning a non-array', step('flat-map', () => 3), 'flat-map must return an array, got number 3'],
    ['an object key', step('assign-key', () => ({})), 'assign-key must return a string, number or boolean, got an object'],
    ['a NaN timestamp', step('assign-timestamp', () => Number.NaN), 'assign-timestamp must return epoch milliseconds (a finite number), got number NaN'],
    ['state without a key', step('update-state', (_v: unknown, ctx: FunctionContext) => ctx.state('s').increment()), 'state `s` needs a key'],
    ['an undeclared state', step('update-state', (_v: unknown, ctx: FunctionContext) => ctx.state('nope').get(), { states: ['counts'] }), 'unknown state `nope`: this service has `counts`'],
  ])('engine - %s dead-letters only that record, with the reason', (_name, bad, reason) => {
    const state = new MemoryState();
    const guard = step('filter', (v: { fail?: boolean }) => v.fail === true, { id: 'svc.guard' });
    const pass = step('filter', (v: { fail?: boolean }) => v.fail !== true, { id: 'svc.pass' });
    // Only the second record reaches the bad step; the others go around it.
    const r1 = runChain([guard, bad], [rec({}), rec({ fail: true }), rec({})], { state });
    expect(r1.failures).toHaveLength(1);
    expect(r1.failures[0]).toMatchObject({ input: 1, operator: bad.id });
    expect(r1.failures[0]!.reason).toContain(reason);
    const r2 = runChain([pass], [rec({}), rec({ fail: true }), rec({})]);
    expect(r2.outputs.map((o) => o.input)).toEqual([0, 2]);
  });
});

describe('engine - what a failure carries', () => {
  it('engine - a failing record is the record as the step saw it, a plain record', () => {
    const r = runChain(
      [step('map', (v: number) => v * 2, { id: 'svc.double' }), step('map', () => { throw new Error('no'); }, { id: 'svc.fail' })],
      [rec(21, 5, 'k')],
    );
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.record).toStrictEqual({ key: 'k', value: 42, timestamp: 5 });
    expect(r.failures[0]!.operator).toBe('svc.fail');
  });

  it('engine - ctx.now/random/env answer only what the step is granted; the rest fails its record naming the grant', () => {
    const capabilities = { now: () => 42, random: () => 0.5, env: (name: string) => ({ REGION: 'eu', TOKEN: 'x' })[name] };
    const probe = (v: string, ctx: FunctionContext) => (v === 'now' ? ctx.now() : v === 'random' ? ctx.random() : ctx.env(v));
    const inputs = ['now', 'random', 'REGION', 'TOKEN'].map((v) => rec(v));
    const granted = runChain([step('map', probe, { grants: { clock: true, random: true, env: ['REGION'] } })], inputs, { capabilities });
    expect(granted.outputs.map((o) => [o.input, o.value])).toEqual([[0, 42], [1, 0.5], [2, 'eu']]);
    expect(granted.failures.map((f) => f.reason)).toEqual([
      'GrantDeniedError: ctx.env("TOKEN") needs the `env` grant, which step `svc.map` does not have: add `grants: [{env: [TOKEN]}]` to the step (or to `config`)',
    ]);
    const none = runChain([step('map', probe)], inputs, { capabilities });
    expect(none.outputs).toEqual([]);
    expect(none.failures.map((f) => f.reason.match(/needs the `(\w+)` grant/)?.[1])).toEqual(['clock', 'random', 'env', 'env']);
  });
});

describe('engine - ctx.sql', () => {
  const ask = (v: string, ctx: FunctionContext) => ctx.sql('SELECT key FROM t WHERE value > $1', [v]);
  it('engine - ctx.sql passes the query and its parameters to the runtime and returns its rows', () => {
    const seen: Array<[string, readonly unknown[]]> = [];
    const r = runChain([step('map', ask)], [rec('x')], { sql: (q, p) => (seen.push([q, p]), [{ key: 'a' }]) });
    expect(r.outputs.map((o) => o.value)).toEqual([[{ key: 'a' }]]);
    expect(seen).toEqual([['SELECT key FROM t WHERE value > $1', ['x']]]);
  });

  it('engine - without a runtime that answers it, ctx.sql fails the record with the given reason', () => {
    const r = runChain([step('map', ask)], [rec('x')], { unavailableSqlReason: 'run this step sandboxed' });
    expect(r.failures.map((f) => f.reason)).toEqual(['FunctionContractError: run this step sandboxed']);
  });

  it('engine - a query error fails only its record', () => {
    const r = runChain([step('map', ask)], [rec('bad'), rec('ok')], { sql: (_q, p) => { if (p[0] === 'bad') throw new Error('DELETE is not allowed'); return []; } });
    expect(r.outputs.map((o) => o.input)).toEqual([1]);
    expect(r.failures.map((f) => [f.input, f.reason])).toEqual([[0, 'DELETE is not allowed']]);
  });
});
