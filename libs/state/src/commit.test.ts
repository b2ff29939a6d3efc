import { describe, expect, it } from 'vitest';
import { arrayText, planCommit, ROWS_PER_STATEMENT, sqlParams } from './commit.ts';
import { StateUsageError, StateWriteError } from './errors.ts';
import { CompiledTable } from './table.ts';
import type { StateTableSpec } from './types.ts';

const specs: StateTableSpec[] = [
  { table: 'kv', keyType: 'string', windowed: false, value: { kind: 'json' } },
  { table: 'win', keyType: 'number', windowed: true, value: { kind: 'json' } },
];
const tables = new Map(specs.map((s) => [s.table, new CompiledTable('s', s)]));
const tableOf = (name: string) => tables.get(name)!;

describe('state - commit planning', () => {
  it('state - coalesces writes per (table, window, key), keeping the last', () => {
    const w1 = { start: 0, end: 10 };
    const w2 = { start: 10, end: 20 };
    const plan = planCommit(
      {
        writes: [
          { table: 'kv', key: 'a', partition: 0, value: 1 },
          { table: 'kv', key: 'b', partition: 1, value: 'x' },
          { table: 'kv', key: 'a', partition: 0, value: 2 },
          { table: 'kv', key: 'b', partition: 1, value: undefined },
          { table: 'win', key: 1, partition: 0, window: w1, value: 'w1' },
          { table: 'win', key: 1, partition: 0, window: w2, value: 'w2' },
          { table: 'win', key: 1, partition: 0, window: w1, value: 'w1 again' },
        ],
        offsets: [],
      },
      tableOf,
    );
    const [kv, win] = plan.tables;
    expect(kv!.upserts).toEqual([{ sql: kv!.table.upsertSql, params: [['a'], [0], '[2]'] }]);
    expect(kv!.deletes).toEqual([[['b']]]);
    // Strings only: as one text, not escaped again inside a JSON array.
    expect(win!.upserts).toEqual([{ sql: win!.table.upsertTextsSql, params: [['1', '1'], [0, 0], [0, 10], [10, 20], 'w1 again\u001ew2'] }]);
    expect(plan.empty).toBe(false);
  });

  it('state - JSON strings go as one text only when every value of the statement is a string that can be split back', () => {
    const upsert = (values: unknown[]) => planCommit({ writes: values.map((value, i) => ({ table: 'kv', key: `k${i}`, partition: 0, value })), offsets: [] }, tableOf).tables[0]!.upserts[0]!;
    const texts = upsert(['{"a":"b\\"c"}', 'x']);
    expect(texts.params.at(-1)).toBe('{"a":"b\\"c"}\u001ex');
    expect(texts.sql).toContain('string_to_array');
    // A number among them, a string holding the separator, an empty string (no element from string_to_array): one JSON array.
    for (const values of [['x', 1], ['x', 'a\u001eb'], ['']]) {
      const u = upsert(values);
      expect(u.sql).toBe(tableOf('kv').upsertSql);
      expect(u.params.at(-1)).toBe(JSON.stringify(values));
    }
  });

  it('state - splits very large checkpoints into several statements', () => {
    const n = ROWS_PER_STATEMENT * 2 + 5;
    const plan = planCommit({ writes: Array.from({ length: n }, (_, i) => ({ table: 'kv', key: `k${i}`, partition: 0, value: i })), offsets: [] }, tableOf);
    expect(plan.tables[0]!.upserts.map((u) => (u.params[0] as unknown[]).length)).toEqual([ROWS_PER_STATEMENT, ROWS_PER_STATEMENT, 5]);
    expect(plan.tables[0]!.upserted).toBe(n);
  });

  it('state - keeps the last offset per partition, and earlier meta when the last has none', () => {
    const plan = planCommit(
      {
        writes: [],
        offsets: [
          { operator: 'op', partition: 0, seq: 1, meta: { wm: 1 } },
          { operator: 'op', partition: 0, seq: 2 },
          { operator: 'op', partition: 1, seq: 9 },
        ],
        fence: [{ operator: 'op', partitions: [0, 0], epoch: 4 }],
      },
      tableOf,
    );
    expect(plan.offsets).toEqual([['op', 'op'], [0, 1], [2, 9], [4, 0], ['{"wm":1}', null]]);
    expect(plan.fence).toEqual({ operators: ['op'], partitions: [0], epochs: [4] });
  });

  it('state - array parameters go as PostgreSQL array text: numbers bare, strings quoted and escaped, null as NULL; other parameters as they are', () => {
    expect(arrayText([])).toBe('{}');
    expect(arrayText([0, -12, 1_700_000_000_000])).toBe('{0,-12,1700000000000}');
    expect(arrayText(['plain', '', 'NULL', 'a,b {c}', 'say "hi"', 'back\\slash', 'ünï 🙂', null, undefined])).toBe(
      '{"plain","","NULL","a,b {c}","say \\"hi\\"","back\\\\slash","ünï 🙂",NULL,NULL}',
    );
    expect(sqlParams([['k'], [3], 'one text', null])).toEqual(['{"k"}', '{3}', 'one text', null]);
    // All plain strings or all numbers are joined at once; a quote or backslash anywhere, or a mix, element by element.
    expect(arrayText(['1001', '', 'NULL', 'a,b {c}', 'ünï'])).toBe('{"1001","","NULL","a,b {c}","ünï"}');
    expect(arrayText(['plain', 'x"'])).toBe('{"plain","x\\""}');
    expect(arrayText(['plain', 'x\\'])).toBe('{"plain","x\\\\"}');
    expect(arrayText([1, 'a', -0, Number.MAX_SAFE_INTEGER])).toBe('{1,"a",0,9007199254740991}');
    expect(arrayText([-0, 2.5])).toBe('{0,2.5}');
  });

  it('state - an empty commit does nothing', () => {
    expect(planCommit({ writes: [], offsets: [] }, tableOf).empty).toBe(true);
  });

  it('state - checks windows, partitions and values before any transaction', () => {
    const plan = (write: object) => () => planCommit({ writes: [{ table: 'kv', key: 'a', partition: 0, value: 1, ...write }], offsets: [] }, tableOf);
    expect(plan({ table: 'win', key: 1 })).toThrow(/windowed: give the window/);
    expect(plan({ window: { start: 0, end: 1 } })).toThrow(StateUsageError);
    expect(plan({ table: 'win', key: 1, window: { start: 0.5, end: 1 } })).toThrow(/window start must be an integer/);
    expect(plan({ partition: 1.5 })).toThrow(StateUsageError);
    expect(plan({ value: () => 1 })).toThrow(StateWriteError);
    expect(() => planCommit({ writes: [], dropWindows: [{ table: 'kv', window: { start: 0, end: 1 } }], offsets: [] }, tableOf)).toThrow(/not windowed/);
  });
});
