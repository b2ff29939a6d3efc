import { testPostgres, type TestPostgres } from '@ssdk/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStateStore } from './contract.testkit.ts';
import { FencedError, StateQueryError, StateUnavailableError } from './errors.ts';
import { sqlRoleOf } from './options.ts';
import { openPostgresStore } from './postgres.ts';
import { withRetry } from './retry.ts';
import type { StateStore } from './types.ts';

const server = await testPostgres({ prefix: 'ssdk_state_test' });

afterAll(() => server.cleanup());

describeStateStore('postgres', {
  open: () => openPostgresStore({ connectionString: server.connectionString, schema: server.schema }),
});

describe('state - postgres adapter', () => {
  let env: TestPostgres;
  let store: StateStore;
  const applicationName = `ssdk-state-test-${process.pid}`;

  beforeAll(async () => {
    env = await testPostgres({ prefix: 'ssdk_state_test' });
    store = await openPostgresStore({ connectionString: env.connectionString, schema: env.schema, applicationName });
  });

  afterAll(async () => {
    await store?.close();
    await env?.cleanup();
  });

  it('state - an unreachable server is a retryable StateUnavailableError', async () => {
    const down = await openPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', pool: { connectTimeoutMs: 500 } });
    try {
      const failing = down.offsets('op');
      await expect(failing).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(failing).rejects.toMatchObject({ code: 'state-unavailable', domain: 'external', retryable: true });
      const attempts: number[] = [];
      await expect(
        withRetry((attempt) => (attempts.push(attempt), down.commit({ writes: [], offsets: [{ operator: 'op', partition: 0, seq: 1 }] })), {
          initialDelayMs: 5,
          maxAttempts: 3,
        }),
      ).rejects.toBeInstanceOf(StateUnavailableError);
      expect(attempts).toEqual([1, 2, 3]);
    } finally {
      await down.close();
    }
  });

  it('state - a connection the server terminates surfaces as StateUnavailableError, then the pool recovers', async () => {
    await store.migrate([{ table: 'r_kv', keyType: 'string', windowed: false, value: { kind: 'json' } }]);
    const admin = new pg.Client({ connectionString: env.connectionString });
    await admin.connect();
    try {
      const sleeping = store.query('SELECT pg_sleep(5)').then(
        () => undefined,
        (error: unknown) => error,
      );
      // Wait until the statement runs, then shut its backend down (SQLSTATE 57P01).
      for (let i = 0; i < 50; i++) {
        const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%'", [
          applicationName,
        ]);
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      expect(await sleeping).toBeInstanceOf(StateUnavailableError);
    } finally {
      await admin.end();
    }
    // Idle connections were terminated too; the next commit gets a fresh one.
    await withRetry(() => store.commit({ writes: [{ table: 'r_kv', key: 'k', partition: 0, value: 1 }], offsets: [] }), { initialDelayMs: 10 });
    expect(await store.get('r_kv', ['k'])).toEqual(new Map([['k', 1]]));
  });

  it('state - a second replica reads the tables without migrating, and leases fence it', async () => {
    const spec = { table: 'rep_kv', keyType: 'number', windowed: true, value: { kind: 'json' } } as const;
    await store.migrate([spec]);
    const other = await openPostgresStore({ connectionString: env.connectionString, schema: env.schema });
    try {
      const w = { start: 0, end: 60_000 };
      const a = await store.acquireLease({ operator: 'op.rep', partition: 1, owner: 'a', ttlMs: 30 });
      if (!a.acquired) throw new Error('expected the lease');
      await store.commit({
        writes: [{ table: 'rep_kv', key: 7, partition: 1, window: w, value: 'from a' }],
        offsets: [{ operator: 'op.rep', partition: 1, seq: 1 }],
        fence: { operator: 'op.rep', partitions: [1], epoch: a.lease.epoch },
      });
      expect(await other.scan('rep_kv', { partition: [1] })).toEqual([{ key: 7, partition: 1, window: w, value: 'from a' }]);
      await new Promise((resolve) => setTimeout(resolve, 60));
      const b = await other.acquireLease({ operator: 'op.rep', partition: 1, owner: 'b', ttlMs: 60_000 });
      if (!b.acquired) throw new Error('expected the takeover');
      await expect(
        store.commit({ writes: [], offsets: [{ operator: 'op.rep', partition: 1, seq: 2 }], fence: { operator: 'op.rep', partitions: [1], epoch: a.lease.epoch } }),
      ).rejects.toBeInstanceOf(FencedError);
      expect((await other.offsets('op.rep')).get(1)!.seq).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('state - query runs under a time limit and, with queryRole, with that role\'s rights only', async () => {
    await store.migrate([{ table: 'ro_kv', keyType: 'string', windowed: false, value: { kind: 'json' } }]);
    await store.commit({ writes: [{ table: 'ro_kv', key: 'k', partition: 0, value: 1 }], offsets: [] });
    const role = `ssdk_ro_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: env.connectionString });
    await admin.connect();
    await admin.query(`CREATE ROLE "${role}" NOLOGIN`);
    await admin.query(`GRANT USAGE ON SCHEMA "${env.schema}" TO "${role}"`);
    await admin.query(`GRANT SELECT ON "${env.schema}"."ro_kv" TO "${role}"`);
    const limited = await openPostgresStore({ connectionString: env.connectionString, schema: env.schema, queryRole: role, queryTimeoutMs: 200 });
    try {
      expect(await limited.query('SELECT key, value FROM ro_kv')).toEqual([{ key: 'k', value: 1 }]);
      await expect(limited.query('SELECT pg_sleep(2)')).rejects.toThrow(/ran past 200 ms/);
      await expect(limited.query('SELECT * FROM _offsets')).rejects.toThrow(/permission denied/);
      await expect(limited.query("SELECT pg_read_file('/etc/hostname')")).rejects.toBeInstanceOf(StateQueryError);
    } finally {
      await limited.close();
      await admin.query(`DROP OWNED BY "${role}"`);
      await admin.query(`DROP ROLE "${role}"`);
      await admin.end();
    }
  });

  it('state - by default queries run as the schema\'s SQL role: its state tables only, no server files, no other schema, a row limit', async () => {
    await store.migrate([{ table: 'sb_kv', keyType: 'string', windowed: false, value: { kind: 'json' } }]);
    await store.commit({ writes: [{ table: 'sb_kv', key: 'k', partition: 0, value: 1 }], offsets: [{ operator: 'op.sb', partition: 0, seq: 1 }] });
    const other = `${env.schema}_other`;
    const admin = new pg.Client({ connectionString: env.connectionString });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${other}"`);
    await admin.query(`CREATE TABLE "${other}".dataflows (name text)`);
    const sandboxed = await openPostgresStore({ connectionString: env.connectionString, schema: env.schema, queryRowLimit: 100, queryTimeoutMs: 300 });
    try {
      expect(sqlRoleOf(env.schema)).toBe(`${env.schema}_sql`);
      expect(await sandboxed.query('SELECT key, value FROM sb_kv')).toEqual([{ key: 'k', value: 1 }]);
      expect((await sandboxed.query<{ name: string }>('SELECT name FROM _tables')).map((r) => r.name)).toContain('sb_kv');
      await expect(sandboxed.query("SELECT pg_read_file('/etc/passwd')")).rejects.toThrow(/permission denied/);
      await expect(sandboxed.query("SELECT pg_ls_dir('/')")).rejects.toThrow(/permission denied/);
      await expect(sandboxed.query(`SELECT * FROM "${other}".dataflows`)).rejects.toThrow(/permission denied/);
      await expect(sandboxed.query('SELECT * FROM _offsets')).rejects.toThrow(/permission denied/);
      await expect(sandboxed.query('SELECT pg_sleep(3)')).rejects.toThrow(/ran past 300 ms/);
      await expect(sandboxed.query('SELECT generate_series(1, 1000) AS n')).rejects.toThrow(/more than 100 rows/);
      expect(await sandboxed.query('WITH t AS (SELECT 1 AS n) SELECT n FROM t;')).toEqual([{ n: 1 }]);
      // The pool's own user (what ran the checks above before the role) reads the file.
      const trusting = await openPostgresStore({ connectionString: env.connectionString, schema: env.schema, queryRole: false });
      try {
        const [offsets] = await trusting.query<{ n: number }>('SELECT count(*)::int AS n FROM _offsets');
        expect(offsets!.n).toBeGreaterThan(0);
      } finally {
        await trusting.close();
      }
    } finally {
      await sandboxed.close();
      await admin.query(`DROP SCHEMA "${other}" CASCADE`);
      await admin.end();
    }
  });
});
