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
  ['a process retrying while a server is away', { partitions: 4, endedPartitions: 0, live: ['failing'] }, 'failing'],
  ['a process asked to stop, committing its batch', { partitions: 4, endedPartitions: 0, live: ['stopping'] }, 'stopping'],
  ['one replica stopping, one starting: stopping (no process runs)', { partitions: 4, endedPartitions: 0, live: ['starting', 'stopping'] }, 'stopping'],
  ['a process that stopped, before its final heartbeat', { partitions: 4, endedPartitions: 0, live: ['stopped'] }, 'stopped'],
  ['heard stopping, then silent', { partitions: 4, endedPartitions: 0, live: [], lastHeard: 'stopping' }, 'stopped'],
];

describe('unit status state', () => {
  it.each(cases)('status - %s', (_name, evidence, expected) => {
    expect(unitStatusState(evidence)).toBe(expected);
  });
});
