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
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');

const SERVICES = `apiVersion: 0.5.0
meta: {name: branches, namespace: test, version: 0.1.0}
types:
  item:
    type: object
    properties:
      w: {type: string}
topics:
  words: {schema: {value: {type: string}}}
  upper: {schema: {value: {type: item}}}
  lengths: {schema: {value: {type: u32}}}
  all: {schema: {value: {type: item}}}
services:
  split:
    sources: [{type: topic, id: words}]
    transforms:
      - operator: flat-map
        run: |
          function parts(w: string): string[] {
            return w === 'drop' ? [] : w.split('+');
          }
      - operator: map
        run: |
          function toItem(w: string): Item {
            if (w === 'x') throw new Error('no x');
            return { w };
          }
    sinks:
      - type: topic
        id: upper
        transforms:
          - operator: map
            run: |
              function shout(i: Item): Item {
                if (i.w === 'boom') throw new Error('no boom');
                i.w = i.w.toUpperCase();
                return i;
              }
      - type: topic
        id: lengths
        transforms:
          - operator: map
            run: |
              function lengthOf(i: Item): number {
                return (i.w === 'bad' ? 'not a number' : i.w.length) as number;
              }
      - type: topic
        id: all
`;

async function run(flag: '--native' | '--sandbox') {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-branches-'));
  await writeFile(join(dir, 'services.yaml'), SERVICES);
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
