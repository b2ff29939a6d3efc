import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStateStore } from './contract.testkit.ts';
import { StateLockedError } from './errors.ts';
import { openPgliteStore } from './pglite.ts';

// One data directory for the file: initdb (~4 s) runs once, later opens take ~0.5 s.
const dataDir = join(await mkdtemp(join(tmpdir(), 'ssdk-state-')), 'state');

afterAll(async () => {
  await rm(join(dataDir, '..'), { recursive: true, force: true });
});

describeStateStore('pglite', {
  open: () => openPgliteStore({ dataDir, schema: 'ssdk_contract' }),
  close: async (store) => {
    await store.destroy();
    await store.close();
  },
});

describe('state - pglite adapter', () => {
  it('state - pglite keeps committed state across close and reopen', async () => {
    const spec = { table: 'counts', keyType: 'string', windowed: false, value: { kind: 'json' } } as const;
    const first = await openPgliteStore({ dataDir, schema: 'ssdk_persist' });
    await first.migrate([spec]);
    await first.commit({
      writes: [{ table: 'counts', key: 'hello', partition: 1, value: 2 }],
      offsets: [{ operator: 'count', partition: 1, seq: 41, meta: { watermark: 7 } }],
    });
    // The directory is held while the store is open.
    await expect(openPgliteStore({ dataDir, schema: 'ssdk_persist' })).rejects.toBeInstanceOf(StateLockedError);
    await first.close();
    await first.close(); // idempotent
    await expect(stat(`${dataDir}.lock`)).rejects.toThrow();

    const second = await openPgliteStore({ dataDir, schema: 'ssdk_persist' });
    try {
      // No migrate: the table's spec is read back from _tables.
      expect(await second.get('counts', ['hello'])).toEqual(new Map([['hello', 2]]));
      expect((await second.offsets('count')).get(1)).toMatchObject({ seq: 41, meta: { watermark: 7 } });
      expect(await second.tables()).toEqual([spec]);
    } finally {
      await second.destroy();
      await second.close();
    }
    // Three opens: ~0.5 s each on a quiet machine, up to ~10 s each at load 30.
  }, 120_000);

  it('state - pglite stops a query past its time (pg_sleep, a runaway recursive CTE) without blocking this thread, and keeps its state', async () => {
    const spec = { table: 'counts', keyType: 'string', windowed: false, value: { kind: 'json' } } as const;
    const store = await openPgliteStore({ dataDir, schema: 'ssdk_h6_timeout', queryTimeoutMs: 1_500 });
    try {
      await store.migrate([spec]);
      await store.commit({ writes: [{ table: 'counts', key: 'hello', partition: 0, value: 3 }], offsets: [] });
      // Timers fire while the query runs: PGlite is not on this thread.
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 100);
      try {
        // The store's own limit.
        let t = performance.now();
        await expect(store.query('SELECT pg_sleep(25)')).rejects.toThrow('ctx.sql: the query ran past 1500 ms and was cancelled');
        const slept = performance.now() - t;
        expect(slept).toBeGreaterThanOrEqual(1_400);
        expect(slept).toBeLessThan(10_000);
        expect(ticks).toBeGreaterThanOrEqual(5);
        // A caller's lower limit (a function's time left).
        t = performance.now();
        const cte = 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) AS n FROM r';
        await expect(store.query(cte, [], { timeoutMs: 800 })).rejects.toThrow(/ran past 800 ms/);
        expect(performance.now() - t).toBeLessThan(10_000);
      } finally {
        clearInterval(ticker);
      }
      // The database was opened again: committed state is there, and writes go on.
      expect(await store.get('counts', ['hello'])).toEqual(new Map([['hello', 3]]));
      await store.commit({ writes: [{ table: 'counts', key: 'hello', partition: 0, value: 4 }], offsets: [] });
      expect(await store.query('SELECT count(*)::int AS n FROM counts')).toEqual([{ n: 1 }]);
    } finally {
      await store.destroy();
      await store.close();
    }
    // One open and two reopens: seconds on a quiet machine, minutes at load 50.
  }, 300_000);

  it('state - pglite refuses use after close', async () => {
    const store = await openPgliteStore({ dataDir, schema: 'ssdk_closed' });
    await store.close();
    await expect(store.offsets('x')).rejects.toMatchObject({ code: 'state-closed' });
  });

  it('state - pglite keeps every acknowledged commit, whole, across kill -9', async () => {
    const writer = fileURLToPath(new URL('./testdata/crash-writer.ts', import.meta.url));
    let acknowledged = 0;
    for (let round = 0; round < 2; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, 'ssdk_crash'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const target = acknowledged + 20 + Math.floor(Math.random() * 20);
      await new Promise<void>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) if (/^\d+$/.test(line)) acknowledged = Number(line);
          if (acknowledged >= target) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}`))));
      });
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      // The killed writer's lock is stale: the next open takes it over and PostgreSQL recovers.
      const store = await openPgliteStore({ dataDir, schema: 'ssdk_crash' });
      try {
        const seq = (await store.offsets('crash')).get(0)!.seq;
        expect(seq).toBeGreaterThanOrEqual(acknowledged);
        const values = new Set((await store.scan('crash_kv')).map((e) => e.value));
        expect([...values]).toEqual([seq]); // state and offset moved together
        acknowledged = seq;
      } finally {
        await store.close();
      }
    }
  }, 180_000);
});
