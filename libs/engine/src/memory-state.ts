/**
 * State held in plain maps, implementing the chain's `StateAccess`. The embedded runtime uses
 * it as its cache (and knows what changed since the last checkpoint); tests use it as is.
 *
 * Every get and set of a keyed step lands here, so it is built for that: keys are map keys as
 * they are (a `Map` already keeps `1`, `"1"` and `true` apart), the last (state, window) bucket
 * is remembered (consecutive records mostly share it), and a write only marks its key dirty —
 * the change list is read from the values when the checkpoint asks for it. A key's value and its
 * change mark live in one cell, and the cell a read found is remembered: a read then a write of
 * the same key (`increment`, `update`) looks the key up once, not three times.
 */
import { referenceArray } from './arrays.ts';
import type { Key, StateAccess } from './chain.ts';
import type { WindowBounds } from './windows.ts';

/** Keys of different types never collide: `1` and `"1"` are different keys. */
export function encodeKey(key: Key): string {
  return typeof key === 'string' ? `s${key}` : typeof key === 'number' ? `n${key}` : key ? 'bt' : 'bf';
}

export function decodeKey(encoded: string): Key {
  const tag = encoded[0];
  const rest = encoded.slice(1);
  return tag === 's' ? rest : tag === 'n' ? Number(rest) : encoded === 'bt';
}

// Window objects are reused for every record of a window (the window operator interns them),
// so their ids are computed once.
const windowIds = new WeakMap<WindowBounds, string>();
export function windowId(w: WindowBounds | undefined): string {
  if (!w) return '';
  let id = windowIds.get(w);
  if (id === undefined) windowIds.set(w, (id = `${w.start}:${w.end}`));
  return id;
}

export interface StateChange {
  state: string;
  key: Key;
  window?: WindowBounds;
  /** undefined = deleted */
  value: unknown;
}

/**
 * One key of a bucket: its value and whether (and where) it changed since the last checkpoint.
 * A write reaches both through the one lookup that finds the cell (or none: see `lastCell`).
 */
interface Cell {
  readonly key: Key;
  /**
   * undefined: no value (deleted, or taken back to none). Such a cell stays in its bucket until
   * the next checkpoint reports it (`takeChanges`); reads and `entries` see no key.
   */
  value: unknown;
  /**
   * `CLEAN`: unchanged since the last checkpoint; `NOT_LOGGED`: changed, its value before a write
   * not in the undo log; else where in the undo log it was last put (see `logUndo`).
   */
  at: number;
}

/** A cell not written since the last checkpoint. */
const CLEAN = -2;
/** A cell written while no undo was kept. */
const NOT_LOGGED = -1;

/** The cells of one (state, window) written since the last checkpoint. */
interface Dirty {
  state: string;
  window: WindowBounds | undefined;
  /** Each changed cell once (it is listed when it leaves `CLEAN`). */
  cells: Cell[];
  /** Keys deleted while the window held nothing (no cell is made: that would open the window). */
  absent: Set<Key> | undefined;
}

/** What a state remembers of one window between checkpoints (see `remember`). */
interface Slot {
  readonly state: string;
  readonly window: WindowBounds | undefined;
  readonly bucket: Map<Key, Cell>;
  /** The (state, window)'s changed cells. */
  readonly dirty: Dirty;
  readonly check: StateWriteCheck | undefined;
}

/** Window objects whose bucket a state remembers between checkpoints (see `remember`). */
const SLOTS_MAX = 4096;

/**
 * Slots looked for by comparison before the maps (see `recentSlot`): a sliding window's record
 * counts for duration / slide windows in turn (three in the car-sensors example), and a unit
 * rarely writes more than a state or two.
 */
const RECENT_SLOTS = 8;

/** Throws when `key`/`value` cannot be stored in a state (see `StateAccess.check`). */
export type StateWriteCheck = (key: Key, value: unknown) => void;

export class MemoryState implements StateAccess {
  /** state -> window id -> key -> its cell */
  private readonly data = new Map<string, Map<string, Map<Key, Cell>>>();
  private readonly windows = new Map<string, WindowBounds>();
  /** state -> window id -> keys written since the last `takeChanges()` */
  private dirty = new Map<string, Map<string, Dirty>>();
  private readonly refs: (state: string, key: Key) => unknown;
  /** The slot of the last (state, window) touched: its bucket, changed keys (with their undo positions) and check. */
  private last: Slot | undefined;
  /**
   * The cell a read or write of `lastCellSlot` found last: the write that mostly follows a read
   * of the same key takes it without a lookup. Valid while its cell is in its bucket (until
   * `forget`: a checkpoint lets go of deleted cells, a dropped window of its bucket).
   */
  private lastCell: Cell | undefined;
  private lastCellSlot: Slot | undefined;
  /** state -> window object -> its bucket and changed keys (see `remember`); cleared with `forget`. */
  private readonly slots = new Map<string, Map<WindowBounds | undefined, Slot>>();
  /** The slots touched last, in a ring (`recentSlot`); cleared with `forget`. */
  private readonly recent: Array<Slot | undefined> = new Array<Slot | undefined>(RECENT_SLOTS).fill(undefined);
  private recentNext = 0;
  private readonly checks: ReadonlyMap<string, StateWriteCheck> | undefined;

  private readonly loadedAt = new Map<string, Map<Key, number>>();
  /**
   * While writes may still be taken back (`beginUndo`): (cell, value before) per write, flat and
   * in order (undefined: no value), so `undo` puts them back newest first. Two pushes per logged
   * write: this is on the path of every keyed write.
   */
  private readonly undoLog: unknown[] = [];
  private undoing = false;
  /**
   * The latest mark handed out (`undoMark`, `savepoint`; 0 from `beginUndo`). A key written
   * again after its value was logged at or past it is not logged again: an undo to that mark,
   * or to any before it, restores the older value anyway. A batch writes the same few keys over
   * and over (20 words, 8 cars): without this the log grew by a few slots per write, to a
   * million entries per batch, and pushing to it was two thirds of a write's time.
   */
  private undoFloor = 0;

  /**
   * `refs` answers lookups of states this one does not hold (ref-states owned elsewhere);
   * `checks` refuse writes a checkpoint could not store, per state (the write throws, so the
   * record that made it fails alone and the state keeps its value); `timed` names the states
   * whose loaded keys keep their commit time (`ttl` states).
   */
  constructor(refs: (state: string, key: Key) => unknown = () => undefined, checks?: ReadonlyMap<string, StateWriteCheck>, timed: Iterable<string> = []) {
    this.refs = refs;
    this.checks = checks;
    for (const s of timed) this.loadedAt.set(s, new Map());
  }

  check(state: string, key: Key, value: unknown): void {
    this.checks?.get(state)?.(key, value);
  }

  get(state: string, key: Key, window?: WindowBounds): unknown {
    let slot = this.last;
    if (slot === undefined || state !== slot.state || window !== slot.window) {
      // A slot exists only for a bucket that does (a read must not make a window appear): it
      // becomes the last one, so the write that mostly follows a read finds it at once.
      slot = this.recentSlot(state, window) ?? this.slots.get(state)?.get(window);
      if (slot === undefined) return this.bucket(state, window, false)?.get(key)?.value;
      this.last = slot;
    }
    // The cell is remembered for the write that mostly follows.
    const cell = slot.bucket.get(key);
    if (cell === undefined) return undefined;
    this.lastCell = cell;
    this.lastCellSlot = slot;
    return cell.value;
  }

  set(state: string, key: Key, value: unknown, window?: WindowBounds): void {
    let slot = this.last;
    if (slot === undefined || state !== slot.state || window !== slot.window) slot = this.remember(state, window);
    slot.check?.(key, value);
    this.write(slot, key, value);
  }

  delete(state: string, key: Key, window?: WindowBounds): void {
    this.checks?.get(state)?.(key, undefined);
    // Deleting from a window that holds nothing must not make that window appear.
    if (!this.bucket(state, window, false)) {
      const dirty = this.dirtyOf(state, window);
      (dirty.absent ??= new Set()).add(key);
      return;
    }
    let slot = this.last;
    if (slot === undefined || state !== slot.state || window !== slot.window) slot = this.remember(state, window);
    this.write(slot, key, undefined);
  }

  /**
   * Gives `key` of `slot` its `value` (undefined: none), marks it changed and, while writes may
   * be taken back, logs what it held unless it is logged since the latest mark.
   */
  private write(slot: Slot, key: Key, value: unknown): void {
    let cell = this.lastCell;
    if (cell === undefined || cell.key !== key || this.lastCellSlot !== slot) {
      cell = slot.bucket.get(key);
      if (cell === undefined) slot.bucket.set(key, (cell = { key, value: undefined, at: CLEAN }));
      this.lastCell = cell;
      this.lastCellSlot = slot;
    }
    if (this.undoing) this.logUndo(slot, cell);
    else if (cell.at === CLEAN) {
      cell.at = NOT_LOGGED;
      slot.dirty.cells.push(cell);
    }
    cell.value = value;
  }

  *entries(state: string, window?: WindowBounds): Iterable<[Key, unknown]> {
    const b = this.bucket(state, window, false);
    if (!b) return;
    for (const cell of b.values()) if (cell.value !== undefined) yield [cell.key, cell.value];
  }

  lookup(state: string, key: Key): unknown {
    const own = this.data.get(state)?.get('');
    return own ? own.get(key)?.value : this.refs(state, key);
  }

  /**
   * Loads committed values without marking them changed. `writtenAt` (epoch ms), kept for the
   * states named `timed` at construction, is when the value was committed: a `ttl` counts from it.
   */
  load(state: string, key: Key, value: unknown, window?: WindowBounds, writtenAt?: number): void {
    const bucket = this.bucket(state, window, true)!;
    const cell = bucket.get(key);
    if (cell !== undefined) cell.value = value;
    else bucket.set(key, { key, value, at: CLEAN });
    if (writtenAt !== undefined && window === undefined) this.loadedAt.get(state)?.set(key, writtenAt);
  }

  /** When each loaded key of a `timed` state was committed (and forgets it: asked once, after loading). */
  takeLoadedAt(state: string): Map<Key, number> {
    const times = this.loadedAt.get(state) ?? new Map<Key, number>();
    this.loadedAt.set(state, new Map());
    return times;
  }

  /** The windows holding state, oldest first. */
  openWindows(state: string): WindowBounds[] {
    const ids = [...(this.data.get(state)?.keys() ?? [])].filter((id) => id !== '');
    return ids.map((id) => this.windows.get(id)!).sort((a, b) => a.start - b.start || a.end - b.end);
  }

  dropWindow(state: string, window: WindowBounds): void {
    const id = windowId(window);
    this.data.get(state)?.delete(id);
    this.dirty.get(state)?.delete(id);
    this.forget();
  }

  /**
   * `dropWindow`, keeping what the window held: a window logic that may take a message back
   * (`OperatorLogic.rewind`) puts it back with `restoreWindow` when the message that closed it
   * runs again. The undo log's cells are the kept ones, so an `undo` before or after reaches them.
   */
  takeWindow(state: string, window: WindowBounds): unknown {
    const id = windowId(window);
    const kept = { data: this.data.get(state)?.get(id), dirty: this.dirty.get(state)?.get(id) };
    this.dropWindow(state, window);
    return kept;
  }

  /** Puts back a window `takeWindow` took. */
  restoreWindow(state: string, window: WindowBounds, kept: unknown): void {
    const { data, dirty } = kept as { data?: Map<Key, Cell>; dirty?: Dirty };
    const id = windowId(window);
    if (data) {
      let byWindow = this.data.get(state);
      if (!byWindow) this.data.set(state, (byWindow = new Map()));
      byWindow.set(id, data);
      this.windows.set(id, window);
    }
    if (dirty) {
      let byWindow = this.dirty.get(state);
      if (!byWindow) this.dirty.set(state, (byWindow = new Map()));
      byWindow.set(id, dirty);
    }
    this.forget();
  }

  /**
   * Remembers what the writes from here on replace, until `undo` puts it back or `endUndo`
   * forgets it: the host loop's way to drop the state changes of records whose outputs it
   * refuses afterwards (an output that does not fit its topic or any frame). Window drops are
   * not undone (only chain units use it).
   */
  beginUndo(): void {
    this.undoLog.length = 0;
    this.undoFloor = 0;
    this.undoing = true;
  }

  /**
   * Where the undo log stands: `undo(mark)` takes back only the writes made after it (one input
   * message of a batch). It grows after a mark exactly when a write follows (every key's first
   * write after a mark is logged).
   */
  undoMark(): number {
    return (this.undoFloor = this.undoLog.length);
  }

  /** Logs `cell`'s value before a write, unless it was logged (at `cell.at`) since the latest mark; marks it changed. */
  private logUndo(slot: Slot, cell: Cell): void {
    const log = this.undoLog;
    const at = cell.at;
    // The position is checked against the log itself: it may have been cut back (`undo`) or begun
    // again since. Within its length first: a read past the end, harmless, threw the compiled
    // write away the first time a position was left beyond a log cut back.
    if (at >= this.undoFloor && at < log.length && log[at] === cell) return;
    if (at === CLEAN) slot.dirty.cells.push(cell);
    cell.at = log.length;
    log.push(cell, cell.value);
  }

  /**
   * Puts back every value written since `beginUndo`, or since `mark` (the keys stay marked
   * changed: they are written again as they were).
   */
  undo(mark = 0): void {
    const log = this.undoLog;
    for (let i = log.length - 2; i >= mark; i -= 2) (log[i] as Cell).value = log[i + 1];
    log.length = mark;
    // Marks past this one are gone with their entries.
    if (mark < this.undoFloor) this.undoFloor = mark;
  }

  endUndo(): void {
    this.undoLog.length = 0;
    this.undoing = false;
  }

  /**
   * A point the writes from here on can be taken back to (`rollback`), inside the host loop's
   * own `beginUndo` or not: a native batch stopped at its time limit leaves no change behind.
   */
  savepoint(): number {
    if (this.undoing) return this.undoMark();
    this.beginUndo();
    return -1;
  }

  /** Puts back what was written since `savepoint` returned `mark`, and ends it. */
  rollback(mark: number): void {
    this.undo(Math.max(mark, 0));
    if (mark < 0) this.endUndo();
  }

  /** Keeps what was written since `savepoint` returned `mark` (the loop's own undo still holds it). */
  release(mark: number): void {
    if (mark < 0) this.endUndo();
  }

  /** What changed since the last call, one entry per (state, window, key): the last write wins. */
  takeChanges(): StateChange[] {
    const out: StateChange[] = [];
    const change = (d: Dirty, key: Key, value: unknown) => out.push(d.window ? { state: d.state, key, value, window: d.window } : { state: d.state, key, value });
    for (const byWindow of this.dirty.values()) {
      for (const d of byWindow.values()) {
        const bucket = this.data.get(d.state)?.get(windowId(d.window));
        // A key deleted while its window held nothing, unless a write to it later is listed below.
        if (d.absent) {
          for (const key of d.absent) {
            const cell = bucket?.get(key);
            if (cell === undefined || cell.at === CLEAN) change(d, key, cell?.value);
          }
        }
        for (const cell of d.cells) {
          change(d, cell.key, cell.value);
          cell.at = CLEAN;
          // Reported: a cell with no value goes (`forget` below lets go of `lastCell`).
          if (cell.value === undefined && bucket?.get(cell.key) === cell) bucket.delete(cell.key);
        }
      }
    }
    this.dirty = new Map();
    this.forget();
    return out;
  }

  /** Points the remembered bucket at (state, window), creating its bucket and dirty set. */
  private remember(state: string, window: WindowBounds | undefined): Slot {
    // A sliding window's record counts for several windows in turn, so the window changes on
    // every write: the (bucket, dirty set) of each window object is kept until the next
    // checkpoint or dropped window, saving the id and the two lookups per write.
    let slot = this.recentSlot(state, window);
    if (!slot) {
      let slots = this.slots.get(state);
      if (!slots) this.slots.set(state, (slots = new Map()));
      slot = slots.get(window);
      // Without checkpoints (a test's state) window objects would pile up: start over.
      if (!slot && slots.size >= SLOTS_MAX) slots.clear();
      if (!slot) {
        slot = { state, window, bucket: this.bucket(state, window, true)!, dirty: this.dirtyOf(state, window), check: this.checks?.get(state) };
        slots.set(window, slot);
      }
      this.recent[this.recentNext] = slot;
      this.recentNext = (this.recentNext + 1) % RECENT_SLOTS;
    }
    this.last = slot;
    return slot;
  }

  /**
   * The slot of (state, window) among those touched last, found by comparing: two map lookups
   * (one keyed by an object) per switch of window cost more than the write itself.
   */
  private recentSlot(state: string, window: WindowBounds | undefined): Slot | undefined {
    const recent = this.recent;
    for (let i = 0; i < RECENT_SLOTS; i++) {
      const slot = recent[i];
      if (slot !== undefined && slot.window === window && slot.state === state) return slot;
    }
    return undefined;
  }

  private dirtyOf(state: string, window: WindowBounds | undefined): Dirty {
    let byWindow = this.dirty.get(state);
    if (!byWindow) this.dirty.set(state, (byWindow = new Map()));
    const id = windowId(window);
    let d = byWindow.get(id);
    if (!d) byWindow.set(id, (d = { state, window, cells: referenceArray<Cell>(0), absent: undefined }));
    return d;
  }

  private forget(): void {
    this.slots.clear();
    this.recent.fill(undefined);
    this.last = undefined;
    this.lastCell = undefined;
    this.lastCellSlot = undefined;
  }

  private bucket(state: string, window: WindowBounds | undefined, create: boolean): Map<Key, Cell> | undefined {
    let byWindow = this.data.get(state);
    if (!byWindow) {
      if (!create) return undefined;
      byWindow = new Map();
      this.data.set(state, byWindow);
    }
    const id = windowId(window);
    let b = byWindow.get(id);
    if (!b && create) {
      b = new Map();
      byWindow.set(id, b);
      if (window) this.windows.set(id, window);
    }
    return b;
  }
}
