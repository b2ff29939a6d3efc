/**
 * Time-to-live of keyed state (`ttl` on a state's value): a key not written for `ttl` is
 * deleted. Processing time, as PostgreSQL's `updated_at` records it: a key's clock starts at its
 * last committed write (loaded with the state after a restart), and a purge is a delete like
 * any other, committed with the batch it ran in, so PostgreSQL, `ctx.sql`, ref-state readers
 * and the shell stop seeing the key together. Window state is not purged (a window's close
 * drops it).
 */
import type { Key, MemoryState, StateChange } from '@ssdk/engine';

export class TtlPurger {
  /** state → key → when it was last written (epoch ms). */
  private readonly writtenAt = new Map<string, Map<Key, number>>();
  private readonly ttl: ReadonlyMap<string, number>;
  private readonly state: MemoryState;
  private nextCheck = 0;

  /** `ttl`: ms per state name (only the states that have one). Call after the state is loaded. */
  constructor(ttl: ReadonlyMap<string, number>, state: MemoryState, now: number) {
    this.ttl = ttl;
    this.state = state;
    for (const name of ttl.keys()) {
      const times = state.takeLoadedAt(name);
      // A key loaded without its time (a store that keeps none) counts from now.
      for (const [key] of state.entries(name)) if (!times.has(key)) times.set(key, now);
      this.writtenAt.set(name, times);
    }
  }

  get active(): boolean {
    return this.ttl.size > 0;
  }

  /** Deletes the keys whose time is up; true when it deleted any. Looks at most 4 times per shortest ttl (and per second). */
  purge(now: number): boolean {
    if (now < this.nextCheck) return false;
    let least = Infinity;
    let purged = false;
    for (const [name, ttl] of this.ttl) {
      least = Math.min(least, ttl);
      const times = this.writtenAt.get(name)!;
      for (const [key, at] of times) {
        if (at + ttl > now) continue;
        this.state.delete(name, key);
        times.delete(key);
        purged = true;
      }
    }
    this.nextCheck = now + Math.min(1000, least / 4);
    return purged;
  }

  /** The batch's committed changes: a written key's clock starts again, a deleted one is forgotten. */
  written(changes: readonly StateChange[], now: number): void {
    for (const c of changes) {
      if (c.window) continue;
      const times = this.writtenAt.get(c.state);
      if (!times) continue;
      if (c.value === undefined) times.delete(c.key);
      else times.set(c.key, now);
    }
  }
}
