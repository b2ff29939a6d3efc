import { describe, expect, it } from 'vitest';
import { MemoryState, type ChainStep, type EngineRecord, type FunctionContext, type SqlRow } from '@ssdk/engine';
import { freePort, startCalloutServer } from '@ssdk/testing';
import { nativeExecutor } from './native-executor.ts';

// A native function's ctx.sql: the batch runs again once the query's rows are in, with the
// first round's state changes undone and its log lines dropped.
const rec = (value: number, key: string): EngineRecord => ({ key, value, timestamp: 0 });

function counting(queries: string[]) {
  return async (query: string, params: unknown[]): Promise<SqlRow[]> => {
    queries.push(`${query} ${JSON.stringify(params)}`);
    await new Promise((done) => setTimeout(done, 5));
    if (query.startsWith('DELETE')) throw new Error('ctx.sql reads committed state only: DELETE is not allowed');
    return [{ n: Number(params[0] ?? 0) * 10 }];
  };
}

describe('runtime - ctx.sql in native functions', () => {
  it('runtime - state changed before a query is counted once; each query runs once per batch; logs are not doubled', async () => {
    const queries: string[] = [];
    const lines: unknown[][] = [];
    const steps: ChainStep[] = [
      {
        id: 's.count',
        operator: 'update-state',
        fn: (v: unknown, ctx: unknown) => {
          const c = ctx as FunctionContext;
          c.state('seen').increment();
          c.log('before', v);
          const [row] = c.sql('SELECT $1::int * 10 AS n', [v]);
          // A query that needs the one before: a second round.
          const [again] = c.sql('SELECT $1::int AS n', [(row!['n'] as number) / 10]);
          c.state('last').set(again!['n']);
        },
        states: ['seen', 'last'],
      },
    ];
    const exec = nativeExecutor(steps, { log: (_op, _r, args) => lines.push(args), sql: counting(queries) });
    const state = new MemoryState();
    const r = await exec.run([rec(1, 'a'), rec(2, 'a'), rec(3, 'b')], state);
    expect(r.failures).toEqual([]);
    expect(state.get('seen', 'a')).toBe(2);
    expect(state.get('seen', 'b')).toBe(1);
    expect(state.get('last', 'a')).toBe(20);
    expect(state.get('last', 'b')).toBe(30);
    expect(queries.sort()).toEqual(['SELECT $1::int * 10 AS n [1]', 'SELECT $1::int * 10 AS n [2]', 'SELECT $1::int * 10 AS n [3]', 'SELECT $1::int AS n [1]', 'SELECT $1::int AS n [2]', 'SELECT $1::int AS n [3]']);
    expect(lines).toEqual([['before', 1], ['before', 2], ['before', 3]]);
  });

  it('runtime - a refused query fails its record only; a function that catches the wait still gets the rows', async () => {
    const queries: string[] = [];
    const steps: ChainStep[] = [
      {
        id: 's.ask',
        operator: 'map',
        fn: (v: unknown, ctx: unknown) => {
          const c = ctx as FunctionContext;
          if (v === 0) return c.sql('DELETE FROM t');
          try {
            return c.sql('SELECT $1::int AS n', [v])[0]!['n'];
          } catch {
            return 'swallowed';
          }
        },
      },
    ];
    const r = await nativeExecutor(steps, { sql: counting(queries) }).run([rec(0, 'k'), rec(4, 'k')], new MemoryState());
    expect(r.outputs.map((o) => [o.input, o.value])).toEqual([[1, 40]]);
    expect(r.failures.map((f) => [f.input, f.reason])).toEqual([[0, 'ctx.sql reads committed state only: DELETE is not allowed']]);
    expect(queries).toHaveLength(2);
  });

  it('runtime - with no state tables (an in-memory run), ctx.sql fails the record and says why', async () => {
    const steps: ChainStep[] = [{ id: 's.ask', operator: 'map', fn: (_v: unknown, ctx: unknown) => (ctx as FunctionContext).sql('SELECT 1') }];
    const r = await nativeExecutor(steps).run([rec(1, 'k')], new MemoryState());
    expect(r.failures.map((f) => f.reason)).toEqual([expect.stringContaining('ctx.sql is not available here: this run keeps its state in memory')]);
  });

  it('runtime - a round that runs again does not repeat the HTTP requests of the round before', async () => {
    // A port the OS finds free: a fixed one in the ephemeral range can be taken by an outgoing connection.
    const port = await freePort();
    const server = await startCalloutServer(port);
    try {
      const steps: ChainStep[] = [
        {
          id: 's.both',
          operator: 'map',
          grants: { http: [`127.0.0.1:${port}`] },
          fn: (v: unknown, ctx: unknown) => {
            const c = ctx as FunctionContext;
            const r = c.http(`${server.url}/echo`);
            return `${r.status} ${c.sql('SELECT $1::int AS n', [v])[0]!['n']}`;
          },
        },
      ];
      const r = await nativeExecutor(steps, { sql: counting([]) }).run([rec(1, 'k'), rec(2, 'k')], new MemoryState());
      expect(r.outputs.map((o) => o.value)).toEqual(['200 10', '200 20']);
      // Two records, two rounds: two requests, not four.
      expect(await server.hits()).toEqual({ '/echo': 2 });
    } finally {
      await server.close();
    }
  });
});
