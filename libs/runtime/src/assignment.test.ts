import { describe, expect, it } from 'vitest';
import { dividedShare, rebalance } from './assignment.ts';

describe('partition assignment', () => {
  it.each([
    { members: ['a'], self: 'a', partitions: 4, share: [0, 1, 2, 3] },
    { members: ['b', 'a', 'c'], self: 'a', partitions: 4, share: [0, 3] },
    { members: ['b', 'a', 'c'], self: 'b', partitions: 4, share: [1] },
    { members: ['b', 'a', 'c'], self: 'c', partitions: 4, share: [2] },
    { members: ['a', 'c'], self: 'c', partitions: 4, share: [1, 3] },
    { members: ['a', 'b', 'c', 'd', 'e'], self: 'e', partitions: 4, share: [] },
    { members: ['a', 'b'], self: 'x', partitions: 4, share: [] },
  ])('runtime - $members.length members, $self owns $share of $partitions', ({ members, self, partitions, share }) => {
    expect(dividedShare(members, partitions, self)).toEqual(share);
  });

  it('runtime - every partition has exactly one owner whatever the members', () => {
    for (const members of [['a'], ['a', 'b'], ['x', 'a', 'm'], ['1', '2', '3', '4', '5', '6', '7', '8', '9']]) {
      const owners = members.flatMap((m) => dividedShare(members, 8, m));
      expect(owners.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    }
  });

  it('runtime - a rebalance releases what moved away and acquires what moved in', () => {
    expect(rebalance([0, 1, 2, 3], [0, 3])).toEqual({ release: [1, 2], acquire: [] });
    expect(rebalance([1], [1, 3])).toEqual({ release: [], acquire: [3] });
    expect(rebalance([], [2])).toEqual({ release: [], acquire: [2] });
    expect(rebalance([0, 2], [0, 2])).toEqual({ release: [], acquire: [] });
  });
});
