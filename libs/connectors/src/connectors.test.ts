import { describe, expect, it } from 'vitest';
import type { JsonSqlMapping } from '@ssdk/spec';
import { BadRecordError } from './errors.ts';
import { bodyRecords } from './http.ts';
import { parseTestDecoding } from './postgres-cdc.ts';
import { rowOfJsonSql, rowsOfFluvioOperation, valueAtPath } from './json-sql.ts';
import { Secrets } from './secrets.ts';

const pos = { file: 'c.yaml', line: 1, col: 1 };

describe('connectors (pure parts)', () => {
  it('secrets - filled in from the values, then the environment; a missing one is named, never a value', () => {
    const secrets = new Secrets({ values: new Map([['TOKEN', 's3cret-token']]), env: { HOST: 'db.internal' } });
    expect(secrets.resolve({ parts: ['https://', { secret: 'HOST' }, '/?t=', { secret: 'TOKEN' }] })).toBe('https://db.internal/?t=s3cret-token');
    expect(() => secrets.resolve({ parts: [{ secret: 'NOPE' }, { secret: 'ALSO' }] })).toThrow(/secrets `NOPE`, `ALSO` not given/);
    expect(secrets.redact('GET https://db.internal/?t=s3cret-token failed')).toBe('GET https://***/?t=*** failed');
    expect(secrets.redact('postgres://app:pa55@db:5432/x refused')).toBe('postgres://app:***@db:5432/x refused');
  });

  it('json-sql - paths, defaults and required columns', () => {
    const mapping: JsonSqlMapping = {
      table: 't',
      operation: 'insert',
      uniqueColumns: [],
      pos,
      columns: [
        { name: 'id', jsonKey: 'device.device_id', type: 'int', default: '0', required: true },
        { name: 'kind', jsonKey: 'kind', type: 'text', required: true },
        { name: 'note', jsonKey: 'note', type: 'text', required: false },
        { name: 'record', jsonKey: '$', type: 'jsonb', required: true },
      ],
    };
    expect(rowOfJsonSql(mapping, { kind: 'a', device: {} }).values).toEqual({ id: '0', kind: 'a', record: { kind: 'a', device: {} } });
    expect(() => rowOfJsonSql(mapping, { device: { device_id: 3 } })).toThrow(BadRecordError);
    expect(valueAtPath({ a: [{ b: 5 }] }, 'a.0.b')).toBe(5);
  });

  it('fluvio sql operations - Insert and Upsert records become rows; anything else is a bad record', () => {
    expect(rowsOfFluvioOperation({ Upsert: { table: 't', uniq_idx: 'id', values: [{ column: 'id', raw_value: '1', type: 'Int' }, { column: 'j', raw_value: '{"x":1}', type: 'Json' }] } })).toEqual([
      { table: 't', operation: 'upsert', uniqueColumns: ['id'], values: { id: '1', j: { x: 1 } } },
    ]);
    expect(() => rowsOfFluvioOperation({ id: 1 })).toThrow(/Fluvio SQL operations/);
  });

  it('postgres cdc - test_decoding lines as changes: quoted text, nulls, numbers, booleans, json, quoted names, REPLICA IDENTITY FULL updates', () => {
    expect(parseTestDecoding(`table public.t: INSERT: id[bigint]:1 item[text]:'it''s a' n[integer]:3 ok[boolean]:true note[text]:null j[jsonb]:'{"a": [1]}' x[double precision]:1.5`)).toEqual({
      op: 'insert',
      table: 'public.t',
      row: { id: 1, item: "it's a", n: 3, ok: true, note: null, j: { a: [1] }, x: 1.5 },
    });
    expect(parseTestDecoding(`table "My Schema"."Odd ""T""": DELETE: "the id"[integer]:2`)).toEqual({ op: 'delete', table: 'My Schema.Odd "T"', row: { 'the id': 2 } });
    expect(parseTestDecoding(`table public.t: UPDATE: old-key: id[bigint]:1 n[integer]:3 new-tuple: id[bigint]:1 n[integer]:5`)).toEqual({ op: 'update', table: 'public.t', row: { id: 1, n: 5 } });
    expect(parseTestDecoding('table public.t: TRUNCATE: (no-flags)')).toBeUndefined();
  });

  it('http bodies - one record, JSON lines or a JSON array; bad parts come back with their reason', () => {
    expect(bodyRecords({ split: 'lines', outputType: 'json' }, '{"a":1}\n\nnope\n[2]')).toEqual({ records: [{ value: '{"a":1}' }, { value: '[2]' }], bad: [{ value: 'nope', reason: expect.stringContaining('line 3 is not JSON') }] });
    expect(bodyRecords({ split: 'array', outputType: 'json' }, '[1, {"b": 2}]').records).toEqual([{ value: '1' }, { value: '{"b":2}' }]);
    expect(bodyRecords({ split: 'array', outputType: 'json' }, '{"b": 2}').bad).toEqual([{ value: '{"b": 2}', reason: 'body is not a JSON array' }]);
    expect(bodyRecords({ split: 'none', outputType: 'text' }, 'plain words').records).toEqual([{ value: '"plain words"' }]);
  });

  it('http bodies - output_type record: each part gives its key, value, event time and headers; anything else is a bad part', () => {
    const body = '{"key":"k1","value":"the river","timestamp":1736154000198}\n{"value":{"n":2},"headers":{"h":"v"}}\n{"value":1,"val":3}\n"bare"';
    expect(bodyRecords({ split: 'lines', outputType: 'record' }, body)).toEqual({
      records: [
        { key: 'k1', value: '"the river"', timestamp: 1736154000198 },
        { key: null, value: '{"n":2}', headers: { h: 'v' } },
      ],
      bad: [
        { value: '{"value":1,"val":3}', reason: expect.stringContaining('line 3 is not a record: unknown field `val`') },
        { value: '"bare"', reason: expect.stringContaining('line 4 is not a record: expected a record') },
      ],
    });
  });
});
