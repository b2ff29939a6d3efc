import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CTX_SQL_SERVICES } from '@ssdk/testing';
import { openSession, type Session } from './embedded-session.ts';

// Components are built once per content hash; the cache is shared with the other CLI tests.
process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');

async function session(isolation: 'plan' | 'native'): Promise<Session> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-sql-'));
  await writeFile(join(dir, 'services.yaml'), CTX_SQL_SERVICES);
  return openSession({ file: join(dir, 'services.yaml'), checkpoints: { kind: 'pglite', stateDir: join(dir, '.ssdk'), fresh: true }, isolation });
}

const words = (list: string[]) => list.map((value, i) => ({ value, timestamp: 1000 + i }));

async function rankAndVandalize(isolation: 'plan' | 'native'): Promise<void> {
  const s = await session(isolation);
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

describe('ctx.sql', () => {
  it('ctx.sql - a sandboxed flush ranks committed state with SQL; a write is dead-lettered with the reason', async () => {
    await rankAndVandalize('plan');
  }, 300_000);

  it('ctx.sql - a native function queries the same way, with the same read-only role and reasons', async () => {
    await rankAndVandalize('native');
  }, 120_000);
});
