/**
 * States a distributed unit reads but another process writes (a ref-state `from: svc.state`, or
 * its own service's state owned by another unit): a local replica of the owner's committed
 * table, like Kafka Streams' GlobalKTable. Functions read state synchronously, so a read cannot
 * wait for PostgreSQL; the replica is loaded whole before the unit starts and then follows the
 * owner's commits in the background: every `refreshMs` it re-reads the rows committed since its
 * last look (by `updated_at`, the committing transaction's start, with `slackMs` of overlap for
 * transactions that began before that look and committed after it), and every `fullEveryMs` it
 * reloads the table whole, which also drops keys the owner deleted.
 *
 * Reads are read-committed and at most about `refreshMs` behind the owner, as a ref-state is in
 * Fluvio's model: another service's state is read as it was, never locked.
 */
import type { Key } from '@ssdk/engine';
import type { StateStore } from '@ssdk/state';

export interface RefStateReplicaOptions {
  /** @default 250 */
  refreshMs?: number;
  /** @default 30_000 */
  fullEveryMs?: number;
  /** @default 10_000 */
  slackMs?: number;
  /** A refresh that failed (the task's own retries handle a server that stays away). */
  onError?: (err: unknown) => void;
}

export class RefStateReplica {
  readonly #store: StateStore;
  readonly #tables = new Map<string, Map<Key, unknown>>();
  readonly #o: Required<Omit<RefStateReplicaOptions, 'onError'>> & Pick<RefStateReplicaOptions, 'onError'>;
  #since: Date | undefined;
  #lastFull = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  private constructor(store: StateStore, tables: readonly string[], o: RefStateReplicaOptions) {
    this.#store = store;
    for (const t of tables) this.#tables.set(t, new Map());
    this.#o = { refreshMs: o.refreshMs ?? 250, fullEveryMs: o.fullEveryMs ?? 30_000, slackMs: o.slackMs ?? 10_000, onError: o.onError };
  }

  /** Loads every table whole, then follows the owners' commits until `close()`. */
  static async open(store: StateStore, tables: readonly string[], o: RefStateReplicaOptions = {}): Promise<RefStateReplica> {
    const replica = new RefStateReplica(store, tables, o);
    if (replica.#tables.size === 0) return replica;
    await replica.refresh();
    replica.#schedule();
    return replica;
  }

  /** The committed value of `key` in `table` as last seen; undefined when absent (or not a table followed here). */
  lookup(table: string, key: Key): unknown {
    return this.#tables.get(table)?.get(key);
  }

  /** One refresh now (a whole reload when one is due); concurrent callers share it. */
  refresh(): Promise<void> {
    this.#running ??= this.#refresh().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #refresh(): Promise<void> {
    // The database's clock, read before the rows: a commit after this read has a later or equal
    // `updated_at` unless its transaction began earlier, which is what the slack covers.
    const [row] = await this.#store.query<{ at: Date }>('SELECT now() AS at');
    const at = row!.at;
    const full = this.#since === undefined || Date.now() - this.#lastFull >= this.#o.fullEveryMs;
    for (const [table, values] of this.#tables) {
      const entries = await this.#store.scan(table, full ? {} : { changedSince: this.#since! });
      if (full) values.clear();
      for (const e of entries) values.set(e.key, e.value);
    }
    if (full) this.#lastFull = Date.now();
    this.#since = new Date(at.getTime() - this.#o.slackMs);
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.refresh()
        .catch((err: unknown) => this.#o.onError?.(err))
        .finally(() => this.#schedule());
    }, this.#o.refreshMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }
}
