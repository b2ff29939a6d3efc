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
  /** Each held text's id: its place in `texts`. */
  private readonly ids = new Map<string, number>();
  /**
   * The held texts by id (`idOf`). Only ever appended to, so an id given out names its text for
   * as long as whoever holds it keeps this list (a carried batch takes it when made); a pool that
   * stops looking starts a list of its own, the old one left to those batches.
   */
  texts: string[] = [];
  /** Lookups so far, or `CLOSED` once the trial found too few. */
  private lookups = 0;
  /**
   * Lookups that found nothing. Misses, not hits, are counted, and the pool stops by a number,
   * not a flag of its own: a field V8 has seen hold one value since its object was made is
   * compiled as a constant, and code that relied on it was thrown away (with everything it was
   * inlined into: a carried batch's `push`, `produce`, a unit's `outputCarried`) when it first
   * changed. A pool's first lookup always misses, so this one changes at once, while the
   * run starts; the first hit, or a pool closing, came mid-run.
   */
  private missed = 0;

  /** `s`, or the copy of its text the pool holds. */
  canonical(s: string): string {
    const id = this.idOf(s);
    return id === NO_TEXT ? s : this.texts[id]!;
  }

  /** The id of `s`'s text in `texts` (held from now on if new), or `NO_TEXT` where the pool holds no copy of it. */
  idOf(s: string): number {
    if (this.lookups === CLOSED || s.length > MAX_LENGTH) return NO_TEXT;
    const held = this.ids.get(s);
    // Found or not, the counts go one way: code compiled while the pools had only found (or only
    // missed) had no feedback for the other way, and was thrown away when it came.
    const lookups = this.lookups + 1;
    const missed = this.missed + (held === undefined ? 1 : 0);
    // Mostly new texts after the trial: the pool would keep nothing worth its lookups.
    const stop = missed * 2 > lookups && lookups >= TRIAL;
    this.missed = missed;
    this.lookups = stop ? CLOSED : lookups;
    if (stop) {
      this.ids.clear();
      this.texts = [];
      return NO_TEXT;
    }
    if (held !== undefined) return held;
    if (this.ids.size >= MAX_ENTRIES) return NO_TEXT;
    const id = this.texts.length;
    this.texts.push(s);
    this.ids.set(s, id);
    return id;
  }

  /** Whether the pool still looks strings up (it stops after a trial that found too few). */
  get pooling(): boolean {
    return this.lookups !== CLOSED;
  }

  /** Texts held. */
  get size(): number {
    return this.ids.size;
  }
}

/** `idOf` of a text the pool holds no copy of. */
export const NO_TEXT = -1;

/** A closed pool's `lookups`. */
const CLOSED = -1;

/** Lookups a pool makes before it judges whether texts repeat enough to go on. */
export const TRIAL = 10_000;
/** The most texts a pool holds: a topic's common keys and words, not its every value. */
export const MAX_ENTRIES = 4096;
/**
 * The longest text pooled: a key, a word, a code. Longer texts rarely repeat, and the lookup
 * reads them whole (hashing, comparing).
 */
export const MAX_LENGTH = 64;
