import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES, MAX_LENGTH, StringPool, TRIAL } from './string-pool.ts';

/** A string of its own with `text` in it (not the literal's one copy): what a function's split or slice makes. */
const fresh = (text: string, n: number) => `${text}~${n}`.slice(0, text.length);

describe('runtime - string pool', () => {
  it('runtime - texts that repeat are held once, however many copies come', () => {
    const pool = new StringPool();
    const words = ['river', 'harbor', 'fog'];
    for (let i = 0; i < 3 * TRIAL; i++) expect(pool.canonical(fresh(words[i % 3]!, i))).toBe(words[i % 3]);
    expect(pool.pooling).toBe(true);
    expect(pool.size).toBe(3);
  });

  it('runtime - a pool whose trial found too few of its texts lets every string through and holds none', () => {
    const pool = new StringPool();
    for (let i = 0; i < TRIAL; i++) expect(pool.canonical(`id-${i}`)).toBe(`id-${i}`);
    expect(pool.pooling).toBe(false);
    expect(pool.size).toBe(0);
    // Repeats after the trial are let through too: the pool has stopped looking.
    pool.canonical(fresh('id-1', 1));
    expect(pool.size).toBe(0);
  });

  it('runtime - a pool that passed its trial stops once most of its lookups find nothing', () => {
    const pool = new StringPool();
    for (let i = 0; i < TRIAL; i++) pool.canonical(fresh('river', i));
    expect(pool.pooling).toBe(true);
    for (let i = 0; i < TRIAL + 2; i++) pool.canonical(`id-${i}`);
    expect(pool.pooling).toBe(false);
    expect(pool.size).toBe(0);
  });

  it('runtime - a pool holds at most MAX_ENTRIES texts of at most MAX_LENGTH characters', () => {
    const pool = new StringPool();
    const long = 'x'.repeat(MAX_LENGTH + 1);
    expect(pool.canonical(long)).toBe(long);
    expect(pool.size).toBe(0);
    // Each new text is looked up twice, so the trial passes while the pool fills past its bound.
    for (let i = 0; i < MAX_ENTRIES + 100; i++) {
      pool.canonical(`k${i}`);
      pool.canonical(fresh(`k${i}`, i));
    }
    expect(pool.pooling).toBe(true);
    expect(pool.size).toBe(MAX_ENTRIES);
    // A text beyond the bound still comes back as it was given.
    expect(pool.canonical(`k${MAX_ENTRIES + 50}`)).toBe(`k${MAX_ENTRIES + 50}`);
  });
});
