import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTestShell } from './test-dataflow.ts';

describe('shell - sql', () => {
  it('shell - sql selects over the state tables as an aligned table, and a delete is refused with the store\'s error', async () => {
    const s = await openTestShell({ stateDir: await mkdtemp(join(tmpdir(), 'ssdk-shell-state-')) });
    try {
      for (const w of ['apple', 'pear', 'apple', 'apple']) await s.run(`produce words ${w}`);
      const out = await s.run('sql SELECT key, value, (value)::int * 10 AS tenfold FROM count_words_word_counts ORDER BY key;');
      expect(out).toBe(['key    value  tenfold', '-----  -----  -------', 'apple      3       30', 'pear       1       10', '(2 rows)', ''].join('\n'));
      expect(await s.run('sql select name from _tables where name like \'%window%\'')).toBe('name\n-----------------------\nwindow_totals_in_window\n(1 row)\n');
      expect(await s.run('sql SELECT key FROM count_words_word_counts WHERE key = \'fig\'')).toBe('(0 rows)\n');
      expect(await s.run('sql DELETE FROM count_words_word_counts')).toBe(
        'error: sql reads committed state only: DELETE is not allowed (use SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN) — hint: the shell only reads state; the dataflow alone changes it\n',
      );
      // A write hidden in a CTE is refused by the server (under the row limit's subquery, before the
      // read-only transaction would); the state below is untouched.
      expect(await s.run('sql WITH gone AS (DELETE FROM count_words_word_counts RETURNING key) SELECT * FROM gone')).toMatch(
        /^error: sql reads committed state only: .*(read-only transaction|data-modifying statement).* — hint: the shell only reads state/,
      );
      expect(await s.run('sql SELECT * FROM nope')).toMatch(/^error: relation "nope" does not exist.* — hint: state tables: count_words_word_counts, window_totals_in_window\n$/);
      expect(await s.run('sql')).toBe('error: sql needs a QUERY — hint: usage: sql QUERY\n');
      expect(await s.run('show state word-counts --key apple')).toContain('apple  3');
    } finally {
      await s.close();
    }
  }, 60_000);
});
