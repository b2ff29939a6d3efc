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
});
