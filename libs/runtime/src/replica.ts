/**
 * One replica of a distributed operator unit. Replicas of the same unit find each other through
 * heartbeats in PostgreSQL (`_members`), compute the same division of the unit's input
 * partitions (`assignment.ts`), and hold each partition they read through a fenced lease
 * (`_leases`, an epoch that grows on every change of owner). Every commit checks those epochs in
 * its own transaction, so a replica that lost a lease cannot commit over its successor.
 *
 * The replica runs the host loop (`runUnitTask`) in legs: a leg reads a fixed set of partitions
 * and ends at a batch boundary (everything it did committed) when the division changes — a
 * replica joined, left (a graceful stop leaves at once) or stopped heartbeating (dead, after
 * `leaseTtlMs`) — or a lease was lost. Then it releases what moved away, leases what moved in,
 * and starts the next leg, reloading the state of its partitions from PostgreSQL: state follows
 * the partition. A replica whose partitions have all ended waits (ready to take over a dead
 * replica's partitions) until every partition of the unit has ended, then forwards the end.
 */
import type { Bus } from '@ssdk/bus';
import type { Key } from '@ssdk/engine';
import { FencedError, type Lease, type StateStore } from '@ssdk/state';
import type { RestartOptions } from './failing.ts';
import { dividedShare, rebalance, type AssignmentMode } from './assignment.ts';
import type { PartitionEventKind, UnitMetrics } from './metrics.ts';
import { endedPartitions, partitionedCheckpointStore, unitPartitions } from './partitioned-checkpoints.ts';
import type { RuntimeTopic, RuntimeUnit } from './topology.ts';
import { publishEnds, runUnitTask } from './unit-task.ts';
import { RefStateReplica } from './ref-states.ts';
import type { UnitObserver } from './observer.ts';

export interface ReplicaOptions {
  unit: RuntimeUnit;
  bus: Bus;
  store: StateStore;
  metrics: UnitMetrics;
  mode: AssignmentMode;
  /** This replica's id: unique per process incarnation (a restarted process is a new member). */
  member: string;
  /** A lease or membership not renewed for this long is free for others, ms. */
  leaseTtlMs: number;
  /** How often leases and membership are renewed and the division re-checked, ms. */
  heartbeatMs: number;
  /** Topics that get the end-of-input frame once every partition of the unit ended. */
  endTopics: readonly RuntimeTopic[];
  signal: AbortSignal;
  log: (line: string) => void;
  /** Tracing and metrics of the host loop (observer.ts). */
  observer?: UnitObserver;
  /** Messages per fetch per channel: bigger batches mean fewer commits per record. */
  batchMessages?: number;
  /** The incarnation of the unit's input streams (`UnitTaskOptions.msgIdScope`). */
  msgIdScope?: string;
  /** Backoff of a batch tried again (`UnitTaskOptions.restart`). @default attempts without end */
  restart?: RestartOptions;
  /** Frames stay under this size (`UnitTaskOptions.maxFrameBytes`): the bus's max_payload less room for headers. */
  maxFrameBytes?: number;
}

export interface ReplicaResult {
  /** Every partition of the unit ended and the end was forwarded. */
  ended: boolean;
}

/** Runs until every partition of the unit has ended, or `signal` stops it (drained, leases released). */
export async function runReplica(o: ReplicaOptions): Promise<ReplicaResult> {
  const { unit, store, member, mode } = o;
  const total = unitPartitions(unit);
  const all = Array.from({ length: total }, (_, p) => p);
  const owned = new Map<number, Lease>();
  const ttlMs = o.leaseTtlMs;
  // Every change of the partitions held or read is a typed event (metrics.ts) beside its log line.
  const tell = (kind: PartitionEventKind, partitions: readonly number[], reason?: string) =>
    o.metrics.partitions({ kind, member, partitions: [...partitions], of: total, ...(reason !== undefined ? { reason } : {}) });
  const target = async (): Promise<number[]> => (mode === 'singleton' ? [0] : dividedShare(await store.members(unit.id), total, member));

  const acquire = async (partitions: readonly number[]): Promise<number[]> => {
    const got: number[] = [];
    for (const partition of partitions) {
      const r = await store.acquireLease({ operator: unit.id, partition, owner: member, ttlMs });
      if (r.acquired) {
        owned.set(partition, r.lease);
        got.push(partition);
      }
    }
    tell('taken', got);
    return got;
  };
  const release = async (partitions: readonly number[], reason: string): Promise<void> => {
    const released: number[] = [];
    try {
      for (const p of partitions) {
        const lease = owned.get(p);
        owned.delete(p);
        if (lease) {
          await store.releaseLease(lease);
          released.push(p);
        }
      }
    } finally {
      tell('released', released, reason);
    }
  };
  /** Heartbeat and lease renewal; returns the partitions whose lease was lost. */
  const renew = async (): Promise<number[]> => {
    await store.heartbeat({ operator: unit.id, member, ttlMs });
    const lost: number[] = [];
    for (const [p, lease] of owned) {
      const renewed = await store.renewLease(lease, ttlMs);
      if (renewed) owned.set(p, renewed);
      else {
        owned.delete(p);
        lost.push(p);
      }
    }
    tell('lost', lost, `not renewed within ${ttlMs} ms`);
    return lost;
  };

  await store.heartbeat({ operator: unit.id, member, ttlMs });
  // States other units own, read here (ref-states): a local replica of their committed tables.
  const refTables = unit.plan.states.filter((s) => s.access === 'read').map((s) => s.table);
  const refs = await RefStateReplica.open(store, refTables, { onError: (err) => o.log(`${unit.id}: reading ref-states: ${(err as Error).message} (retrying)`) });
  const lookupRef = (table: string, key: Key) => refs.lookup(table, key);
  let graceful = false;
  // Why the last leg ended: the reason of the next `rebalanced` event.
  let lastWhy = 'started';
  try {
    while (!o.signal.aborted) {
      const moves = rebalance(owned.keys(), await target());
      await release(moves.release, 'they move to another replica');
      await acquire(moves.acquire);
      const ended = await endedPartitions(store, unit.id);
      if (ended.size >= total && all.every((p) => ended.has(p))) {
        // Idempotent (the frames' ids repeat): whoever sees the last partition end forwards it.
        await publishEnds(o.bus, unit.id, o.endTopics);
        graceful = true;
        return { ended: true };
      }
      const readable = mode === 'singleton' ? (owned.has(0) ? all : []) : [...owned.keys()];
      const active = readable.filter((p) => !ended.has(p)).sort((a, b) => a - b);
      if (active.length === 0) {
        await sleep(o.heartbeatMs, o.signal);
        if (!o.signal.aborted) await renew();
        continue;
      }
      await leg(active);
    }
    graceful = true;
    return { ended: false };
  } finally {
    await refs.close();
    if (graceful) {
      // A graceful stop hands the partitions over at once instead of after the leases expire.
      await release([...owned.keys()], 'stopping').catch(() => {});
      await store.leave(unit.id, member).catch(() => {});
    }
  }

  /** Reads `active` until the division changes, a lease is lost, the partitions end or we stop. */
  async function leg(active: number[]): Promise<void> {
    tell('rebalanced', active, lastWhy);
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    // A stop asked for while the division was being read (before this leg) ends the leg at
    // once: an 'abort' listener added after the fact never fires, and the leg read on.
    if (o.signal.aborted) stop.abort();
    else o.signal.addEventListener('abort', onAbort);
    let why = '';
    let controlError: unknown;
    const control = (async () => {
      while (!stop.signal.aborted) {
        await sleep(o.heartbeatMs, stop.signal);
        if (stop.signal.aborted) return;
        try {
          const lost = await renew();
          if (lost.length > 0) {
            why = `lost the lease of partition ${lost.join(', ')}`;
            stop.abort();
            return;
          }
          if (mode === 'singleton') continue;
          const moves = rebalance(owned.keys(), await target());
          if (moves.release.length > 0) {
            why = `partition ${moves.release.join(', ')} moves to another replica`;
            stop.abort();
            return;
          }
          const got = await acquire(moves.acquire);
          if (got.length > 0) {
            why = `took over partition ${got.join(', ')}`;
            stop.abort();
            return;
          }
        } catch (err) {
          // A server away: stop the leg; the operator retries from the last checkpoint.
          controlError = err;
          stop.abort();
          return;
        }
      }
    })();
    const leases = mode === 'singleton' ? [owned.get(0)!] : active.map((p) => owned.get(p)!);
    o.log(`${unit.id}: ${member} reads partition${active.length > 1 ? 's' : ''} ${active.join(', ')} of ${total}`);
    try {
      await runUnitTask({
        unit,
        bus: o.bus,
        checkpoints: partitionedCheckpointStore({ store, unit, partitions: active, leases }),
        metrics: o.metrics,
        resumeOffsets: true,
        signal: stop.signal,
        partitions: active,
        // A singleton reads every partition: it sees the end itself (after its last flush).
        forwardEnd: mode === 'singleton',
        endTopics: o.endTopics,
        lookupRef,
        ...(o.observer ? { observer: o.observer } : {}),
        ...(o.batchMessages !== undefined ? { batchMessages: o.batchMessages } : {}),
        ...(o.msgIdScope ? { msgIdScope: o.msgIdScope } : {}),
        ...(o.maxFrameBytes !== undefined ? { maxFrameBytes: o.maxFrameBytes } : {}),
        pipeline: true,
        // An operator process that reads one partition and has nothing to do waits on it up to
        // 250 ms at a time, not 50: idle, it used ~15 ms of CPU a second on the waking alone.
        quietMaxMs: 250,
        // JetStream keeps what was acked: a batch that made nothing (progress frames) is acked
        // and its offsets go with the next commit, up to a second later.
        quietCommitMs: 1_000,
        // A batch that fails for a reason not of a record is tried again in place, for as long
        // as the leg lasts (a lost lease or a stop ends it); the unit shows `failing` meanwhile.
        restart: { maxAttempts: Infinity, ...o.restart },
      });
    } catch (err) {
      if (!(err instanceof FencedError)) throw err;
      // Another replica owns these partitions now: nothing of the batch was committed, and its
      // outputs repeat the successor's (same ids). Forget the leases and re-plan.
      o.log(`${unit.id}: ${member} was fenced off (${err.message})`);
      tell('fenced', err.partitions, err.message);
      why = `fenced off partition ${err.partitions.join(', ')}`;
      for (const p of err.partitions) owned.delete(p);
      if (mode === 'singleton') owned.clear();
    } finally {
      stop.abort();
      o.signal.removeEventListener('abort', onAbort);
      await control;
    }
    if (controlError !== undefined) throw controlError;
    if (why) o.log(`${unit.id}: ${member} rebalances: ${why}`);
    lastWhy = why || 'the leg ended';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
