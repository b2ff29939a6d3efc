import { describe, expect, it } from 'vitest';
import { StateConfigError } from './errors.ts';
import { compilePgliteStoreOptions, compilePostgresStoreOptions, compileStateStoreOptions, dataflowSchema } from './options.ts';
import { redact } from '@ssdk/records';

describe('state - options', () => {
  it('state - fills defaults', () => {
    expect(compilePgliteStoreOptions()).toEqual({ kind: 'pglite', dataDir: undefined, schema: 'ssdk', queryTimeoutMs: 10_000 });
    const pg = compilePostgresStoreOptions({}, { DATABASE_URL: 'postgres://u@h/db' });
    expect(pg).toMatchObject({
      kind: 'postgres',
      connectionString: 'postgres://u@h/db',
      pool: { max: 4, idleTimeoutMs: 30_000, connectTimeoutMs: 5_000 },
      applicationName: 'ssdk-state',
      queryRole: 'ssdk_sql',
      queryRowLimit: 10_000,
    });
    expect(compileStateStoreOptions({ connectionString: 'postgres://x@y/z', schema: 's' }).kind).toBe('postgres');
    expect(compileStateStoreOptions({ dataDir: '.ssdk/state' })).toMatchObject({ kind: 'pglite', dataDir: '.ssdk/state' });
  });

  it('state - refuses options that cannot work', () => {
    expect(() => compilePostgresStoreOptions({}, {})).toThrow(/set DATABASE_URL/);
    expect(() => compilePostgresStoreOptions({ connectionString: 'mysql://a:secret@b/c' })).toThrow(/mysql:\/\/a:\*\*\*@b\/c/);
    expect(() => compilePostgresStoreOptions({ connectionString: 'postgres://a@b/c', pool: { max: 0 } })).toThrow(StateConfigError);
    expect(() => compilePgliteStoreOptions({ schema: 'x'.repeat(64) })).toThrow(StateConfigError);
    expect(() => compilePgliteStoreOptions({ schema: 'pg_catalog' })).toThrow(/reserved/);
    expect(() => compilePostgresStoreOptions({ connectionString: 'postgres://a@b/c', queryTimeoutMs: -1 })).toThrow(StateConfigError);
  });

  it('state - names a dataflow schema after its namespace and name', () => {
    expect(dataflowSchema('examples', 'word-count')).toBe('ssdk_examples_word_count');
    expect(dataflowSchema(undefined, 'wordcount')).toBe('ssdk_wordcount');
    expect(dataflowSchema(undefined, 'My Flow!')).toMatch(/^ssdk_my_flow__[0-9a-f]{10}$/);
    const long = dataflowSchema('n'.repeat(40), 'f'.repeat(40));
    expect(long.length).toBe(63);
    expect(long).not.toBe(dataflowSchema('n'.repeat(40), 'f'.repeat(39) + 'g'));
    expect(redact('postgres://user:pw@host/db')).toBe('postgres://user:***@host/db');
  });

  it('state - dataflow schemas are injective: names that differ only in punctuation or case never share one', () => {
    const names: [string | undefined, string][] = [
      ['acme', 'pipe-a'], ['acme', 'pipe_a'], ['acme', 'pipe.a'], ['acme', 'Pipe-A'], ['acme', 'pipe a'],
      ['acme-x', 'pipe'], ['acme', 'x-pipe'], ['acme_x', 'pipe'], [undefined, 'acme-x-pipe'], [undefined, 'acme_x_pipe'],
      [undefined, 'pipe'], ['', 'pipe'], ['pipe', 'a'], [undefined, 'pipe-a'],
    ];
    const schemas = names.map(([ns, name]) => dataflowSchema(ns, name));
    // '' and undefined are the same (no namespace): every other pair differs.
    expect(new Set(schemas).size).toBe(names.length - 1);
    expect(dataflowSchema('acme', 'pipe-a')).toBe('ssdk_acme_pipe_a');
    expect(dataflowSchema('acme', 'pipe_a')).toMatch(/^ssdk_acme_pipe_a__[0-9a-f]{10}$/);
    for (const s of schemas) expect(s.length).toBeLessThanOrEqual(63);
  });

  it('state - another subject prefix is another schema: the same dataflow under two prefixes never shares state or offsets', () => {
    expect(dataflowSchema('examples', 'word-count', 'ssdk')).toBe('ssdk_examples_word_count');
    const a = dataflowSchema('examples', 'word-count', 'team_a');
    const b = dataflowSchema('examples', 'word-count', 'team_b');
    expect(a).toMatch(/^ssdk_team_a_examples_word_count__[0-9a-f]{10}$/);
    expect(new Set([a, b, dataflowSchema('examples', 'word-count'), dataflowSchema('team_a_examples', 'word-count')]).size).toBe(4);
    expect(dataflowSchema('n'.repeat(40), 'f'.repeat(40), 'p'.repeat(40)).length).toBeLessThanOrEqual(63);
  });
});
