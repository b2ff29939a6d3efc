import { describe, expect, it } from 'vitest';
import { MemoryState } from './memory-state.ts';

const w1 = { start: 0, end: 10 };
const w2 = { start: 10, end: 20 };

describe('engine - memory state', () => {
  it('engine - keys of different types stay apart', () => {
    const s = new MemoryState();
    s.set('c', 1, 'number');
    s.set('c', '1', 'string');
    s.set('c', true, 'boolean');
    expect([s.get('c', 1), s.get('c', '1'), s.get('c', true), s.get('c', 'true')]).toEqual(['number', 'string', 'boolean', undefined]);
  });

  it('engine - changes hold one entry per (state, window, key) with the last write', () => {
    const s = new MemoryState();
    s.set('c', 'a', 1);
    s.set('c', 'a', 2, w1);
    s.set('c', 'b', 1);
    s.set('d', 'a', 'x');
    s.set('c', 'a', 3);
    s.delete('c', 'b');
    const changes = s.takeChanges();
    expect(changes).toHaveLength(4);
    expect(changes).toEqual(
      expect.arrayContaining([
        { state: 'c', key: 'a', value: 3 },
        { state: 'c', key: 'b', value: undefined },
        { state: 'c', key: 'a', value: 2, window: w1 },
        { state: 'd', key: 'a', value: 'x' },
      ]),
    );
    expect(s.takeChanges()).toEqual([]);
    s.set('c', 'a', 4);
    expect(s.takeChanges()).toEqual([{ state: 'c', key: 'a', value: 4 }]);
  });

  it('engine - loaded values are not changes', () => {
    const s = new MemoryState();
    s.load('c', 'a', 1);
    expect(s.get('c', 'a')).toBe(1);
    expect(s.takeChanges()).toEqual([]);
  });

  it('engine - windows keep their own values; a dropped window takes its changes with it', () => {
    const s = new MemoryState();
    s.set('c', 'a', 1, w1);
    s.set('c', 'a', 2, { start: 10, end: 20 });
    // A different object for the same window reads the same bucket.
    expect(s.get('c', 'a', { start: 0, end: 10 })).toBe(1);
    expect(s.get('c', 'a', w2)).toBe(2);
    expect(s.openWindows('c')).toEqual([w1, w2]);
    s.dropWindow('c', w1);
    expect(s.get('c', 'a', w1)).toBeUndefined();
    expect(s.takeChanges()).toEqual([{ state: 'c', key: 'a', value: 2, window: w2 }]);
  });

  it('engine - writes alternating between windows (a sliding window) land in each window, also after a drop and a checkpoint', () => {
    const s = new MemoryState();
    for (let i = 1; i <= 3; i++) {
      s.set('c', 'a', i, w1);
      s.set('c', 'a', i * 10, w2);
      s.set('d', 'a', i, w1);
    }
    expect([s.get('c', 'a', w1), s.get('c', 'a', w2), s.get('d', 'a', w1)]).toEqual([3, 30, 3]);
    expect(s.takeChanges()).toHaveLength(3);
    s.dropWindow('c', w1);
    s.set('c', 'a', 4, w2);
    // The dropped window's old bucket is gone: a new write opens the window afresh.
    s.set('c', 'b', 5, w1);
    expect(s.openWindows('c')).toEqual([w1, w2]);
    expect([s.get('c', 'a', w1), s.get('c', 'b', w1)]).toEqual([undefined, 5]);
    expect(s.takeChanges()).toEqual(
      expect.arrayContaining([
        { state: 'c', key: 'a', value: 4, window: w2 },
        { state: 'c', key: 'b', value: 5, window: w1 },
      ]),
    );
    s.set('c', 'a', 6, w2);
    s.set('c', 'b', 7, w1);
    expect(s.takeChanges()).toHaveLength(2);
  });

  it('engine - deleting in a window with no state records the delete without opening the window', () => {
    const s = new MemoryState();
    s.delete('c', 'a', w1);
    expect(s.openWindows('c')).toEqual([]);
    expect(s.takeChanges()).toEqual([{ state: 'c', key: 'a', value: undefined, window: w1 }]);
  });

  it('engine - entries and lookup read the current values; lookup falls back to referenced states', () => {
    const s = new MemoryState((state, key) => (state === 'ref' ? `ref:${String(key)}` : undefined));
    s.set('c', 'a', 1);
    s.set('c', 2, 2);
    expect([...s.entries('c')]).toEqual([['a', 1], [2, 2]]);
    expect(s.lookup('c', 'a')).toBe(1);
    expect(s.lookup('ref', 'k')).toBe('ref:k');
  });

  it('engine - undo puts back what the writes since beginUndo replaced (values, new keys, deletes), in any bucket', () => {
    const s = new MemoryState();
    s.load('c', 'a', 1);
    s.load('c', 'gone', 5);
    const w = { start: 0, end: 10 };
    s.beginUndo();
    s.set('c', 'a', 2);
    s.set('c', 'a', 3);
    s.set('c', 'new', 1);
    s.delete('c', 'gone');
    s.set('w', 'k', 7, w);
    s.undo();
    expect([...s.entries('c')].sort()).toEqual([['a', 1], ['gone', 5]]);
    expect([...s.entries('w', w)]).toEqual([]);
    // After an undo the log starts again; writes after endUndo stay.
    s.set('c', 'a', 4);
    s.undo();
    expect(s.get('c', 'a')).toBe(1);
    s.endUndo();
    s.set('c', 'a', 9);
    s.undo();
    expect(s.get('c', 'a')).toBe(9);
    // The undone keys are written again as they were: the checkpoint restores them too.
    expect(s.takeChanges().find((c) => c.key === 'new')).toEqual({ state: 'c', key: 'new', value: undefined });
  });

  it('engine - undo to a mark takes back only the writes after it (one message of a batch), undo to 0 the whole batch', () => {
    const s = new MemoryState();
    s.load('c', 'a', 1);
    s.beginUndo();
    s.set('c', 'a', 2);
    const mark = s.undoMark();
    s.set('c', 'a', 3);
    s.set('c', 'b', 1);
    s.undo(mark);
    expect(s.get('c', 'a')).toBe(2);
    expect(s.get('c', 'b')).toBeUndefined();
    s.set('c', 'b', 2);
    s.undo();
    expect(s.get('c', 'a')).toBe(1);
    expect(s.get('c', 'b')).toBeUndefined();
    s.endUndo();
  });
  it('engine - the undo log keeps one entry per key between marks, and still takes every write back to any mark', () => {
    const s = new MemoryState();
    s.load('c', 'a', 0);
    s.beginUndo();
    for (let i = 1; i <= 1000; i++) s.set('c', 'a', i);
    // A thousand writes of one key since the last mark: one entry (two slots: its cell, its value before).
    const mark = s.undoMark();
    expect(mark).toBe(2);
    for (let i = 0; i < 1000; i++) s.set('c', i % 2 ? 'a' : 'b', i);
    expect(s.undoMark()).toBe(6);
    s.undo(mark);
    expect([s.get('c', 'a'), s.get('c', 'b')]).toEqual([1000, undefined]);
    s.undo();
    expect(s.get('c', 'a')).toBe(0);
    s.endUndo();
  });

  // `increment` and `update` read a key and write it at once: every record of a keyed step does.
  it('engine - a read then a write of the same key looks the key up once (with and without undo, in a window too)', () => {
    const s = new MemoryState();
    s.set('c', 'a', 1);
    s.set('c', 'a', 1, w1);
    s.takeChanges();
    const counted = ['get', 'set', 'has'] as const;
    const real = counted.map((m) => Map.prototype[m]);
    let lookups = 0;
    const countLookups = (run: () => void): number => {
      lookups = 0;
      counted.forEach((m, i) => {
        (Map.prototype as unknown as Record<string, unknown>)[m] = function (this: Map<unknown, unknown>, ...args: unknown[]) {
          lookups++;
          return (real[i] as (...a: unknown[]) => unknown).apply(this, args);
        };
      });
      try {
        run();
      } finally {
        counted.forEach((m, i) => ((Map.prototype as unknown as Record<string, unknown>)[m] = real[i]));
      }
      return lookups;
    };
    const increment = (w?: typeof w1) => s.set('c', 'a', (s.get('c', 'a', w) as number) + 1, w);
    // The first write of a checkpoint marks the key changed, the first after a mark logs it: count the ones after.
    increment();
    expect(countLookups(() => increment())).toBe(1);
    increment(w1);
    expect(countLookups(() => increment(w1))).toBe(1);
    s.beginUndo();
    increment();
    expect(countLookups(() => increment())).toBe(1);
    s.undoMark();
    increment();
    expect(countLookups(() => increment())).toBe(1);
    s.endUndo();
    expect([s.get('c', 'a'), s.get('c', 'a', w1)]).toEqual([7, 3]);
    expect(s.takeChanges()).toEqual(expect.arrayContaining([{ state: 'c', key: 'a', value: 7 }, { state: 'c', key: 'a', value: 3, window: w1 }]));
  });

  it('engine - a deleted key is gone from reads, entries and lookup, is one delete at the checkpoint, and comes back when written', () => {
    const s = new MemoryState();
    s.load('c', 'a', 1);
    s.load('c', 'b', 2);
    s.get('c', 'a');
    s.delete('c', 'a');
    expect([s.get('c', 'a'), s.lookup('c', 'a'), [...s.entries('c')]]).toEqual([undefined, undefined, [['b', 2]]]);
    s.delete('c', 'a');
    expect(s.takeChanges()).toEqual([{ state: 'c', key: 'a', value: undefined }]);
    expect(s.takeChanges()).toEqual([]);
    expect([...s.entries('c')]).toEqual([['b', 2]]);
    s.set('c', 'a', 3);
    expect([s.get('c', 'a'), [...s.entries('c')]]).toEqual([3, [['b', 2], ['a', 3]]]);
    expect(s.takeChanges()).toEqual([{ state: 'c', key: 'a', value: 3 }]);
    // A key made and taken back is reported as none (it may have been committed by a writer before).
    s.beginUndo();
    s.set('c', 'new', 1);
    s.undo();
    s.endUndo();
    expect([s.get('c', 'new'), [...s.entries('c')]]).toEqual([undefined, [['b', 2], ['a', 3]]]);
    expect(s.takeChanges()).toEqual([{ state: 'c', key: 'new', value: undefined }]);
    // Deleted where the window held nothing, then written: one change, the write.
    s.delete('c', 'x', w2);
    s.set('c', 'x', 5, w2);
    s.delete('c', 'y', w1);
    expect(s.takeChanges()).toEqual(expect.arrayContaining([{ state: 'c', key: 'x', value: 5, window: w2 }, { state: 'c', key: 'y', value: undefined, window: w1 }]));
    expect(s.openWindows('c')).toEqual([w2]);
  });

  // A sliding window's writes go round several windows, each record's read before its write:
  // more windows and states than the slots MemoryState compares before its maps, windows
  // dropped and checkpoints taken in between, each state with its own write check. Against a
  // model of plain maps: the same values, the same changes, the same refusals, and a read never
  // opens a window.
  it.each([1, 2, 3])('engine - reads and writes going round many windows and states keep each apart (random run, seed %i)', (seed) => {
    let x = seed * 104729;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    const checks = new Map([
      ['c', (_k: unknown, v: unknown) => { if (v === 'bad-c') throw new Error('c refuses'); }],
      ['d', (_k: unknown, v: unknown) => { if (v === 'bad-d') throw new Error('d refuses'); }],
    ]);
    const s = new MemoryState(() => undefined, checks);
    const windows = [undefined, ...Array.from({ length: 12 }, (_, i) => ({ start: i * 10, end: i * 10 + 30 }))];
    const model = new Map<string, unknown>();
    let changed = new Map<string, unknown>();
    const opened = new Set<string>();
    const byStart = (a: string, b: string) => Number(a.split('|')[1]!.split(':')[0]) - Number(b.split('|')[1]!.split(':')[0]);
    const id = (state: string, w: (typeof windows)[number], key: string) => `${state}|${w ? `${w.start}:${w.end}` : ''}|${key}`;
    for (let step = 0; step < 3000; step++) {
      const state = rand(2) ? 'c' : 'd';
      const w = windows[rand(windows.length)];
      const key = `k${rand(3)}`;
      const op = rand(20);
      expect(s.get(state, key, w)).toBe(model.get(id(state, w, key)));
      const window = w ? `${state}|${w.start}:${w.end}` : undefined;
      if (op < 14) {
        if (window) opened.add(window);
        const value = rand(10) === 0 ? `bad-${state}` : step;
        if (value === `bad-${state}`) expect(() => s.set(state, key, value, w)).toThrow(`${state} refuses`);
        else {
          s.set(state, key, value, w);
          model.set(id(state, w, key), value);
          changed.set(id(state, w, key), value);
        }
      } else if (op < 16) {
        s.delete(state, key, w);
        model.delete(id(state, w, key));
        changed.set(id(state, w, key), undefined);
      } else if (op < 18 && w) {
        s.dropWindow(state, w);
        opened.delete(window!);
        for (const k of [...model.keys()]) if (k.startsWith(`${state}|${w.start}:${w.end}|`)) model.delete(k);
        for (const k of [...changed.keys()]) if (k.startsWith(`${state}|${w.start}:${w.end}|`)) changed.delete(k);
      } else if (op === 18) {
        const changes = new Map(s.takeChanges().map((c) => [id(c.state, c.window, String(c.key)), c.value]));
        expect(changes).toEqual(changed);
        changed = new Map();
      }
      // A write opens its window (one refused too: it is checked in its bucket) until dropped; a
      // read, or a delete in a window not open, opens none.
      for (const st of ['c', 'd']) expect(s.openWindows(st).map((o) => `${st}|${o.start}:${o.end}`)).toEqual([...opened].filter((o) => o.startsWith(`${st}|`)).sort(byStart));
    }
  });

  // Random writes, deletes, marks, savepoints and undos over a few keys and windows, against a
  // model that copies the whole state at every mark: whatever the log leaves out, an undo to any
  // mark still held gives exactly the state of that moment.
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('engine - undo to any mark restores that moment (random run, seed %i)', (seed) => {
    let x = seed * 7919;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    const s = new MemoryState();
    const windows = [undefined, w1, w2];
    const dump = () => JSON.stringify(windows.map((w) => [...s.entries('c', w)].sort()));
    s.load('c', 'k0', 'loaded');
    s.beginUndo();
    const marks: Array<{ mark: number; at: string }> = [{ mark: 0, at: dump() }];
    for (let step = 0; step < 400; step++) {
      const op = rand(10);
      const key = `k${rand(4)}`;
      const w = windows[rand(3)];
      if (op < 5) s.set('c', key, step, w);
      else if (op < 6) s.delete('c', key, w);
      else if (op < 8) marks.push({ mark: rand(2) ? s.undoMark() : s.savepoint(), at: dump() });
      else if (marks.length > 1) {
        // Back to a mark still held: the marks after it are gone.
        const i = rand(marks.length);
        s.undo(marks[i]!.mark);
        expect(dump()).toBe(marks[i]!.at);
        marks.length = i + 1;
      }
    }
    s.undo();
    expect(dump()).toBe(marks[0]!.at);
    s.endUndo();
  });
});
