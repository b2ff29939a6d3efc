/**
 * A service whose trunk splits into several sinks runs, fused, as one unit with a branch per sink
 * (PlanOperator.branches): each branch's records reach its own topics only, a branch never sees
 * what another one's function changed in place, and a record that fails in a branch (or whose
 * output there does not fit) is dead-lettered once and leaves that branch alone — its other
 * branches' records stand, as when each sink had a unit of its own; one that fails in the trunk
 * reaches no branch (a record is a unit of work in a chain). Both data paths.
 */
import { describe, expect, it } from 'vitest';
import type { OutRecord } from '@ssdk/records';
import { cleanupsAfterAll, nativeTopologyOf, runOnBothPaths } from './dataflow.testkit.ts';

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

const cleanups = cleanupsAfterAll();

const words = (list: string[]): OutRecord[] => list.map((w) => ({ key: null, value: JSON.stringify(w), timestamp: 1_000 }));

describe('runtime - branches', () => {
  it('runtime - fused, a trunk split into sinks is one unit; each branch writes its own topics', async () => {
    const topology = await nativeTopologyOf(SERVICES, { fuse: true });
    expect(topology.units.map((u) => u.id)).toEqual(['split.parts']);
    expect(topology.units[0]!.routes?.map((r) => [r.topics.map((t) => t.id), r.lastStep])).toEqual([
      [['all'], 'split.to-item'],
      [['upper'], 'split.shout'],
      [['lengths'], 'split.length-of'],
    ]);
  });

  it.each([
    ['one message', false],
    ['a message per record', true],
  ])('runtime - branches (%s): own topics, own copies, failures and refusals per branch, on both data paths', async (_, oneRecordPerMessage) => {
    // 'ok+x': its second part fails in the trunk, so its first part reaches no branch either.
    const input = ['a', 'drop', 'boom', 'hello', 'bad', 'ok+x'];
    for (const run of await runOnBothPaths(SERVICES, words(input), cleanups, { fuse: true }, { oneRecordPerMessage })) {
      // shout changed its item in place: the other branches still have the trunk's value.
      expect(run.topics.upper).toEqual([{ w: 'A' }, { w: 'HELLO' }, { w: 'BAD' }]);
      expect(run.topics.lengths).toEqual([1, 4, 5]);
      expect(run.topics.all).toEqual([{ w: 'a' }, { w: 'boom' }, { w: 'hello' }, { w: 'bad' }]);
      expect(run.dead.map((d) => [d.reason.split(':')[0], d.input.topic, oneRecordPerMessage ? d.input.seq : d.input.index])).toEqual(
        oneRecordPerMessage
          ? [
              ['no boom', 'words', 3],
              ['split.length-of returned a value that does not fit topic `lengths`', 'words', 5],
              ['no x', 'words', 6],
            ]
          : [
              ['no boom', 'words', 2],
              ['split.length-of returned a value that does not fit topic `lengths`', 'words', 4],
              ['no x', 'words', 5],
            ],
      );
      expect(run.recordsIn).toBe(input.length);
    }
  });
});
