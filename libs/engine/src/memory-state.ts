/**
 * State held in plain maps, implementing the chain's `StateAccess`. The embedded runtime uses
 * it as its cache (and knows what changed since the last checkpoint); tests use it as is.
 *
 * Every get and set of a keyed step lands here, so it is built for that: keys are map keys as
 * they are (a `Map` already keeps `1`, `"1"` and `true` apart), the last (state, window) bucket
 * is remembered (consecutive records mostly share it), and a write only marks its key dirty —
 * the change list is read from the values when the checkpoint asks for it.
 */
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
 * The keys of one (state, window) written since the last checkpoint, each with where in the
 * undo log its value before a write was last put (`NOT_LOGGED`: nowhere; see `logUndo`). One map
 * for both: a write looks its key up once to learn it is marked and whether it is logged.
 */
interface Dirty {
  state: string;
  window: WindowBounds | undefined;
  keys: Map<Key, number>;
}

/** A key written while no undo was kept, or deleted in a window with nothing in it. */
const NOT_LOGGED = -1;

/** What a state remembers of one window between checkpoints (see `remember`). */
interface Slot {
  readonly state: string;
  readonly window: WindowBounds | undefined;
  readonly bucket: Map<Key, unknown>;
  /** The (state, window)'s `Dirty.keys`. */
  readonly dirty: Map<Key, number>;
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
  /** state -> window id -> key -> value */
  private readonly data = new Map<string, Map<string, Map<Key, unknown>>>();
  private readonly windows = new Map<string, WindowBounds>();
  /** state -> window id -> keys written since the last `takeChanges()` */
  private dirty = new Map<string, Map<string, Dirty>>();
  private readonly refs: (state: string, key: Key) => unknown;
  /** The slot of the last (state, window) touched: its bucket, changed keys (with their undo positions) and check. */
  private last: Slot | undefined;
  /** state -> window object -> its bucket and changed keys (see `remember`); cleared with `forget`. */
  private readonly slots = new Map<string, Map<WindowBounds | undefined, Slot>>();
  /** The slots touched last, in a ring (`recentSlot`); cleared with `forget`. */
  private readonly recent: Array<Slot | undefined> = new Array<Slot | undefined>(RECENT_SLOTS).fill(undefined);
  private recentNext = 0;
  private readonly checks: ReadonlyMap<string, StateWriteCheck> | undefined;

  private readonly loadedAt = new Map<string, Map<Key, number>>();
  /**
   * While writes may still be taken back (`beginUndo`): (bucket, key, value before) per write,
   * flat and in order (undefined: no value), so `undo` puts them back newest first. Three pushes
   * per write: this is on the path of every keyed write.
   */
  private readonly undoLog: unknown[] = [];
  private undoing = false;
  /**
   * The latest mark handed out (`undoMark`, `savepoint`; 0 from `beginUndo`). A key written
   * again after its value was logged at or past it is not logged again: an undo to that mark,
   * or to any before it, restores the older value anyway. A batch writes the same few keys over
   * and over (20 words, 8 cars): without this the log grew by three slots per write, to a
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
    const last = this.last;
    if (last !== undefined && state === last.state && window === last.window) return last.bucket.get(key);
    // A slot exists only for a bucket that does (a read must not make a window appear): it
    // becomes the last one, so the write that mostly follows a read finds it at once.
    const slot = this.recentSlot(state, window) ?? this.slots.get(state)?.get(window);
    if (slot) {
      this.last = slot;
      return slot.bucket.get(key);
    }
    return this.bucket(state, window, false)?.get(key);
  }

  set(state: string, key: Key, value: unknown, window?: WindowBounds): void {
    let slot = this.last;
    if (slot === undefined || state !== slot.state || window !== slot.window) slot = this.remember(state, window);
    slot.check?.(key, value);
    this.written(slot, key);
    slot.bucket.set(key, value);
  }

  delete(state: string, key: Key, window?: WindowBounds): void {
    this.checks?.get(state)?.(key, undefined);
    // Deleting from a window that holds nothing must not make that window appear.
    if (!this.bucket(state, window, false)) {
      const keys = this.dirtyOf(state, window);
      if (!keys.has(key)) keys.set(key, NOT_LOGGED);
      return;
    }
    let slot = this.last;
    if (slot === undefined || state !== slot.state || window !== slot.window) slot = this.remember(state, window);
    this.written(slot, key);
    slot.bucket.delete(key);
  }

  /** Marks `key` of `slot` changed and, while writes may be taken back, logs what it held unless it is logged since the latest mark. */
  private written(slot: Slot, key: Key): void {
    const at = slot.dirty.get(key);
    if (this.undoing) this.logUndo(slot, key, at);
    else if (at === undefined) slot.dirty.set(key, NOT_LOGGED);
  }

  *entries(state: string, window?: WindowBounds): Iterable<[Key, unknown]> {
    const b = this.bucket(state, window, false);
    if (!b) return;
    yield* b;
  }

  lookup(state: string, key: Key): unknown {
    const own = this.data.get(state)?.get('');
    return own ? own.get(key) : this.refs(state, key);
  }

  /**
   * Loads committed values without marking them changed. `writtenAt` (epoch ms), kept for the
   * states named `timed` at construction, is when the value was committed: a `ttl` counts from it.
   */
  load(state: string, key: Key, value: unknown, window?: WindowBounds, writtenAt?: number): void {
    this.bucket(state, window, true)!.set(key, value);
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

  /** Logs `slot`'s bucket's `key` before a write, unless it was logged (at `at`) since the latest mark. */
  private logUndo(slot: Slot, key: Key, at: number | undefined): void {
    const log = this.undoLog;
    const bucket = slot.bucket;
    // The position is checked against the log itself: it may have been cut back (`undo`) or begun again since.
    if (at !== undefined && at >= this.undoFloor && log[at] === bucket && log[at + 1] === key) return;
    slot.dirty.set(key, log.length);
    log.push(bucket, key, bucket.get(key));
  }

  /**
   * Puts back every value written since `beginUndo`, or since `mark` (the keys stay marked
   * changed: they are written again as they were).
   */
  undo(mark = 0): void {
    const log = this.undoLog;
    for (let i = log.length - 3; i >= mark; i -= 3) {
      const bucket = log[i] as Map<Key, unknown>;
      const value = log[i + 2];
      if (value === undefined) bucket.delete(log[i + 1] as Key);
      else bucket.set(log[i + 1] as Key, value);
    }
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
    for (const byWindow of this.dirty.values()) {
      for (const d of byWindow.values()) {
        const values = this.data.get(d.state)?.get(windowId(d.window));
        for (const key of d.keys.keys()) {
          const value = values?.get(key);
          out.push(d.window ? { state: d.state, key, value, window: d.window } : { state: d.state, key, value });
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

  private dirtyOf(state: string, window: WindowBounds | undefined): Map<Key, number> {
    let byWindow = this.dirty.get(state);
    if (!byWindow) this.dirty.set(state, (byWindow = new Map()));
    const id = windowId(window);
    let d = byWindow.get(id);
    if (!d) byWindow.set(id, (d = { state, window, keys: new Map() }));
    return d.keys;
  }

  private forget(): void {
    this.slots.clear();
    this.recent.fill(undefined);
    this.last = undefined;
  }

  private bucket(state: string, window: WindowBounds | undefined, create: boolean): Map<Key, unknown> | undefined {
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
