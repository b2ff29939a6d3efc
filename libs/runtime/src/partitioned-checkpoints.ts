/**
 * Checkpoints of one replica of a distributed operator unit: it reads some of the unit's input
 * partitions, and everything it commits is per partition and fenced by the partitions' leases.
 *
 * - `_offsets` holds one row per (unit, partition): the read position of each input channel of
 *   that partition, whether they all ended, and (on the lowest partition the replica reads) the
 *   unit's own progress (`meta`, e.g. a window unit's watermark: such units run as a singleton).
 * - State rows carry the partition of their key (the partition the key's records arrive on), so
 *   a replica loads only its partitions' state and a new owner finds a moved partition's state
 *   in the table.
 * - Every commit checks the lease epochs it was computed under in the same transaction: a
 *   replica that lost a lease (paused past its expiry, cut off by an outage) is refused
 *   (`FencedError`) instead of writing over its successor.
 */
import type { Key } from '@ssdk/engine';
import type { PhysicalPlan } from '@ssdk/plan';
import type { PlanStateAccess } from '@ssdk/plan';
import type { Commit, Fence, Lease, StateStore } from '@ssdk/state';
import type { Channel, ChannelProgress } from './channel.ts';
import { decodeMeta, encodeMeta, progressOf, type CheckpointCommit, type CheckpointStore } from './checkpoint.ts';
import { fluvioAliases, tableSpecs } from './state-tables.ts';
import { keyPartition as partitionOfKey, type RuntimeUnit } from './topology.ts';

export interface PartitionedCheckpointOptions {
  store: StateStore;
  unit: RuntimeUnit;
  /** The input partitions this replica reads and commits. */
  partitions: readonly number[];
  /** The leases every commit is fenced with (one per partition, or partition 0's for a singleton). */
  leases: readonly Lease[];
}

/** The row meta of one (unit, partition) in `_offsets`. */
interface PartitionMeta {
  channels: Record<Channel, number>;
  /** Every input channel of the partition delivered its end of input. */
  ended?: boolean;
  endedChannels?: Channel[];
  logic?: string;
  /** The partition's channels' event-time progress (progress.ts), encoded like `logic`. */
  progress?: string;
}

/** Creates the plan's state tables (idempotent); every replica does it before it reads or commits. */
export async function migratePlanState(store: StateStore, plan: PhysicalPlan): Promise<void> {
  await store.migrate(tableSpecs(plan));
  await store.createAliases(fluvioAliases(plan));
}

/** The number of partitions a unit divides among its replicas: its widest input. */
export function unitPartitions(unit: RuntimeUnit): number {
  return Math.max(1, ...unit.inputs.map((i) => i.topic.partitions));
}

/** Partitions of a unit whose every input channel has ended, by the committed rows. */
export async function endedPartitions(store: StateStore, unitId: string): Promise<Set<number>> {
  const out = new Set<number>();
  for (const [partition, row] of await store.offsets(unitId)) if ((row.meta as PartitionMeta | undefined)?.ended) out.add(partition);
  return out;
}

/** A checkpoint store that also says what a commit writes, without writing it (the embedded runtime writes every unit's at once). */
export interface PartitionedCheckpoints extends CheckpointStore {
  commitOf(unit: string, states: readonly PlanStateAccess[], c: CheckpointCommit): Commit;
}

export function partitionedCheckpointStore(o: PartitionedCheckpointOptions): PartitionedCheckpoints {
  const { store, unit } = o;
  const partitions = [...o.partitions].sort((a, b) => a - b);
  const first = partitions[0];
  const channelsOf = new Map<number, Channel[]>();
  const partitionOf = new Map<Channel, number>();
  for (const p of partitions) {
    const channels = unit.inputs.filter((i) => p < i.topic.partitions).map((i) => `${i.topic.id}/${p}`);
    channelsOf.set(p, channels);
    for (const c of channels) partitionOf.set(c, p);
  }
  const fence: Fence[] = o.leases.map((l) => ({ operator: unit.id, partitions: [l.partition], epoch: l.epoch }));
  // The key's partition as the unit's input computes it (a shuffle sends a key to this partition).
  const input = unit.inputs[0]?.topic;
  const keyPartitions = unitPartitions(unit);
  const keyPartition = (key: unknown): number => (input ? partitionOfKey(input, key as Key, keyPartitions) : 0);
  return {
    async load(unitId) {
      const rows = await store.offsets(unitId);
      const offsets = new Map<Channel, number>();
      const ended: Channel[] = [];
      let logic: string | undefined;
      const progress: Record<Channel, ChannelProgress> = {};
      for (const p of partitions) {
        const meta = rows.get(p)?.meta as PartitionMeta | undefined;
        for (const [c, seq] of Object.entries(meta?.channels ?? {})) if (partitionOf.get(c) === p) offsets.set(c, seq);
        for (const c of meta?.endedChannels ?? []) if (partitionOf.get(c) === p) ended.push(c);
        for (const [c, cp] of Object.entries(progressOf(meta?.progress).progress ?? {})) if (partitionOf.get(c) === p) progress[c] = cp;
        if (p === first) logic = meta?.logic;
      }
      return { offsets, meta: decodeMeta(logic ?? null), ended, progress };
    },
    async loadState(_unitId, states, into) {
      for (const s of states) {
        for (const e of await store.scan(s.table, { partition: partitions, withUpdatedAt: true })) into.load(s.name, e.key, e.value, e.window, e.updatedAt);
      }
    },
    async commit(unitId, states, c) {
      await store.commit(this.commitOf(unitId, states, c));
    },
    commitOf(unitId, states, c) {
      const tableOf = new Map(states.map((s) => [s.name, s.table]));
      const writes = c.changes.map((ch) => {
        const table = tableOf.get(ch.state);
        if (!table) throw new Error(`operator \`${unitId}\` changed state \`${ch.state}\`, which it does not own`);
        const partition = keyPartition(ch.key);
        return ch.window ? { table, key: ch.key, partition, window: ch.window, value: ch.value } : { table, key: ch.key, partition, value: ch.value };
      });
      const endedSet = new Set(c.ended ?? []);
      const offsets = partitions.map((p) => {
        const channels = channelsOf.get(p)!;
        const meta: PartitionMeta = { channels: {} };
        let seq = 0;
        for (const ch of channels) {
          const at = c.offsets.get(ch);
          if (at !== undefined) {
            meta.channels[ch] = at;
            seq = Math.max(seq, at);
          }
        }
        const endedChannels = channels.filter((ch) => endedSet.has(ch));
        if (endedChannels.length > 0) meta.endedChannels = endedChannels;
        if (channels.length > 0 && endedChannels.length === channels.length) meta.ended = true;
        if (p === first && c.meta !== null && c.meta !== undefined) meta.logic = encodeMeta(c.meta);
        const progress = c.progress ? Object.fromEntries(channels.filter((ch) => c.progress![ch]).map((ch) => [ch, c.progress![ch]!])) : {};
        if (Object.keys(progress).length > 0) meta.progress = encodeMeta(progress);
        return { operator: unitId, partition: p, seq, meta };
      });
      // A window run in this unit after its chain (embedded, `RuntimeUnit.windowReader`): its
      // progress also under its own unit, where a run with it apart resumes it.
      const reader = unit.windowReader;
      if (reader && c.meta !== null && c.meta !== undefined) offsets.push({ operator: reader.id, partition: 0, seq: 0, meta: { channels: {}, logic: encodeMeta(c.meta) } });
      // Its windows are its states' (the chain's are not windowed).
      const windowed = reader ? states.filter((s) => reader.plan.states.some((r) => r.table === s.table)) : states;
      return { writes, dropWindows: c.dropped.flatMap((window) => windowed.map((s) => ({ table: s.table, window }))), offsets, ...(fence.length > 0 ? { fence } : {}) };
    },
    close: async () => {},
  };
}

/**
 * What the units committed, read across every partition (the shell's state view, `ssdk run`'s
 * summary): a unit's offsets and progress merged from all its rows, a state's every row. It does
 * not commit: units commit through `partitionedCheckpointStore` (or the embedded runtime's cuts).
 */
export function committedCheckpoints(store: StateStore): CheckpointStore {
  return {
    async load(unitId) {
      const rows = [...(await store.offsets(unitId))].sort(([a], [b]) => a - b);
      const offsets = new Map<Channel, number>();
      const ended: Channel[] = [];
      const progress: Record<Channel, ChannelProgress> = {};
      for (const [, row] of rows) {
        const meta = row.meta as PartitionMeta | undefined;
        for (const [c, seq] of Object.entries(meta?.channels ?? {})) offsets.set(c, seq);
        ended.push(...(meta?.endedChannels ?? []));
        Object.assign(progress, progressOf(meta?.progress).progress ?? {});
      }
      // The unit's own progress is on its lowest partition's row.
      const logic = (rows[0]?.[1].meta as PartitionMeta | undefined)?.logic;
      return { offsets, meta: decodeMeta(logic ?? null), ended, progress };
    },
    async loadState(_unitId, states, into) {
      for (const s of states) for (const e of await store.scan(s.table, { withUpdatedAt: true })) into.load(s.name, e.key, e.value, e.window, e.updatedAt);
    },
    async commit(unitId) {
      throw new Error(`committedCheckpoints reads; operator \`${unitId}\` commits through its partitioned checkpoint store`);
    },
    close: () => store.close(),
  };
}
