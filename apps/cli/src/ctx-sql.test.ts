import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSession, type Session } from './embedded-session.ts';

// Components are built once per content hash; the cache is shared with the other CLI tests.
process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');

// `tally` keeps a running total per word (state table `tally_totals`); `leaders` closes a window
// per tick and reads the top two words from that table with SQL; `vandal` tries to write.
const SERVICES = `apiVersion: 0.5.0
meta: {name: sql-probe, namespace: tests, version: 0.1.0}
types:
  standing:
    type: object
    properties:
      word: {type: string}
      total: {type: u32}
  leaders:
    type: list
    items: {type: standing}
topics:
  words: {schema: {value: {type: string}}}
  ticks: {schema: {value: {type: string}}}
  attempts: {schema: {value: {type: string}}}
  leaders: {schema: {value: {type: leaders}}}
  written: {schema: {value: {type: string}}}
services:
  tally:
    sources: [{type: topic, id: words}]
    states:
      totals:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: u32}
    partition:
      assign-key:
        run: |
          function byWord(w: string): string {
            return w;
          }
      update-state:
        run: |
          function count(w: string, ctx: Ctx): void {
            ctx.state('totals').increment();
          }
  leaders:
    sources: [{type: topic, id: ticks}]
    window:
      tumbling: {duration: 10s}
      assign-timestamp:
        run: |
          function tickTime(t: string, eventTime: number): number {
            return eventTime;
          }
      flush:
        run: |
          function topTwo(ctx: Ctx): Leaders {
            const rows = ctx.sql('SELECT key, value FROM tally_totals ORDER BY value DESC, key LIMIT $1', [2]);
            return rows.map((r) => ({ word: String(r['key']), total: Number(r['value']) }));
          }
    sinks: [{type: topic, id: leaders}]
  vandal:
    sources: [{type: topic, id: attempts}]
    transforms:
      - operator: map
        run: |
          function erase(what: string, ctx: Ctx): string {
            ctx.sql(what);
            return what;
          }
    sinks: [{type: topic, id: written}]
`;

async function session(isolation: 'plan' | 'native'): Promise<Session> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-sql-'));
  await writeFile(join(dir, 'services.yaml'), SERVICES);
  return openSession({ file: join(dir, 'services.yaml'), checkpoints: { kind: 'pglite', stateDir: join(dir, '.ssdk'), fresh: true }, isolation });
}

const words = (list: string[]) => list.map((value, i) => ({ value, timestamp: 1000 + i }));

describe('ctx.sql', () => {
  it('ctx.sql - a sandboxed flush ranks committed state with SQL; a write is dead-lettered with the reason', async () => {
    const s = await session('plan');
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
  }, 300_000);

  it('ctx.sql - a native function is told to run sandboxed', async () => {
    const s = await session('native');
    try {
      await s.df.produce('attempts', [{ value: 'SELECT 1', timestamp: 0 }]);
      await s.df.endInput();
      await s.df.ended();
      const dead = (await s.df.read('vandal.dead-letter')).map((r) => r.value as { reason: string });
      expect(dead.map((d) => d.reason)).toEqual([expect.stringContaining('ctx.sql is not available to native (`isolation: native`) functions: run this step sandboxed')]);
    } finally {
      await s.close();
    }
  }, 120_000);
});
