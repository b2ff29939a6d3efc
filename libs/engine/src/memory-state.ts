/**
 * State held in plain maps, implementing the chain's `StateAccess`. The embedded runtime uses
 * it as its cache (and knows what changed since the last checkpoint); tests use it as is.
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

export class MemoryState implements StateAccess {
  /** state -> window id -> encoded key -> value */
  private readonly data = new Map<string, Map<string, Map<string, unknown>>>();
  private readonly windows = new Map<string, WindowBounds>();
  /** state -> window id -> encoded key -> change since the last `takeChanges()` */
  private changes = new Map<string, Map<string, Map<string, StateChange>>>();
  private readonly refs: (state: string, key: Key) => unknown;

  /** `refs` answers lookups of states this one does not hold (ref-states owned elsewhere). */
  constructor(refs: (state: string, key: Key) => unknown = () => undefined) {
    this.refs = refs;
  }

  get(state: string, key: Key, window?: WindowBounds): unknown {
    return this.data.get(state)?.get(windowId(window))?.get(encodeKey(key));
  }

  set(state: string, key: Key, value: unknown, window?: WindowBounds): void {
    const k = encodeKey(key);
    this.bucket(state, window, true)!.set(k, value);
    this.changed(state, window).set(k, window ? { state, key, value, window } : { state, key, value });
  }

  delete(state: string, key: Key, window?: WindowBounds): void {
    const k = encodeKey(key);
    this.bucket(state, window, false)?.delete(k);
    this.changed(state, window).set(k, window ? { state, key, value: undefined, window } : { state, key, value: undefined });
  }

  private changed(state: string, window: WindowBounds | undefined): Map<string, StateChange> {
    let byWindow = this.changes.get(state);
    if (!byWindow) this.changes.set(state, (byWindow = new Map()));
    const id = windowId(window);
    let m = byWindow.get(id);
    if (!m) byWindow.set(id, (m = new Map()));
    return m;
  }

  *entries(state: string, window?: WindowBounds): Iterable<[Key, unknown]> {
    const b = this.bucket(state, window, false);
    if (!b) return;
    for (const [k, v] of b) yield [decodeKey(k), v];
  }

  lookup(state: string, key: Key): unknown {
    const own = this.data.get(state)?.get('');
    return own ? own.get(encodeKey(key)) : this.refs(state, key);
  }

  /** Loads committed values without marking them changed. */
  load(state: string, key: Key, value: unknown, window?: WindowBounds): void {
    this.bucket(state, window, true)!.set(encodeKey(key), value);
  }

  /** The windows holding state, oldest first. */
  openWindows(state: string): WindowBounds[] {
    const ids = [...(this.data.get(state)?.keys() ?? [])].filter((id) => id !== '');
    return ids.map((id) => this.windows.get(id)!).sort((a, b) => a.start - b.start || a.end - b.end);
  }

  dropWindow(state: string, window: WindowBounds): void {
    this.data.get(state)?.delete(windowId(window));
    this.changes.get(state)?.delete(windowId(window));
  }

  /** What changed since the last call, one entry per (state, window, key): the last write wins. */
  takeChanges(): StateChange[] {
    const out: StateChange[] = [];
    for (const byWindow of this.changes.values()) for (const m of byWindow.values()) for (const c of m.values()) out.push(c);
    this.changes = new Map();
    return out;
  }

  private bucket(state: string, window: WindowBounds | undefined, create: boolean): Map<string, unknown> | undefined {
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
