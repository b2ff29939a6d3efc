import { describe, expect, it } from 'vitest';
import { bufferIo } from '../io.ts';
import { main } from '../main.ts';

const repo = new URL('../../../../', import.meta.url).pathname;
const wordCount = 'examples/word-count/services.yaml';

async function ssdk(...argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('cli - ssdk test --function', () => {
  it('cli - one function on one record, its state seeded: what it returns and the state it changes', async () => {
    const r = await ssdk('test', wordCount, '--function', 'add-to-total', '--value', '"river"', '--key', 'river', '--state', 'word-totals={"river": 2}');
    expect(r).toEqual({ code: 0, out: '"river"\n', err: 'state word-totals "river": 3\n' });
    const split = await ssdk('test', wordCount, '--function', 'count-words.split-sentence', '--value', '"The river, the sea"');
    expect(split).toEqual({ code: 0, out: '"the"\n"river"\n"the"\n"sea"\n', err: '' });
  });

  it('cli - an unknown function or state is a usage error naming what exists', async () => {
    const r = await ssdk('test', wordCount, '--function', 'nope', '--value', '1');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no function `nope` in examples/word-count/services.yaml: it has `count-words.split-sentence`');
    const s = await ssdk('test', wordCount, '--function', 'add-to-total', '--value', '"a"', '--state', 'totals={}');
    expect(s.code).toBe(2);
    expect(s.err).toContain('for one of `word-totals`');
  });
});
