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
import { BRANCHES_SERVICES } from '@ssdk/testing';
import { cleanupsAfterAll, nativeTopologyOf, runOnBothPaths } from './dataflow.testkit.ts';


const cleanups = cleanupsAfterAll();

const words = (list: string[]): OutRecord[] => list.map((w) => ({ key: null, value: JSON.stringify(w), timestamp: 1_000 }));

describe('runtime - branches', () => {
  it('runtime - fused, a trunk split into sinks is one unit; each branch writes its own topics', async () => {
    const topology = await nativeTopologyOf(BRANCHES_SERVICES, { fuse: true });
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
    for (const run of await runOnBothPaths(BRANCHES_SERVICES, words(input), cleanups, { fuse: true }, { oneRecordPerMessage })) {
      // shout changed its item in place: the other branches still have the trunk's value.
      expect(run.topics.upper).toEqual([{ w: 'A' }, { w: 'HELLO' }, { w: 'BAD' }]);
      expect(run.topics.lengths).toEqual([1, 4, 5]);
      expect(run.topics.all).toEqual([{ w: 'a' }, { w: 'boom' }, { w: 'hello' }, { w: 'bad' }]);
      // A throw's reason ends with its place (\` (at FILE:LINE:COL)\`); a refusal's has none.
      expect(run.dead.map((d) => [d.reason.split(' (at ')[0]!.split(':')[0], d.input.topic, oneRecordPerMessage ? d.input.seq : d.input.index])).toEqual(
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
