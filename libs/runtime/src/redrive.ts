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
import type { RuntimeTopic, Topology } from './topology.ts';

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
  skipped: Array<{ partition: number; seq: number; why: string }>;
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
  const unit = o.topology.units.find((u) => u.service === o.service);
  if (!unit) throw new RedriveError(`the dataflow has no service \`${o.service}\`: its services are ${[...new Set(o.topology.units.map((u) => `\`${u.service}\``))].join(', ')}`);
  const dlq = unit.deadLetter;
  const result: RedriveResult = { read: 0, redriven: 0, older: 0, skipped: [], byTopic: {} };
  const utf8 = new TextEncoder();
  for (let p = 0; p < dlq.partitions; p++) {
    const messages = await readAll(o.bus, dlq, p);
    // Where the last redrive of this partition stopped.
    let through = 0;
    for (const m of messages) {
      const mark = m.headers?.[REDRIVEN_HEADER];
      if (mark !== undefined) through = Math.max(through, Number(mark));
    }
    const out = new Map<string, { topic: RuntimeTopic; partition: number; messages: Array<{ data: Uint8Array; msgId: string }> }>();
    let last = through;
    for (const m of messages) {
      if (m.seq <= through || m.headers?.[REDRIVEN_HEADER] !== undefined) continue;
      last = m.seq;
      for (const [i, raw] of recordsOf(m).entries()) {
        result.read++;
        const dead = JSON.parse(new TextDecoder().decode(raw.value)) as DeadLetter;
        const skip = (why: string) => result.skipped.push({ partition: p, seq: m.seq, why });
        if (o.since !== undefined && (dead.timestamp ?? raw.timestamp) < o.since) {
          result.older++;
          continue;
        }
        const topic = dead.input && o.topology.topics.get(dead.input.topic);
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
        group.messages.push({ data: encodeRecords([{ key, value, timestamp: dead.timestamp ?? raw.timestamp }]), msgId: `redrive|${dlq.id}/${p}:${m.seq}:${i}` });
        result.byTopic[topic.id] = (result.byTopic[topic.id] ?? 0) + 1;
        result.redriven++;
      }
    }
    for (const g of out.values()) await o.bus.publish(g.topic.name, g.partition, g.messages);
    if (last > through) {
      await o.bus.publish(dlq.name, p, [{ data: encodeRecords([]), headers: { [REDRIVEN_HEADER]: String(last) }, msgId: `redrive-mark|${dlq.id}/${p}:${last}` }]);
    }
  }
  return result;
}

/** A redrive that cannot start (an unknown service). */
export class RedriveError extends Error {
  override name = 'RedriveError';
}

function recordsOf(m: BusMessage): RawRecord[] {
  const carried = carriedBatchOf(m);
  if (carried) return carried.records.map((_, i) => carried.raw(i));
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
