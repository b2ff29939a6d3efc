import { describe, expect, it } from 'vitest';
import { MemoryState, ownedRecord, type ChainStep, type EngineRecord, type FunctionContext, type SqlRow, type ValueSource } from '@ssdk/engine';
import { nativeExecutor } from './native-executor.ts';

// The native executor runs the same records again on its own: the halves of a batch past its
// limit, and every `ctx.sql` round after the first. A function that changes the value it was
// given in place must not see its own change there: each run starts from the value as it was
// read (the host's records are `ownedRecord`s that can read their value again, as a message's
// frame or carried batch can). Without that, the bump below is counted once per run.

interface Reading {
  name: string;
  n: number;
}

/** A message as JSON text per record: what each record's value is read again from. */
function message(values: Reading[]): { records: EngineRecord[]; reads: () => number } {
  const texts = values.map((v) => JSON.stringify(v));
  let reads = 0;
  const again: ValueSource = {
    valueAgain(from) {
      reads++;
      return JSON.parse(texts[from as number]!) as unknown;
    },
  };
  const records = texts.map((t, i) => ownedRecord(values[i]!.name, JSON.parse(t) as unknown, i, undefined, again, i));
  return { records, reads: () => reads };
}

const bumpInPlace: ChainStep = {
  id: 's.bump',
  operator: 'map',
  fn: (v: unknown) => {
    const r = v as Reading;
    r.n = r.n + 1;
    return r;
  },
};

describe('runtime - native runs again start from the values as they were read', () => {
  it('runtime - a ctx.sql round after the first sees each value as read, not as the round before changed it', async () => {
    const steps: ChainStep[] = [
      bumpInPlace,
      {
        id: 's.ask',
        operator: 'map',
        fn: (v: unknown, ctx: unknown) => {
          const r = v as Reading;
          const [row] = (ctx as FunctionContext).sql('SELECT $1::int * 10 AS tenfold', [r.n]);
          return { name: r.name, n: r.n, tenfold: row!['tenfold'] };
        },
      },
    ];
    const queries: unknown[] = [];
    const sql = async (_query: string, params: unknown[]): Promise<SqlRow[]> => {
      queries.push(params[0]);
      return [{ tenfold: Number(params[0]) * 10 }];
    };
    const { records, reads } = message([
      { name: 'a', n: 1 },
      { name: 'b', n: 5 },
    ]);
    const r = await nativeExecutor(steps, { sql }).run(records, new MemoryState(), { owned: true });
    expect(r.failures).toEqual([]);
    expect(r.outputs.map((o) => o.value)).toEqual([
      { name: 'a', n: 2, tenfold: 20 },
      { name: 'b', n: 6, tenfold: 60 },
    ]);
    // One round asked, the next had the rows: each value read again once, each query made once.
    expect(reads()).toBe(2);
    expect(queries.sort()).toEqual([2, 6]);
  });

  it('runtime - the half of a batch run again after the batch ran past its limit sees each value as read', async () => {
    const steps: ChainStep[] = [
      bumpInPlace,
      {
        id: 's.slow',
        operator: 'filter',
        fn: (v: unknown) => {
          if ((v as Reading).name === 'spin') for (;;) {
            /* forever */
          }
          return true;
        },
      },
    ];
    const { records } = message([
      { name: 'a', n: 1 },
      { name: 'spin', n: 0 },
      { name: 'b', n: 7 },
    ]);
    const r = await nativeExecutor(steps, { timeoutMs: 150 }).run(records, new MemoryState(), { owned: true });
    expect(r.failures.map((f) => [f.input, f.reason])).toEqual([[1, 'timed out after 150 ms (function-timeout)']]);
    // 'a' ran in the whole batch, in [a], and 'b' in the whole batch, in [spin b] and in [b]: once each as far as they can tell.
    expect(r.outputs.map((o) => [o.input, o.value])).toEqual([
      [0, { name: 'a', n: 2 }],
      [2, { name: 'b', n: 8 }],
    ]);
  });

  it('runtime - a record that cannot be read again (no source) keeps the value its maker gave, as before', async () => {
    const plain = ownedRecord('k', { name: 'k', n: 1 }, 0);
    const exec = nativeExecutor([bumpInPlace]);
    await exec.run([plain], new MemoryState(), { owned: true });
    const again = await exec.run([plain], new MemoryState(), { owned: true });
    // Nothing to read it again from: the second run sees what the first left.
    expect(again.outputs.map((o) => o.value)).toEqual([{ name: 'k', n: 3 }]);
  });
});
