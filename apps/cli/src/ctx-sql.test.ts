import { describe, expect, it } from 'vitest';
import { CTX_SQL_SERVICES } from '@ssdk/testing';
import { openTestSession } from './session.testkit.ts';

const words = (list: string[]) => list.map((value, i) => ({ value, timestamp: 1000 + i }));

async function rankAndVandalize(isolation: 'plan' | 'native'): Promise<void> {
  const s = await openTestSession(CTX_SQL_SERVICES, { isolation });
  try {
    await s.df.produce('words', words(['pear', 'apple', 'pear', 'fig', 'apple', 'pear']));
    await s.df.idle();
    await s.df.produce('ticks', [{ value: 'a', timestamp: 2000 }]);
    await s.df.produce('attempts', [{ value: 'DELETE FROM tally_totals', timestamp: 0 }, { value: 'SELECT count(*) AS n FROM tally_totals', timestamp: 0 }]);
    await s.df.endInput();
    await s.df.ended();
    expect((await s.df.read('leaders')).map((r) => r.value)).toEqual([[{ word: 'pear', total: 3 }, { word: 'apple', total: 2 }]]);
    expect((await s.df.read('written')).map((r) => r.value)).toEqual(['SELECT count(*) AS n FROM tally_totals']);
    const dead = (await s.df.read('vandal.dead-letter')).map((r) => r.value as { operator: string; reason: string });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.operator).toBe('vandal.erase');
    expect(dead[0]!.reason).toContain('DELETE is not allowed');
    // The table is untouched.
    expect(await s.store!.query('SELECT count(*)::int AS n FROM tally_totals')).toEqual([{ n: 3 }]);
  } finally {
    await s.close();
  }
}

/** A window's flush ranks its own window's counts with SQL: they are in memory, not yet committed, when it runs. */
const OWN_WINDOW_SERVICES = `apiVersion: 0.5.0
meta: {name: sql-own-window, namespace: tests, version: 0.1.0}
config: {function-timeout: 30s}
types:
  standing:
    type: object
    properties:
      word: {type: string}
      n: {type: u32}
  standings:
    type: list
    items: {type: standing}
topics:
  words: {schema: {value: {type: string}}}
  ranked: {schema: {value: {type: standings}}}
services:
  ranker:
    sources: [{type: topic, id: words}]
    states:
      counts:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: u32}
    window:
      tumbling: {duration: 10s}
      assign-timestamp:
        run: |
          function at(w: string, eventTime: number): number {
            return eventTime;
          }
      partition:
        assign-key:
          run: |
            function byWord(w: string): string {
              return w;
            }
        update-state:
          run: |
            function count(w: string, ctx: Ctx): void {
              ctx.state('counts').increment();
            }
      flush:
        run: |
          function rank(ctx: Ctx): Standings {
            const rows = ctx.sql('SELECT key, value FROM ranker_counts ORDER BY value DESC, key');
            return rows.map((r) => ({ word: String(r['key']), n: Number(r['value']) }));
          }
    sinks: [{type: topic, id: ranked}]
`;

async function rankOwnWindow(isolation: 'plan' | 'native'): Promise<void> {
  const s = await openTestSession(OWN_WINDOW_SERVICES, { isolation });
  try {
    await s.df.produce('words', words(['pear', 'apple', 'pear', 'fig', 'apple', 'pear']));
    await s.df.endInput();
    await s.df.ended();
    // Before: [] — the query read committed state only, and the window had never been committed.
    expect((await s.df.read('ranked')).map((r) => r.value)).toEqual([[{ word: 'pear', n: 3 }, { word: 'apple', n: 2 }, { word: 'fig', n: 1 }]]);
    // The query's view of the window was never written: the flushed window is gone from the table.
    expect(await s.store!.query('SELECT count(*)::int AS n FROM ranker_counts')).toEqual([{ n: 0 }]);
  } finally {
    await s.close();
  }
}

describe('ctx.sql', () => {
  it('ctx.sql - a sandboxed window flush reads its own window (held in memory, not yet committed) through SQL', async () => {
    await rankOwnWindow('plan');
  }, 300_000);

  it('ctx.sql - a native window flush reads its own window the same way', async () => {
    await rankOwnWindow('native');
  }, 120_000);

  it('ctx.sql - a sandboxed flush ranks committed state with SQL; a write is dead-lettered with the reason', async () => {
    await rankAndVandalize('plan');
  }, 300_000);

  it('ctx.sql - a native function queries the same way, with the same read-only role and reasons', async () => {
    await rankAndVandalize('native');
  }, 120_000);

  it('ctx.sql - SQL time counts against function-timeout: pg_sleep(60) and a runaway recursive CTE are dead-lettered as timeouts in seconds; the next query runs', async () => {
    const s = await openTestSession(SLOW_SQL_SERVICES, { isolation: 'plan' });
    try {
      // One record at a time: each timeout is its own, and the database is open again (after the
      // stopped query) before the next record's query starts its clock.
      const timed: number[] = [];
      for (const query of ['SELECT pg_sleep(60)', 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r']) {
        const t = performance.now();
        await s.df.produce('queries', [{ value: query, timestamp: 0 }]);
        await s.df.idle();
        timed.push(performance.now() - t);
      }
      await s.df.produce('queries', [{ value: 'SELECT 1 AS one', timestamp: 0 }]);
      await s.df.endInput();
      await s.df.ended();
      expect((await s.df.read('answers')).map((r) => r.value)).toEqual(['SELECT 1 AS one']);
      const dead = (await s.df.read('asker.dead-letter')).map((r) => r.value as { reason: string });
      expect(dead.map((d) => d.reason)).toEqual([expect.stringMatching(/timed out after 2000 ms \(function-timeout\)/), expect.stringMatching(/timed out after 2000 ms \(function-timeout\)/)]);
      // Not 60 s: the query was stopped at the function's deadline (the rest is reopening the
      // database and the pipeline's own work — over 15 s on a 2-core box at load 20).
      console.log(`ctx.sql stopped: produce → idle ${timed.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}`);
      for (const ms of timed) expect(ms).toBeLessThan(45_000);
    } finally {
      await s.close();
    }
  }, 300_000);
});

const SLOW_SQL_SERVICES = `apiVersion: 0.5.0
meta: {name: sql-time, namespace: tests, version: 0.1.0}
topics:
  queries: {schema: {value: {type: string}}}
  answers: {schema: {value: {type: string}}}
services:
  asker:
    sources: [{type: topic, id: queries}]
    transforms:
      - operator: map
        function-timeout: 2s
        run: |
          function ask(query: string, ctx: Ctx): string {
            ctx.sql(query);
            return query;
          }
    sinks: [{type: topic, id: answers}]
`;
