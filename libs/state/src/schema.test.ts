import { describe, expect, it, vi } from 'vitest';
import { StateSchemaError } from './errors.ts';
import { indexName, normalizeSpec, quoteIdent, schemaDdl, specChange, tableDdl } from './schema.ts';
import { firstKeyword } from './store.ts';
import { CompiledTable, stateWriteCheck } from './table.ts';
import type { StateTableSpec } from './types.ts';

const rowSpec: StateTableSpec = {
  table: 'word_stats',
  keyType: 'string',
  windowed: true,
  value: { kind: 'row', columns: [{ name: 'count', type: 'i64' }, { name: 'lastSeen', type: 'timestamp' }] },
};

describe('state - schema', () => {
  it('state - quotes identifiers', () => {
    expect(quoteIdent('counts')).toBe('"counts"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });

  it('state - lays out a windowed row table with its keys and partition index', () => {
    expect(tableDdl('ssdk_wc', rowSpec)).toEqual([
      `CREATE TABLE IF NOT EXISTS "ssdk_wc"."word_stats" (
  key text NOT NULL,
  partition int NOT NULL,
  window_start bigint NOT NULL,
  window_end bigint NOT NULL,
  "count" bigint,
  "lastSeen" timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (window_start, key)
)`,
      'CREATE INDEX IF NOT EXISTS "word_stats_partition_idx" ON "ssdk_wc"."word_stats" (partition)',
    ]);
    const json = tableDdl('s', { table: 'counts', keyType: 'number', windowed: false, value: { kind: 'json' } })[0]!;
    expect(json).toContain('value jsonb');
    expect(json).toContain('PRIMARY KEY (key)');
    expect(schemaDdl('s').join('\n')).toMatch(/"_offsets"[\s\S]*PRIMARY KEY \(operator, partition\)[\s\S]*"_leases"[\s\S]*expires_at timestamptz/);
  });

  it('state - writes multi-row upserts with unnest', () => {
    const table = new CompiledTable('s', rowSpec);
    expect(table.upsertSql).toBe(
      'INSERT INTO "s"."word_stats" AS t (key, partition, window_start, window_end, "count", "lastSeen", updated_at)\n' +
        'SELECT u.k, u.p, u.ws, u.we, u.v0::bigint, u.v1::timestamptz, now() FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::text[]) AS u(k, p, ws, we, v0, v1)\n' +
        'ON CONFLICT (window_start, key) DO UPDATE SET partition = excluded.partition, window_end = excluded.window_end, "count" = excluded."count", "lastSeen" = excluded."lastSeen", updated_at = excluded.updated_at',
    );
    expect(table.encodeValues([{ count: 3, lastSeen: 0 }, { count: 5n }])).toEqual([
      ['3', '5'],
      ['1970-01-01T00:00:00.000Z', null],
    ]);
  });

  it('state - checks a row write as encoding it would, refusing the same values with the same reason (also the generated write check)', () => {
    const spec: StateTableSpec = { ...rowSpec, value: { kind: 'row', columns: [...(rowSpec.value.kind === 'row' ? rowSpec.value.columns : []), { name: 'name', type: 'string' }] } };
    const table = new CompiledTable('s', spec);
    const writeCheck = stateWriteCheck(spec);
    const refusal = (run: () => unknown): string | undefined => {
      try {
        run();
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };
    const values: unknown[] = [
      { count: 3, lastSeen: 0, name: 'a' },
      { count: '7', lastSeen: new Date(0), name: 5 },
      { count: 1, lastSeen: '2026-01-01T00:00:00Z', extra: undefined },
      { count: undefined, lastSeen: null },
      { count: 1, colour: 'red' },
      { count: {} },
      { lastSeen: true },
      { name: [] },
      [1],
      'x',
      null,
      // What the generated check must not let through on its own: no keys to look at, a key
      // from the prototype, a column holding what only the general way tells apart.
      [],
      Object.create({ colour: 'red' }, { count: { value: 1, enumerable: true } }),
      Object.create({ count: 1 }),
      {},
      { count: 1n, lastSeen: Symbol('s') },
      { count: () => 1 },
      { lastSeen: new Date(Number.NaN) },
    ];
    const refused = values.map((v) => refusal(() => table.checkValue(v)));
    expect(refused).toEqual(values.map((v) => refusal(() => table.encodeValues([v]))));
    expect(refused.filter((r) => r !== undefined)).toHaveLength(10);
    expect(refused[4]).toMatch(/no column "colour"/);
    expect(values.map((v) => refusal(() => writeCheck('k', v)))).toEqual(refused);
    expect(refusal(() => writeCheck(1, { count: 1 }))).toMatch(/key/);
  });

  it('state - refuses invalid specs', () => {
    const bad: [string, unknown][] = [
      ['empty name', { ...rowSpec, table: '' }],
      ['long name', { ...rowSpec, table: 'x'.repeat(64) }],
      ['reserved name', { ...rowSpec, table: '_leases' }],
      ['key type', { ...rowSpec, keyType: 'date' }],
      ['value kind', { ...rowSpec, value: { kind: 'xml' } }],
      ['no columns', { ...rowSpec, value: { kind: 'row', columns: [] } }],
      ['reserved column', { ...rowSpec, value: { kind: 'row', columns: [{ name: 'partition', type: 'i64' }] } }],
      ['duplicate column', { ...rowSpec, value: { kind: 'row', columns: [{ name: 'a', type: 'i64' }, { name: 'a', type: 'f64' }] } }],
      ['column type', { ...rowSpec, value: { kind: 'row', columns: [{ name: 'a', type: 'u128' }] } }],
    ];
    for (const [what, spec] of bad) expect(() => normalizeSpec(spec as StateTableSpec), what).toThrow(StateSchemaError);
  });

  it('state - tells compatible spec changes from conflicting ones', () => {
    const grown: StateTableSpec = { ...rowSpec, value: { kind: 'row', columns: [{ name: 'count', type: 'i64' }, { name: 'avg', type: 'f64' }] } };
    expect(specChange(rowSpec, rowSpec)).toEqual({ kind: 'same' });
    expect(specChange(rowSpec, grown)).toEqual({ kind: 'add-columns', columns: [{ name: 'avg', type: 'f64' }] });
    expect(specChange(rowSpec, { ...rowSpec, windowed: false })).toMatchObject({ kind: 'conflict' });
    expect(specChange(rowSpec, { ...rowSpec, value: { kind: 'row', columns: [{ name: 'count', type: 'f64' }] } })).toEqual({
      kind: 'conflict',
      reason: 'its column "count" changed from i64 to f64',
    });
  });

  it('state - a JSON table writes its values in one JSON.stringify when each is written there as alone, else each on its own, alike', () => {
    const table = new CompiledTable('s', { table: 'j', keyType: 'string', windowed: true, value: { kind: 'json' } });
    const alone = (values: unknown[]) => `[${values.map((v) => JSON.stringify(v)).join(',')}]`;
    const outcome = (run: () => unknown): unknown => {
      try {
        return run();
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
      }
    };
    const counts = Array.from({ length: 1_000 }, (_, i) => i % 37);
    const stringify = vi.spyOn(JSON, 'stringify');
    let text: unknown;
    try {
      text = table.encodeValues(counts);
      // One call for the array, not one a value (a window unit's commit of ~10 000 counts).
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
    expect(text).toEqual([alone(counts)]);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const cases: unknown[][] = [
      [1, -0, 2.5, Number.NaN, null, true, 'q"\\', { a: [1, { b: null }], c: undefined, d: () => 1 }, [], {}],
      // A Date has a toJSON: written each on its own, the same text.
      [new Date(0), 1],
      // Written alone as nothing, or possibly so, or not at all: refused, in the words of the value's own.
      [1, () => 1],
      [1, Symbol('s')],
      [{ toJSON: () => undefined }],
      [1, 2n],
      [1, cyclic],
    ];
    for (const values of cases.slice(0, 2)) expect(table.encodeValues(values)).toEqual([alone(values)]);
    for (const values of cases.slice(2)) {
      const refused = outcome(() => table.encodeValues(values));
      expect(refused).toMatch(/^StateWriteError: state table "j" stores JSON values/);
      expect(refused).toEqual(outcome(() => table.encodeValues([values.at(-1)])));
    }
  });

  it('state - keeps index names within 63 bytes', () => {
    expect(indexName('counts')).toBe('counts_partition_idx');
    const long = indexName('a'.repeat(60));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(indexName('a'.repeat(60))).toBe(long);
    expect(indexName('a'.repeat(59) + 'b')).not.toBe(long);
  });

  it('state - finds the first keyword of a query past comments', () => {
    expect(firstKeyword('select 1')).toBe('select');
    expect(firstKeyword('  -- note\n /* a /* nested */ comment */ (WITH x AS (SELECT 1) SELECT * FROM x)')).toBe('with');
    expect(firstKeyword('/* only a comment */')).toBeUndefined();
    expect(firstKeyword('DELETE FROM t')).toBe('delete');
  });
});
