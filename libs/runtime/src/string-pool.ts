/**
 * One copy of each short string an in-process topic carries over and over (carried.ts). An
 * in-memory topic keeps its records past the message that read them: a sink or intermediate
 * topic for the whole run (its records are read at the end), any topic until every reader has
 * acked the batch, which is after the writer's and the reader's whole batches. A record kept
 * that long is moved twice by V8's young-generation collector (to its other half, then to the
 * old generation), and each of its own strings is an object to move. A word count's `words`
 * topic carried 1.88 million word strings (each split out of its sentence anew, twice per word
 * with the key) for about twenty distinct words; pooled, the topic keeps twenty strings and the
 * words split out of each sentence die young.
 *
 * A string is a value: which copy a record holds changes nothing a reader can see. The pool
 * only pays where texts repeat, so it tries: after `TRIAL` lookups of which fewer than half found
 * their text, it lets every string through as it is (the lookups would cost without keeping
 * anything). It holds at most `MAX_ENTRIES` texts of at most `MAX_LENGTH` characters.
 */
export class StringPool {
  private readonly texts = new Map<string, string>();
  private lookups = 0;
  private found = 0;
  private open = true;

  /** `s`, or the copy of its text the pool holds. */
  canonical(s: string): string {
    if (!this.open || s.length > MAX_LENGTH) return s;
    const held = this.texts.get(s);
    this.lookups++;
    if (held !== undefined) {
      this.found++;
      return held;
    }
    if (this.texts.size < MAX_ENTRIES) this.texts.set(s, s);
    if (this.lookups >= TRIAL && this.found * 2 < this.lookups) {
      // Mostly new texts: the pool would keep nothing worth its lookups.
      this.open = false;
      this.texts.clear();
    }
    return s;
  }

  /** Whether the pool still looks strings up (it stops after a trial that found too few). */
  get pooling(): boolean {
    return this.open;
  }

  /** Texts held. */
  get size(): number {
    return this.texts.size;
  }
}

/** Lookups a pool makes before it judges whether texts repeat enough to go on. */
export const TRIAL = 10_000;
/** The most texts a pool holds: a topic's common keys and words, not its every value. */
export const MAX_ENTRIES = 4096;
/**
 * The longest text pooled: a key, a word, a code. Longer texts rarely repeat, and the lookup
 * reads them whole (hashing, comparing).
 */
export const MAX_LENGTH = 64;
