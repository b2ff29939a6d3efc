/**
 * The contract every StateStore adapter passes: the same suite runs against PGlite and a
 * PostgreSQL server (`describeStateStore(name, setup)` in each adapter's test file).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FencedError,
  ReadOnlyQueryError,
  StateKeyError,
  StateQueryError,
  StateSchemaError,
  StateUsageError,
  StateWriteError,
} from './errors.ts';
import type { StateStore, StateTableSpec } from './types.ts';

export interface ContractSetup {
  open(): Promise<StateStore>;
  /** @default destroy the schema, then close */
  close?(store: StateStore): Promise<void>;
}

const json = (table: string, keyType: StateTableSpec['keyType'] = 'string', windowed = false): StateTableSpec => ({
  table,
  keyType,
  windowed,
  value: { kind: 'json' },
});

const row = (table: string): StateTableSpec => ({
  table,
  keyType: 'string',
  windowed: false,
  value: {
    kind: 'row',
    columns: [
      { name: 'count', type: 'i64' },
      { name: 'ratio', type: 'f64' },
      { name: 'seen', type: 'bool' },
      { name: 'Label', type: 'string' },
      { name: 'at', type: 'timestamp' },
    ],
  },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeStateStore(name: string, setup: ContractSetup): void {
  describe(`state - ${name} adapter contract`, () => {
    let store: StateStore;

    // A first PGlite open runs initdb: seconds, more on a busy machine.
    beforeAll(async () => {
      store = await setup.open();
    }, 180_000);

    afterAll(async () => {
      if (!store) return;
      if (setup.close) await setup.close(store);
      else {
        await store.destroy();
        await store.close();
      }
    });

    it('state - migrate is idempotent and keeps data', async () => {
      const specs = [json('m_json'), row('m_row'), json('m_win', 'number', true)];
      await store.migrate(specs);
      await store.commit({ writes: [{ table: 'm_json', key: 'a', partition: 0, value: 1 }], offsets: [] });
      await store.migrate(specs);
      await store.migrate(specs);
      expect((await store.tables()).map((t) => t.table).filter((t) => t.startsWith('m_'))).toEqual(['m_json', 'm_row', 'm_win']);
      expect(await store.get('m_json', ['a'])).toEqual(new Map([['a', 1]]));
      const [count] = await store.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('m_json', 'm_row', 'm_win')",
      );
      expect(count!.n).toBe(6); // a primary key and a partition index each
    });

    it('state - migrate adds new row columns and refuses incompatible changes', async () => {
      const base = row('m_evolve');
      await store.migrate([base]);
      await store.commit({ writes: [{ table: 'm_evolve', key: 'k', partition: 1, value: { count: 1 } }], offsets: [] });
      const columns = base.value.kind === 'row' ? base.value.columns : [];
      const grown: StateTableSpec = { ...base, value: { kind: 'row', columns: [...columns, { name: 'extra', type: 'string' }] } };
      await store.migrate([grown]);
      await store.commit({ writes: [{ table: 'm_evolve', key: 'k2', partition: 1, value: { count: 2, extra: 'x' } }], offsets: [] });
      expect(await store.get('m_evolve', ['k', 'k2'])).toEqual(new Map([['k', { count: 1 }], ['k2', { count: 2, extra: 'x' }]]));
      await expect(store.migrate([{ ...base, keyType: 'number' }])).rejects.toBeInstanceOf(StateSchemaError);
      await expect(store.migrate([json('m_evolve')])).rejects.toThrow(/another layout: its value changed from row to json/);
      await expect(store.migrate([json('_offsets')])).rejects.toBeInstanceOf(StateSchemaError);
    });

    it('state - get and commit round-trip string, number and boolean keys', async () => {
      await store.migrate([json('k_str'), json('k_num', 'number'), json('k_bool', 'boolean')]);
      const strings = ['plain', '', 'with "quotes", {braces} and \\ backslash', 'ünïcödé 🙂', 'NULL', '42'];
      const numbers = [0, -1, 3.5, 1e21, -1.25e-7, 9007199254740993, 42];
      await store.commit({
        writes: [
          ...strings.map((key, i) => ({ table: 'k_str', key, partition: i % 3, value: { i } })),
          ...numbers.map((key, i) => ({ table: 'k_num', key, partition: 0, value: i })),
          { table: 'k_bool', key: true, partition: 0, value: 'yes' },
          { table: 'k_bool', key: false, partition: 1, value: 'no' },
        ],
        offsets: [],
      });
      const s = await store.get('k_str', [...strings, 'absent']);
      expect([...s.keys()].sort()).toEqual([...strings].sort());
      strings.forEach((key, i) => expect(s.get(key)).toEqual({ i }));
      const n = await store.get('k_num', numbers);
      expect(n.size).toBe(numbers.length);
      numbers.forEach((key, i) => expect(n.get(key)).toBe(i));
      expect([...n.keys()].every((k) => typeof k === 'number')).toBe(true);
      expect(await store.get('k_bool', [true, false])).toEqual(new Map<boolean, string>([[true, 'yes'], [false, 'no']]));
      expect((await store.scan('k_str', { partition: [0] })).map((e) => e.key)).toEqual(['plain', 'ünïcödé 🙂']);
      await expect(store.get('k_num', ['42'])).rejects.toBeInstanceOf(StateKeyError);
      await expect(store.commit({ writes: [{ table: 'k_bool', key: 'true', partition: 0, value: 1 }], offsets: [] })).rejects.toBeInstanceOf(
        StateKeyError,
      );
    });

    it('state - aliases show a table under its Fluvio name, the key as `_key`, for SQL written for SDF', async () => {
      await store.migrate([row('a_count_per_word'), json('a_totals'), json('a_taken')]);
      await store.createAliases(new Map([['count_per_word', 'a_count_per_word'], ['totals', 'a_totals'], ['a_taken', 'a_totals']]));
      await store.commit({
        writes: [
          { table: 'a_count_per_word', key: 'river', partition: 0, value: { count: 3, ratio: 0.5, seen: true, Label: 'r' } },
          { table: 'a_totals', key: 'river', partition: 0, value: 7 },
        ],
        offsets: [],
      });
      expect(await store.query('SELECT c._key, c.count, t.value AS total FROM count_per_word c JOIN totals t ON c._key = t._key')).toEqual([{ _key: 'river', count: 3, total: 7 }]);
      // A name a table has already is left to the table.
      expect(await store.query('SELECT count(*)::int AS n FROM a_taken')).toEqual([{ n: 0 }]);
      // Made again (every start does), the views still answer.
      await store.createAliases(new Map([['count_per_word', 'a_count_per_word']]));
      expect(await store.query('SELECT _key FROM count_per_word')).toEqual([{ _key: 'river' }]);
      // SDF's backtick quoting reads a view named as the state is.
      await store.createAliases(new Map([['count-per-word', 'a_count_per_word']]));
      expect(await store.query('SELECT `_key`, `count` FROM `count-per-word` WHERE `_key` = \'river\'')).toEqual([{ _key: 'river', count: 3 }]);
    });

    it('state - scan changedSince returns only the rows committed from that time on', async () => {
      await store.migrate([json('c_since')]);
      await store.commit({ writes: [{ table: 'c_since', key: 'old', partition: 0, value: 1 }], offsets: [] });
      const at = (await store.query<{ at: Date }>('SELECT clock_timestamp() AS at'))[0]!.at;
      await store.commit({ writes: [{ table: 'c_since', key: 'new', partition: 0, value: 2 }], offsets: [] });
      expect(await store.scan('c_since', { changedSince: at })).toEqual([{ key: 'new', partition: 0, value: 2 }]);
      expect((await store.scan('c_since')).map((e) => e.key)).toEqual(['new', 'old']);
      // A row's commit time, which a state's `ttl` counts from.
      const [newer, older] = await store.scan('c_since', { withUpdatedAt: true });
      expect(older!.updatedAt).toBeLessThanOrEqual(at.getTime());
      expect(newer!.updatedAt).toBeGreaterThanOrEqual(at.getTime());
    });

    it('state - get and commit round-trip json and row values', async () => {
      await store.migrate([json('v_json'), row('v_row')]);
      // Each value lands on its own key (they travel as one JSON array): a held row's JSON text, escapes and all, among them.
      const values: unknown[] = [{ a: [1, 'two', { three: null }], 'b"c': true }, 'text', 12.5, null, [], 'quote " and \\', JSON.stringify({ held: 'row "quoted" \\ ünïcödé 🙂' }), false];
      await store.commit({ writes: values.map((value, i) => ({ table: 'v_json', key: `k${i}`, partition: 0, value })), offsets: [] });
      const got = await store.get('v_json', values.map((_, i) => `k${i}`));
      values.forEach((value, i) => expect(got.get(`k${i}`)).toEqual(value));
      // Strings only (a unit's held rows): they travel as one text, split in SQL, stored as the same JSON strings.
      const texts = ['text', 'quote " and \\', JSON.stringify({ held: 'row "quoted" \\ ünïcödé 🙂\n', tab: '\t' }), 'line\nbreak', ' ', '\u001f', 'x'.repeat(100_000)];
      await store.commit({ writes: texts.map((value, i) => ({ table: 'v_json', key: `t${i}`, partition: 0, value })), offsets: [] });
      const gotTexts = await store.get('v_json', texts.map((_, i) => `t${i}`));
      texts.forEach((value, i) => expect(gotTexts.get(`t${i}`)).toEqual(value));
      const stored = await store.query<{ key: string; kind: string }>(`SELECT key, jsonb_typeof(value) AS kind FROM v_json WHERE key LIKE 't%' ORDER BY key`);
      expect(stored.map((r) => r.kind)).toEqual(texts.map(() => 'string'));

      const full = { count: 7, ratio: 0.1, seen: true, Label: 'Mixed Case "label"', at: 1_700_000_000_123 };
      const big = { count: 2n ** 62n, ratio: -1e300, seen: false, Label: '', at: 0 };
      await store.commit({
        writes: [
          { table: 'v_row', key: 'full', partition: 0, value: full },
          { table: 'v_row', key: 'big', partition: 0, value: big },
          { table: 'v_row', key: 'sparse', partition: 0, value: { count: 1 } },
          { table: 'v_row', key: 'date', partition: 0, value: { at: new Date(5_000), count: '12' } },
        ],
        offsets: [],
      });
      const rows = await store.get('v_row', ['full', 'big', 'sparse', 'date']);
      expect(rows.get('full')).toEqual(full);
      expect(rows.get('big')).toEqual(big);
      expect(rows.get('sparse')).toEqual({ count: 1 });
      expect(rows.get('date')).toEqual({ at: 5_000, count: 12 });
      // Row columns are plain columns for SQL.
      expect(await store.query('SELECT "Label", count FROM v_row WHERE key = $1', ['full'])).toEqual([{ Label: full.Label, count: 7 }]);
      await expect(store.commit({ writes: [{ table: 'v_row', key: 'x', partition: 0, value: [1] }], offsets: [] })).rejects.toBeInstanceOf(
        StateWriteError,
      );
      await expect(
        store.commit({ writes: [{ table: 'v_row', key: 'x', partition: 0, value: { nope: 1 } }], offsets: [] }),
      ).rejects.toThrow(/no column "nope"/);
      await expect(store.commit({ writes: [{ table: 'v_json', key: 'x', partition: 0, value: 1n }], offsets: [] })).rejects.toBeInstanceOf(
        StateWriteError,
      );
    });

    it('state - coalesces writes per key, the last one wins', async () => {
      await store.migrate([json('c_kv'), json('c_win', 'string', true)]);
      const w = { start: 0, end: 10 };
      const result = await store.commit({
        writes: [
          { table: 'c_kv', key: 'k', partition: 2, value: 1 },
          { table: 'c_kv', key: 'k', partition: 2, value: 2 },
          { table: 'c_kv', key: 'other', partition: 2, value: 'x' },
          { table: 'c_kv', key: 'k', partition: 2, value: 3 },
          { table: 'c_kv', key: 'gone', partition: 1, value: 1 },
          { table: 'c_kv', key: 'gone', partition: 1, value: undefined },
          { table: 'c_win', key: 'k', partition: 0, window: w, value: 'a' },
          { table: 'c_win', key: 'k', partition: 0, window: { start: 10, end: 20 }, value: 'b' },
          { table: 'c_win', key: 'k', partition: 0, window: w, value: 'c' },
        ],
        offsets: [],
      });
      expect(result).toMatchObject({ upserted: 4, deleted: 1 });
      expect(await store.get('c_kv', ['k', 'other', 'gone'])).toEqual(new Map<string, unknown>([['k', 3], ['other', 'x']]));
      expect(await store.query('SELECT key, count(*)::int AS n FROM c_kv GROUP BY key ORDER BY key')).toEqual([
        { key: 'k', n: 1 },
        { key: 'other', n: 1 },
      ]);
      expect((await store.scan('c_win')).map((e) => [e.window?.start, e.value])).toEqual([[0, 'c'], [10, 'b']]);
    });

    it('state - deletes keys', async () => {
      await store.migrate([json('d_kv'), json('d_win', 'number', true), json('d_win_s', 'string', true)]);
      const w = { start: 100, end: 200 };
      // Keys PostgreSQL's array literals quote or escape: each is deleted as itself, the others stay.
      const odd = ['say "hi"', 'back\\slash', '\\"', 'NULL', '', '{a,b}', ' '];
      await store.commit({
        writes: [
          { table: 'd_kv', key: 'a', partition: 0, value: 1 },
          { table: 'd_kv', key: 'b', partition: 0, value: 2 },
          { table: 'd_win', key: 1, partition: 0, window: w, value: 1 },
          { table: 'd_win', key: 2, partition: 0, window: w, value: 2 },
          ...odd.flatMap((key, i) => [
            { table: 'd_kv', key, partition: 0, value: i },
            { table: 'd_win_s', key, partition: 0, window: w, value: i },
          ]),
        ],
        offsets: [],
      });
      expect(await store.get('d_win_s', odd, w)).toEqual(new Map(odd.map((key, i) => [key, i])));
      const result = await store.commit({
        writes: [
          { table: 'd_kv', key: 'a', partition: 0, value: undefined },
          { table: 'd_kv', key: 'never-there', partition: 0, value: undefined },
          { table: 'd_win', key: 2, partition: 0, window: w, value: undefined },
          ...odd.slice(0, 4).flatMap((key) => [
            { table: 'd_kv', key, partition: 0, value: undefined },
            { table: 'd_win_s', key, partition: 0, window: w, value: undefined },
          ]),
        ],
        offsets: [],
      });
      expect(result).toMatchObject({ upserted: 0, deleted: 11 });
      expect(await store.get('d_kv', ['a', 'b', ...odd])).toEqual(new Map([['b', 2], ...odd.slice(4).map((key, i): [string, number] => [key, i + 4])]));
      expect(await store.get('d_win', [1, 2], w)).toEqual(new Map([[1, 1]]));
      expect(await store.get('d_win_s', odd, w)).toEqual(new Map(odd.slice(4).map((key, i) => [key, i + 4])));
    });

    it('state - windowed state: scan by window, and dropWindows removes one window only', async () => {
      await store.migrate([json('w_counts', 'string', true), json('w_other', 'string', true)]);
      const w1 = { start: 1_000, end: 2_000 };
      const w2 = { start: 2_000, end: 3_000 };
      await store.commit({
        writes: [
          { table: 'w_counts', key: 'b', partition: 1, window: w1, value: 2 },
          { table: 'w_counts', key: 'a', partition: 0, window: w1, value: 1 },
          { table: 'w_counts', key: 'a', partition: 0, window: w2, value: 10 },
          { table: 'w_counts', key: 'c', partition: 2, window: w2, value: 30 },
          { table: 'w_other', key: 'a', partition: 0, window: w1, value: 'other' },
        ],
        offsets: [],
      });
      expect(await store.windows('w_counts')).toEqual([w1, w2]);
      expect(await store.scan('w_counts', { window: w1 })).toEqual([
        { key: 'a', partition: 0, window: w1, value: 1 },
        { key: 'b', partition: 1, window: w1, value: 2 },
      ]);
      expect((await store.scan('w_counts', { partition: [0, 2] })).map((e) => `${e.window!.start}:${String(e.key)}`)).toEqual([
        '1000:a',
        '2000:a',
        '2000:c',
      ]);
      expect(await store.get('w_counts', ['a', 'b', 'c'], w2)).toEqual(new Map([['a', 10], ['c', 30]]));

      const result = await store.commit({ writes: [], dropWindows: [{ table: 'w_counts', window: w1 }], offsets: [] });
      expect(result.droppedRows).toBe(2);
      expect(await store.windows('w_counts')).toEqual([w2]);
      expect(await store.scan('w_counts', { window: w1 })).toEqual([]);
      expect((await store.scan('w_counts', { window: w2 })).map((e) => e.value)).toEqual([10, 30]);
      expect(await store.windows('w_other')).toEqual([w1]);

      await expect(store.get('w_counts', ['a'])).rejects.toBeInstanceOf(StateUsageError);
      await expect(store.windows('k_str')).rejects.toBeInstanceOf(StateUsageError);
    });

    it('state - commits offsets and meta with the writes', async () => {
      await store.migrate([json('o_kv')]);
      expect(await store.offsets('op.offsets')).toEqual(new Map());
      await store.commit({
        writes: [{ table: 'o_kv', key: 'a', partition: 0, value: 1 }],
        offsets: [
          { operator: 'op.offsets', partition: 0, seq: 10, meta: { watermark: 1_000 } },
          { operator: 'op.offsets', partition: 1, seq: 7 },
        ],
      });
      await store.commit({ writes: [], offsets: [{ operator: 'op.offsets', partition: 0, seq: 12 }] });
      let offsets = await store.offsets('op.offsets');
      expect([...offsets.keys()]).toEqual([0, 1]);
      expect(offsets.get(0)).toMatchObject({ seq: 12, meta: { watermark: 1_000 }, epoch: 0 });
      expect(offsets.get(1)).toMatchObject({ seq: 7, epoch: 0 });
      expect(offsets.get(1)).not.toHaveProperty('meta');
      expect(offsets.get(0)!.updatedAt).toBeInstanceOf(Date);
      await store.commit({ writes: [], offsets: [{ operator: 'op.offsets', partition: 0, seq: 13, meta: { watermark: 2_000 } }] });
      offsets = await store.offsets('op.offsets');
      expect(offsets.get(0)).toMatchObject({ seq: 13, meta: { watermark: 2_000 } });
      expect(await store.offsets('op.unknown')).toEqual(new Map());
    });

    it('state - a commit that fails midway moves neither state nor offsets', async () => {
      await store.migrate([json('a_json'), row('a_row')]);
      await store.commit({
        writes: [
          { table: 'a_json', key: 'k', partition: 0, value: 'before' },
          { table: 'a_row', key: 'k', partition: 0, value: { count: 1 } },
        ],
        offsets: [{ operator: 'op.atomic', partition: 0, seq: 1, meta: { m: 1 } }],
      });
      // The json write succeeds inside the transaction, then PostgreSQL refuses the i64 value.
      const failing = store.commit({
        writes: [
          { table: 'a_json', key: 'k', partition: 0, value: 'after' },
          { table: 'a_json', key: 'new', partition: 0, value: 'new' },
          { table: 'a_row', key: 'k', partition: 0, value: { count: 'not-a-number' } },
        ],
        offsets: [{ operator: 'op.atomic', partition: 0, seq: 2, meta: { m: 2 } }],
      });
      await expect(failing).rejects.toBeInstanceOf(StateWriteError);
      await expect(failing).rejects.toThrow(/state table "a_row" refused a value.*bigint/);
      expect(await store.get('a_json', ['k', 'new'])).toEqual(new Map([['k', 'before']]));
      expect(await store.get('a_row', ['k'])).toEqual(new Map([['k', { count: 1 }]]));
      expect((await store.offsets('op.atomic')).get(0)).toMatchObject({ seq: 1, meta: { m: 1 } });
    });

    it('state - a commit with a stale epoch is fenced and changes nothing', async () => {
      await store.migrate([json('f_kv')]);
      const op = 'op.fenced';
      const a = await store.acquireLease({ operator: op, partition: 0, owner: 'replica-a', ttlMs: 50 });
      expect(a.acquired).toBe(true);
      const leaseA = a.acquired ? a.lease : undefined;
      await store.commit({
        writes: [{ table: 'f_kv', key: 'k', partition: 0, value: 'a1' }],
        offsets: [{ operator: op, partition: 0, seq: 1 }],
        fence: { operator: op, partitions: [0], epoch: leaseA!.epoch },
      });
      expect((await store.offsets(op)).get(0)).toMatchObject({ seq: 1, epoch: leaseA!.epoch });

      await sleep(80); // replica a stalls past its lease; b takes over
      const b = await store.acquireLease({ operator: op, partition: 0, owner: 'replica-b', ttlMs: 60_000 });
      expect(b.acquired && b.lease.epoch).toBe(leaseA!.epoch + 1);

      const stale = store.commit({
        writes: [{ table: 'f_kv', key: 'k', partition: 0, value: 'a2' }],
        offsets: [{ operator: op, partition: 0, seq: 2 }],
        fence: { operator: op, partitions: [0], epoch: leaseA!.epoch },
      });
      await expect(stale).rejects.toBeInstanceOf(FencedError);
      await expect(stale).rejects.toMatchObject({ code: 'state-fenced', operator: op, partitions: [0], retryable: false });
      expect(await store.get('f_kv', ['k'])).toEqual(new Map([['k', 'a1']]));
      expect((await store.offsets(op)).get(0)!.seq).toBe(1);

      // Fencing covers every partition of the commit; a partition without a lease row is fenced too.
      await expect(
        store.commit({ writes: [], offsets: [], fence: { operator: op, partitions: [0, 5], epoch: leaseA!.epoch + 1 } }),
      ).rejects.toMatchObject({ partitions: [5] });

      await store.commit({
        writes: [{ table: 'f_kv', key: 'k', partition: 0, value: 'b1' }],
        offsets: [{ operator: op, partition: 0, seq: 2 }],
        fence: [{ operator: op, partitions: [0], epoch: leaseA!.epoch + 1 }],
      });
      expect(await store.get('f_kv', ['k'])).toEqual(new Map([['k', 'b1']]));
    });

    it('state - leases: acquire, renew, expire and take over with a new epoch', async () => {
      const op = 'op.leases';
      const first = await store.acquireLease({ operator: op, partition: 3, owner: 'a', ttlMs: 60_000 });
      if (!first.acquired) throw new Error('expected the lease');
      expect(first.lease).toMatchObject({ operator: op, partition: 3, owner: 'a', epoch: 1 });

      const refused = await store.acquireLease({ operator: op, partition: 3, owner: 'b', ttlMs: 60_000 });
      expect(refused).toMatchObject({ acquired: false, holder: { owner: 'a', epoch: 1, expired: false } });

      const again = await store.acquireLease({ operator: op, partition: 3, owner: 'a', ttlMs: 60_000 });
      expect(again.acquired && again.lease.epoch).toBe(1); // re-acquiring your own lease keeps the epoch

      const renewed = await store.renewLease(first.lease, 40);
      expect(renewed).toMatchObject({ owner: 'a', epoch: 1 });
      expect(renewed!.expiresAt.getTime()).toBeLessThan(first.lease.expiresAt.getTime());
      await sleep(70);
      expect((await store.leases(op))[0]).toMatchObject({ owner: 'a', expired: true });

      const takeover = await store.acquireLease({ operator: op, partition: 3, owner: 'b', ttlMs: 60_000 });
      if (!takeover.acquired) throw new Error('expected the takeover');
      expect(takeover.lease).toMatchObject({ owner: 'b', epoch: 2 });
      expect(await store.renewLease(first.lease, 60_000)).toBeUndefined();
      expect(await store.releaseLease(first.lease)).toBe(false);

      expect(await store.releaseLease(takeover.lease)).toBe(true);
      expect(await store.leases(op)).toEqual([expect.objectContaining({ partition: 3, owner: null, epoch: 2, expired: true })]);
      const back = await store.acquireLease({ operator: op, partition: 3, owner: 'a', ttlMs: 60_000 });
      expect(back.acquired && back.lease.epoch).toBe(3);
      await expect(store.acquireLease({ operator: op, partition: 3, owner: 'a', ttlMs: -1 })).rejects.toBeInstanceOf(StateUsageError);
    });

    it('state - members: a heartbeat registers a replica until it expires or leaves', async () => {
      const op = 'op.members';
      await store.heartbeat({ operator: op, member: 'b', ttlMs: 60_000 });
      // Long enough for two statements on a busy machine (PGlite answers from its own thread).
      await store.heartbeat({ operator: op, member: 'a', ttlMs: 1_000 });
      await store.heartbeat({ operator: 'other.op', member: 'z', ttlMs: 60_000 });
      expect(await store.members(op)).toEqual(['a', 'b']);
      await sleep(1_100);
      expect(await store.members(op)).toEqual(['b']); // a stopped heartbeating: it counts as dead
      await store.heartbeat({ operator: op, member: 'a', ttlMs: 60_000 });
      expect(await store.members(op)).toEqual(['a', 'b']);
      await store.leave(op, 'b');
      expect(await store.members(op)).toEqual(['a']);
      await expect(store.heartbeat({ operator: op, member: 'a', ttlMs: Number.NaN })).rejects.toBeInstanceOf(StateUsageError);
    });

    it('state - query reads committed rows and refuses writes', async () => {
      await store.migrate([json('q_kv', 'number')]);
      await store.commit({
        writes: [1, 2, 3].map((key) => ({ table: 'q_kv', key, partition: key % 2, value: { n: key * 10 } })),
        offsets: [],
      });
      expect(
        await store.query("SELECT key, (value->>'n')::int AS n FROM q_kv WHERE partition = $1 ORDER BY key", [1]),
      ).toEqual([
        { key: '1', n: 10 },
        { key: '3', n: 30 },
      ]);
      expect(await store.query('-- how many\n SELECT count(*) AS n FROM q_kv')).toEqual([{ n: 3 }]);
      for (const sql of ['DELETE FROM q_kv', "INSERT INTO q_kv (key, partition) VALUES ('9', 0)", 'DROP TABLE q_kv', '  /* hi */ update q_kv set partition = 0']) {
        await expect(store.query(sql), sql).rejects.toBeInstanceOf(ReadOnlyQueryError);
      }
      // Past the keyword check, the READ ONLY transaction refuses writes hidden in a SELECT.
      const cte = store.query('WITH d AS (DELETE FROM q_kv RETURNING key) SELECT * FROM d');
      await expect(cte).rejects.toBeInstanceOf(ReadOnlyQueryError);
      await expect(cte).rejects.toThrow(/read-only transaction|data-modifying statement/);
      await expect(store.query('SELECT 1; DELETE FROM q_kv')).rejects.toBeInstanceOf(StateQueryError);
      await expect(store.query('SELECT * FROM no_such_table')).rejects.toThrow(/SELECT name FROM _tables lists them/);
      await expect(store.query('')).rejects.toBeInstanceOf(StateQueryError);
      expect(await store.query('SELECT count(*)::int AS n FROM q_kv')).toEqual([{ n: 3 }]);
    });

    it('state - query with pending windows sees them in place of the committed rows, and writes nothing', async () => {
      await store.migrate([json('p_win', 'string', true)]);
      const w1 = { start: 1_000, end: 2_000 };
      const w2 = { start: 2_000, end: 3_000 };
      await store.commit({
        writes: [
          { table: 'p_win', key: 'a', partition: 0, window: w1, value: 1 },
          { table: 'p_win', key: 'b', partition: 0, window: w1, value: 2 },
          { table: 'p_win', key: 'z', partition: 0, window: w2, value: 9 },
        ],
        offsets: [],
      });
      const all = 'SELECT window_start::int AS w, key, value::int AS v FROM p_win ORDER BY window_start, key';
      // w1 as held in memory: a changed, b deleted, c new; w2 untouched.
      const pending = [{ table: 'p_win', window: w1, rows: [{ key: 'a', partition: 0, value: 5 }, { key: 'c', partition: 0, value: 7 }] }];
      expect(await store.query(all, [], { pending })).toEqual([
        { w: 1000, key: 'a', v: 5 },
        { w: 1000, key: 'c', v: 7 },
        { w: 2000, key: 'z', v: 9 },
      ]);
      // An empty window held: none of its committed rows.
      expect(await store.query('SELECT count(*)::int AS n FROM p_win WHERE window_start = 1000', [], { pending: [{ table: 'p_win', window: w1, rows: [] }] })).toEqual([{ n: 0 }]);
      // Still read only after the overlay, and the overlay never commits.
      await expect(store.query('WITH d AS (DELETE FROM p_win RETURNING key) SELECT * FROM d', [], { pending })).rejects.toBeInstanceOf(ReadOnlyQueryError);
      await expect(store.query('SELECT * FROM no_such_table', [], { pending })).rejects.toBeInstanceOf(StateQueryError);
      expect(await store.query(all)).toEqual([
        { w: 1000, key: 'a', v: 1 },
        { w: 1000, key: 'b', v: 2 },
        { w: 2000, key: 'z', v: 9 },
      ]);
    });

    it('state - unknown tables and misuse are typed errors', async () => {
      await expect(store.get('no_table', ['a'])).rejects.toBeInstanceOf(StateSchemaError);
      await expect(store.commit({ writes: [{ table: 'no_table', key: 'a', partition: 0, value: 1 }], offsets: [] })).rejects.toThrow(
        /unknown state table "no_table".*migrate\(\)/,
      );
      await store.migrate([json('u_kv')]);
      await expect(
        store.commit({ writes: [{ table: 'u_kv', key: 'a', partition: 0, window: { start: 0, end: 1 }, value: 1 }], offsets: [] }),
      ).rejects.toBeInstanceOf(StateUsageError);
      await expect(store.commit({ writes: [{ table: 'u_kv', key: 'a', partition: -1, value: 1 }], offsets: [] })).rejects.toBeInstanceOf(
        StateUsageError,
      );
      await expect(store.commit({ writes: [], dropWindows: [{ table: 'u_kv', window: { start: 0, end: 1 } }], offsets: [] })).rejects.toBeInstanceOf(
        StateUsageError,
      );
    });

    it('state - a large commit is split into statements and stays one transaction', async () => {
      await store.migrate([json('l_kv', 'number')]);
      const n = 25_000;
      const writes = Array.from({ length: n }, (_, key) => ({ table: 'l_kv', key, partition: key % 8, value: key }));
      const result = await store.commit({ writes, offsets: [{ operator: 'op.large', partition: 0, seq: n }] });
      expect(result.upserted).toBe(n);
      expect(await store.query('SELECT count(*)::int AS n, sum((value)::int)::float8 AS s FROM l_kv')).toEqual([
        { n, s: (n * (n - 1)) / 2 },
      ]);
      expect((await store.scan('l_kv', { partition: [3] })).length).toBe(n / 8);
    });
  });
}
