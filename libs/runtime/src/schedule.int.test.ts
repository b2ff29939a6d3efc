/**
 * Schedules across a crash: a process ticking every 200 ms is killed with SIGKILL and started
 * again; every tick runs exactly once (its fire time counted once in the committed state), and
 * none is missing (the ticks due while it was down fire on restart, at their own times).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openPostgresStore, type StateStore } from '@ssdk/state';
import { testPostgres, until } from '@ssdk/testing';
import { cleanupsAfterAll } from './dataflow.testkit.ts';

const child = fileURLToPath(new URL('./testdata/schedule-child.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
const cleanups = cleanupsAfterAll();

function start(connectionString: string, schema: string): ChildProcess {
  const p = spawn(process.execPath, ['--import', tsx, child, connectionString, schema], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(async () => void p.kill('SIGKILL'));
  return p;
}

async function killed(p: ChildProcess): Promise<void> {
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

describe('schedule - across kill -9', () => {
  it('schedule - a 200 ms schedule killed and restarted fires every tick once, none missing', { timeout: 180_000 }, async () => {
    const pg = await testPostgres();
    cleanups.push(() => pg.cleanup());
    let store: StateStore | undefined;
    const ticks = async (): Promise<Map<number, number>> => {
      store ??= await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
      const rows = await store.scan<number>('ticker_seen').catch(() => []);
      return new Map(rows.map((r) => [Number(r.key), r.value]));
    };
    cleanups.push(async () => store?.close());
    const first = start(pg.connectionString, pg.schema);
    await until('the first ticks', async () => (await ticks()).size >= 4, 120_000);
    await killed(first);
    const before = await ticks();
    // Down for a while: ticks fall due that nothing runs.
    await new Promise((r) => setTimeout(r, 700));
    const second = start(pg.connectionString, pg.schema);
    const firstTick = Math.min(...before.keys());
    // 2 s of schedule: 10 ticks from the first.
    await until('2 s of ticks', async () => (await ticks()).has(firstTick + 1800), 120_000);
    await killed(second);
    const all = await ticks();
    const fired = [...all.keys()].sort((a, b) => a - b);
    expect(fired.filter((t) => t <= firstTick + 1800)).toHaveLength(10);
    expect([...all.values()].every((n) => n === 1)).toBe(true);
    expect(fired.slice(1).map((t, i) => t - fired[i]!)).toEqual(fired.slice(1).map(() => 200));
    expect(fired.length).toBeGreaterThan(before.size);
  });
});
