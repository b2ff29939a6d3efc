import { describe, expect, it } from 'vitest';
import { unitStatusState, type UnitEvidence } from './unit-state.ts';

const cases: Array<[string, UnitEvidence, string]> = [
  ['every partition ended, processes gone (finished)', { partitions: 4, endedPartitions: 4, live: [] }, 'ended'],
  ['every partition ended, nothing heard since the planner restarted', { partitions: 4, endedPartitions: 4, live: [], lastHeard: undefined }, 'ended'],
  ['ended although a process still says running (its final heartbeat is on the way)', { partitions: 1, endedPartitions: 1, live: ['running'] }, 'ended'],
  ['nothing heard and nothing ended: not started', { partitions: 4, endedPartitions: 0, live: [] }, 'not started'],
  ['some partitions ended, nothing heard: not finished', { partitions: 4, endedPartitions: 3, live: [] }, 'not started'],
  ['a process starting', { partitions: 4, endedPartitions: 0, live: ['starting'] }, 'starting'],
  ['a process that saw the end of its inputs, before its final heartbeat', { partitions: 4, endedPartitions: 0, live: ['ended'] }, 'ended'],
  ['one replica running, one starting', { partitions: 4, endedPartitions: 0, live: ['starting', 'running'] }, 'running'],
  ['one replica running, one failing (its partitions stand still)', { partitions: 4, endedPartitions: 0, live: ['running', 'failing'] }, 'failing'],
  ['heard, then silent, inputs not ended', { partitions: 4, endedPartitions: 1, live: [], lastHeard: 'running' }, 'stopped'],
  ['the last process said ended as it exited', { partitions: 4, endedPartitions: 0, live: [], lastHeard: 'ended' }, 'ended'],
  ['the last word was a failure', { partitions: 4, endedPartitions: 0, live: [], lastHeard: 'failed' }, 'failed'],
];

describe('unit status state', () => {
  it.each(cases)('status - %s', (_name, evidence, expected) => {
    expect(unitStatusState(evidence)).toBe(expected);
  });
});
