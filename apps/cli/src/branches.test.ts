/**
 * A trunk split into sinks runs as one operator with a branch per sink (`ssdk run` plans fused):
 * sandboxed, each branch is a call of its own into the component, and the outputs and dead letters
 * are the native run's — each branch's records on its topic, a record failing in a branch (or
 * refused by its topic) dead-lettered once and kept by the other branches, one failing in the
 * trunk in none.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BRANCHES_SERVICES } from '@ssdk/testing';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');


async function run(flag: '--native' | '--sandbox') {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-branches-'));
  await writeFile(join(dir, 'services.yaml'), BRANCHES_SERVICES);
  await writeFile(join(dir, 'words.jsonl'), ['a', 'drop', 'boom', 'hello', 'bad', 'ok+x'].map((w) => JSON.stringify(w)).join('\n') + '\n');
  const io = bufferIo(repo);
  const code = await main(['run', join(dir, 'services.yaml'), '-i', `words=${join(dir, 'words.jsonl')}`, '-o', join(dir, 'out'), '--until-idle', '--ephemeral', flag], io);
  const lines = async (f: string) => (await readFile(join(dir, 'out', f), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
  const dead = (await lines('split.dead-letter.jsonl')) as Array<{ reason: string; operator: string; input: { index: number } }>;
  return {
    code,
    upper: await lines('upper.jsonl'),
    lengths: await lines('lengths.jsonl'),
    all: await lines('all.jsonl'),
    dead: dead.map((d) => [d.operator, d.input.index, d.reason.replace(/ \(at .*\)$/, '').split(':')[0]]),
  };
}

describe('examples - branches', () => {
  it('examples - a split into sinks gives the same outputs and dead letters with its functions native and sandboxed', async () => {
    const want = {
      code: 0,
      upper: [{ w: 'A' }, { w: 'HELLO' }, { w: 'BAD' }],
      lengths: [1, 4, 5],
      all: [{ w: 'a' }, { w: 'boom' }, { w: 'hello' }, { w: 'bad' }],
      dead: [
        ['split.shout', 2, 'no boom'],
        ['split.length-of', 4, 'split.length-of returned a value that does not fit topic `lengths`'],
        ['split.to-item', 5, 'no x'],
      ],
    };
    expect(await run('--native')).toEqual(want);
    expect(await run('--sandbox')).toEqual(want);
  }, 300_000);
});
