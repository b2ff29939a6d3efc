/**
 * What `ssdk status` says a unit is doing. Heartbeats alone cannot tell a unit that finished
 * (its processes exited 0 after the end of its inputs) from one that has not started yet (no
 * process heard from) once the heartbeats are old or the planner restarted; the committed
 * offsets can: a partition whose every input channel ended says so in its `_offsets` row.
 */

import type { UnitState } from '@ssdk/runtime';

/**
 * `ended`: every partition's inputs ended (committed, or the last process said so as it exited);
 * otherwise what the live processes say (the runtime's `UnitState`, one type for both; `failing`
 * when any one is), `stopped`
 * when they went silent, or `not started`.
 */
export type UnitStatusState = UnitState | 'not started';

export interface UnitEvidence {
  /** Input partitions of the unit. */
  partitions: number;
  /** Of those, the partitions whose every input channel ended, by the committed offsets. */
  endedPartitions: number;
  /** The states the unit's live processes reported, newest first. */
  live: readonly string[];
  /** The state of the newest heartbeat heard at all (live or not), when one was. */
  lastHeard?: string;
}

export function unitStatusState(e: UnitEvidence): UnitStatusState {
  if (e.partitions > 0 && e.endedPartitions >= e.partitions) return 'ended';
  if (e.live.length > 0) {
    // One replica that cannot make progress holds its partitions back: the unit is failing.
    for (const state of ['failing', 'running', 'failed', 'stopping'] as const) if (e.live.includes(state)) return state;
    if (e.live.every((state) => state === 'ended')) return 'ended';
    if (e.live.every((state) => state === 'stopped')) return 'stopped';
    return 'starting';
  }
  if (e.lastHeard === undefined) return 'not started';
  // A process's final heartbeat says `ended` when it exits after the end of its inputs.
  if (e.lastHeard === 'ended' || e.lastHeard === 'failed') return e.lastHeard;
  return 'stopped';
}
