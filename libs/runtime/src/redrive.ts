/**
 * `ssdk redrive`: dead letters sent back through the operator they came from, after a fix. A dead
 * letter names its record's own place (`input: {topic, partition, seq, index}`) and keeps the
 * record (key, value or raw bytes, timestamp), so the record is published again to that topic and
 * partition, where the unit that dead-lettered it reads it as a new message.
 *
 * Idempotent twice over: each republished message has the id `redrive|<dead letter's
 * partition>:<seq>` (a redrive that crashed halfway and runs again is dropped by the bus's
 * duplicate window), and once a partition is done a marker message goes to the dead-letter topic
 * itself (an empty frame with the header `ssdk-redriven-through: SEQ`): the next redrive starts
 * after it, whatever the duplicate window, and records that fail again are new dead letters
 * after the marker, redriven by the next redrive. Readers of the dead-letter topic see an empty
 * frame (no record).
 */
import type { Bus, BusMessage } from '@ssdk/bus';
import type { Key } from '@ssdk/engine';
import { decodeFrame, encodeRecords, type RawRecord } from '@ssdk/records';
import { carriedBatchOf } from './carried.ts';
import type { RuntimeTopic, RuntimeUnit, Topology } from './topology.ts';

export const REDRIVEN_HEADER = 'ssdk-redriven-through';

export interface RedriveOptions {
  bus: Bus;
  topology: Topology;
  /** The service whose dead letters go back. */
  service: string;
  /** Only dead letters of records with this event time or later, epoch ms. @default all */
  since?: number;
}

export interface RedriveResult {
  /** Dead letters read after the last redrive. */
  read: number;
  /** Published back to their topics. */
  redriven: number;
  /** Older than `since`: passed over (the next redrive starts after them too). */
  older: number;
  /** Cannot go back, and why (a value cut to a preview, a topic the dataflow no longer has). */
  skipped: Array<{ partition: number; at: string; why: string }>;
  /** Per topic, records published back. */
  byTopic: Record<string, number>;
}

interface DeadLetter {
  input?: { topic: string; partition: number; seq: number; index?: number };
  key?: Key;
  value?: unknown;
  raw?: string;
  truncated?: unknown;
  timestamp?: number;
}

export async function redriveDeadLetters(o: RedriveOptions): Promise<RedriveResult> {
  const unit = serviceUnit(o.topology, o.service);
  const dlq = unit.deadLetter;
  const result = emptyResult();
  for (let p = 0; p < dlq.partitions; p++) {
    const messages = await readAll(o.bus, dlq, p);
    // Where the last redrive of this partition stopped.
    let through = 0;
    for (const m of messages) {
      const mark = m.headers?.[REDRIVEN_HEADER];
      if (mark !== undefined) through = Math.max(through, Number(mark));
    }
    const letters = messages
      .filter((m) => m.seq > through && m.headers?.[REDRIVEN_HEADER] === undefined)
      .map((m) => ({ at: String(m.seq), records: recordsOf(m) }));
    for (const g of backToTopics(o.topology, dlq, p, letters, o.since, result)) await o.bus.publish(g.topic.name, g.partition, g.messages);
    const last = letters.at(-1);
    if (last) {
      await o.bus.publish(dlq.name, p, [{ data: encodeRecords([]), headers: { [REDRIVEN_HEADER]: last.at }, msgId: `redrive-mark|${dlq.id}/${p}:${last.at}` }]);
    }
  }
  return result;
}

/** The unit of `service` that writes its dead letters (the first one: a service's units share them). */
export function serviceUnit(topology: Topology, service: string): RuntimeUnit {
  const unit = topology.units.find((u) => u.service === service);
  if (!unit) throw new RedriveError(`the dataflow has no service \`${service}\`: its services are ${[...new Set(topology.units.map((u) => `\`${u.service}\``))].join(', ')}`);
  return unit;
}

export function emptyResult(): RedriveResult {
  return { read: 0, redriven: 0, older: 0, skipped: [], byTopic: {} };
}

/** Records going back to one partition of one topic. */
export interface RedriveGroup {
  topic: RuntimeTopic;
  partition: number;
  messages: Array<{ data: Uint8Array; msgId: string }>;
}

/**
 * What the dead letters `letters` of partition `p` of `dlq` send back, grouped by their records'
 * topic partition; counted into `result`. `at` is a letter's place in its log (a sequence on the
 * bus, a stored row of the embedded store): with `p` and the record's index it makes the id.
 */
export function backToTopics(
  topology: Topology,
  dlq: RuntimeTopic,
  p: number,
  letters: ReadonlyArray<{ at: string; records: readonly RawRecord[] }>,
  since: number | undefined,
  result: RedriveResult,
): RedriveGroup[] {
  const utf8 = new TextEncoder();
  const out = new Map<string, RedriveGroup>();
  for (const m of letters) {
    for (const [i, raw] of m.records.entries()) {
      result.read++;
      const dead = JSON.parse(new TextDecoder().decode(raw.value)) as DeadLetter;
      const skip = (why: string) => result.skipped.push({ partition: p, at: m.at, why });
      if (since !== undefined && (dead.timestamp ?? raw.timestamp) < since) {
        result.older++;
        continue;
      }
      const topic = dead.input && topology.topics.get(dead.input.topic);
      if (!dead.input || !topic) {
        skip(dead.input ? `the dataflow has no topic \`${dead.input.topic}\` any more` : 'it names no input record (a window result)');
        continue;
      }
      if (dead.truncated !== undefined || (dead.value === undefined && dead.raw === undefined)) {
        skip('its record was too large to keep whole in the dead letter');
        continue;
      }
      let value: Uint8Array;
      let key: Uint8Array | null = null;
      try {
        const text = dead.raw !== undefined ? dead.raw : topic.value.encodeText(dead.value);
        value = typeof text === 'string' ? utf8.encode(text) : text;
        if (dead.key !== undefined && dead.key !== null) key = utf8.encode(topic.key.encode(dead.key));
      } catch {
        // The record still does not fit its topic: sent back as it was kept, for the unit to judge again.
        value = utf8.encode(dead.raw ?? JSON.stringify(dead.value));
      }
      const partition = dead.input.partition % topic.partitions;
      const k = `${topic.name}/${partition}`;
      let group = out.get(k);
      if (!group) out.set(k, (group = { topic, partition, messages: [] }));
      group.messages.push({ data: encodeRecords([{ key, value, timestamp: dead.timestamp ?? raw.timestamp }]), msgId: `redrive|${dlq.id}/${p}:${m.at}:${i}` });
      result.byTopic[topic.id] = (result.byTopic[topic.id] ?? 0) + 1;
      result.redriven++;
    }
  }
  return [...out.values()];
}

/** A redrive that cannot start (an unknown service). */
export class RedriveError extends Error {
  override name = 'RedriveError';
}

export function recordsOf(m: BusMessage): RawRecord[] {
  const carried = carriedBatchOf(m);
  if (carried) return Array.from({ length: carried.length }, (_, i) => carried.raw(i));
  const frame = decodeFrame(m.data);
  return frame.kind === 'data' ? frame.records : [];
}

/** Every message of a partition so far. */
async function readAll(bus: Bus, topic: RuntimeTopic, partition: number): Promise<BusMessage[]> {
  const reader = bus.read(topic.name, partition);
  const all: BusMessage[] = [];
  try {
    for (let got = await reader.fetch(1_000, 200); got.length > 0; got = await reader.fetch(1_000, 200)) all.push(...got);
  } finally {
    await reader.close();
  }
  return all;
}
