/**
 * Offsets that no longer match their stream are never skipped silently. A unit's committed
 * offsets are sequences of the JetStream streams it read: on a stream deleted and made again
 * (`ssdk down`/`up` of another server, a purge, another subject prefix sharing the schema), the
 * new records start at sequence 1 again and every one at or below the old offset would be
 * skipped without a word. So each unit records which stream it reads (its creation time) beside
 * its offsets, and before it reads it checks: the same stream, and no offset above the stream's
 * last sequence. Otherwise it stops with the reason and the two ways on (`--reset-offsets`:
 * read the streams from their start, state kept; `--reset-state`: state and offsets dropped).
 */
import { createHash } from 'node:crypto';
import type { StreamIdentity } from '@ssdk/bus';
import type { StateStore } from '@ssdk/state';
import type { RuntimeUnit } from './topology.ts';

/** The `_offsets` row (operator `<unit>#streams`, partition 0) whose meta names the streams a unit's offsets refer to. */
export function streamsRowOf(unitId: string): string {
  return `${unitId}#streams`;
}

interface StreamsMeta {
  /** Topic id → the creation time of the stream its offsets were committed against. */
  streams: Record<string, string>;
}

export class StreamMismatchError extends Error {
  override name = 'StreamMismatchError';
  readonly code = 'stream-mismatch';
  readonly domain = 'user';
}

export interface StreamCheckOptions {
  store: StateStore;
  unit: RuntimeUnit;
  streamIdentity(topic: string): Promise<StreamIdentity>;
  /** Drop the unit's offsets (and progress) when they do not match, and read its inputs from their start. */
  resetOffsets?: boolean;
  log?: (line: string) => void;
}

/**
 * Checks a unit's committed offsets against the streams it reads; throws `StreamMismatchError`
 * naming what does not match, or (with `resetOffsets`) drops the offsets. Then records the streams
 * and returns a short name of their incarnation (`UnitTaskOptions.msgIdScope`).
 */
export async function checkInputStreams(o: StreamCheckOptions): Promise<string> {
  const { store, unit } = o;
  const recorded = ((await store.offsets(streamsRowOf(unit.id))).get(0)?.meta as StreamsMeta | undefined)?.streams ?? {};
  const committed = await store.offsets(unit.id);
  const now: Record<string, string> = {};
  const problems: string[] = [];
  for (const { topic } of unit.inputs) {
    if (topic.kind === 'schedule') continue;
    const stream = await o.streamIdentity(topic.name);
    now[topic.id] = stream.created;
    const before = recorded[topic.id];
    if (before !== undefined && before !== stream.created) {
      problems.push(`the stream of topic \`${topic.id}\` (${stream.stream}) was made again: created ${stream.created}, the offsets were committed against the one created ${before}`);
      continue;
    }
    for (const [partition, row] of committed) {
      const seq = (row.meta as { channels?: Record<string, number> } | undefined)?.channels?.[`${topic.id}/${partition}`];
      if (seq !== undefined && seq > stream.lastSeq) {
        problems.push(`the committed offset ${seq} of topic \`${topic.id}\` partition ${partition} is ahead of its stream ${stream.stream} (last sequence ${stream.lastSeq})`);
      }
    }
  }
  if (problems.length > 0) {
    if (!o.resetOffsets) {
      throw new StreamMismatchError(
        `operator \`${unit.id}\` stopped: its committed offsets do not match the streams it reads, so records would be skipped:\n` +
          problems.map((p) => `  - ${p}`).join('\n') +
          `\n  hint: redeploy with \`ssdk deploy FILE --reset-offsets\` (or start the operator with --reset-offsets) to read the streams from their start, keeping the state; ` +
          `or with \`--reset-state\` to drop the dataflow's state and offsets too`,
      );
    }
    o.log?.(`${unit.id}: --reset-offsets: ${problems.join('; ')}: reading the inputs from their start`);
    await resetOffsets(store, [unit.id]);
  }
  const same = Object.keys(now).length === Object.keys(recorded).length && Object.entries(now).every(([t, c]) => recorded[t] === c);
  if (!same) await store.commit({ writes: [], offsets: [{ operator: streamsRowOf(unit.id), partition: 0, seq: 0, meta: { streams: now } satisfies StreamsMeta }] });
  return createHash('sha256').update(JSON.stringify(Object.entries(now).sort(([a], [b]) => (a < b ? -1 : 1)))).digest('base64url').slice(0, 8);
}

/** Forgets what units read (offsets, ended inputs, event-time progress, the streams they read); their state stays. */
export async function resetOffsets(store: StateStore, unitIds: readonly string[]): Promise<void> {
  const offsets = [];
  for (const id of unitIds) {
    for (const operator of [id, streamsRowOf(id)]) {
      for (const partition of (await store.offsets(operator)).keys()) offsets.push({ operator, partition, seq: 0, meta: operator === id ? { channels: {} } : { streams: {} } });
    }
  }
  if (offsets.length > 0) await store.commit({ writes: [], offsets });
}
