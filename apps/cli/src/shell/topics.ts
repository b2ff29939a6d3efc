/**
 * The shell's view of the topics on the embedded bus: each topic read from where the last
 * `consume` of it stopped (a position per partition, down to a record inside a frame), and
 * record counts kept incrementally so `produce` can say what came out downstream.
 */
import { decodeFrame, peekFrame, readUtf8, type RawRecord } from '@ssdk/records';
import type { EngineRecord } from '@ssdk/engine';
import type { EmbeddedDataflow, RuntimeTopic } from '@ssdk/runtime';
import type { PhysicalPlan, PlanTopic } from '@ssdk/plan';
import { closest, ShellError } from './words.ts';

/** Where reading a partition resumes: after message `afterSeq`, skipping `skip` records of the next one. */
interface Position {
  afterSeq: number;
  skip: number;
}

export interface ConsumeResult {
  records: EngineRecord[];
  /** Records left after `limit`. */
  more: number;
}

export class TopicView {
  private readonly df: EmbeddedDataflow;
  private readonly plan: PhysicalPlan;
  private readonly cursors = new Map<string, Position[]>();
  /** Per topic and partition: the last message counted and the records counted so far. */
  private readonly counted = new Map<string, Array<{ seq: number; records: number }>>();

  constructor(df: EmbeddedDataflow, plan: PhysicalPlan) {
    this.df = df;
    this.plan = plan;
  }

  /** A topic by id or bus name; an unknown one is an error naming the closest. */
  resolve(name: string): PlanTopic {
    const t = this.plan.topics.find((x) => x.id === name) ?? this.plan.topics.find((x) => x.name === name);
    if (t) return t;
    const ids = this.plan.topics.map((x) => x.id);
    const close = closest(name, ids);
    throw new ShellError(
      `unknown topic \`${name}\`${close ? ` (did you mean \`${close}\`?)` : ''}`,
      `this dataflow's topics: ${this.plan.topics.filter((x) => x.kind !== 'internal').map((x) => x.id).join(', ')}`,
    );
  }

  runtime(t: PlanTopic): RuntimeTopic {
    const rt = this.df.topology.topics.get(t.id);
    if (!rt) throw new Error(`topic \`${t.id}\` is in the plan but not on the bus`);
    return rt;
  }

  /** Up to `limit` records after the topic's cursor (or from the beginning), moving the cursor past them. */
  async consume(t: PlanTopic, o: { fromBeginning: boolean; limit: number }): Promise<ConsumeResult> {
    const rt = this.runtime(t);
    const start = o.fromBeginning ? undefined : this.cursors.get(t.id);
    const positions: Position[] = Array.from({ length: rt.partitions }, (_, p) => ({ ...(start?.[p] ?? { afterSeq: 0, skip: 0 }) }));
    const records: EngineRecord[] = [];
    let more = 0;
    for (let p = 0; p < rt.partitions; p++) {
      const pos = positions[p]!;
      const reader = this.df.bus.read(rt.name, p, { afterSeq: pos.afterSeq });
      let first = true;
      try {
        for (;;) {
          const messages = await reader.fetch(1000, 0);
          if (messages.length === 0) break;
          for (const m of messages) {
            const frame = decodeFrame(m.data);
            const list = frame.kind === 'data' ? frame.records : [];
            const from = first ? pos.skip : 0;
            first = false;
            const room = o.limit - records.length;
            if (room <= 0) {
              more += list.length - from;
              continue;
            }
            const take = Math.min(room, list.length - from);
            for (const r of list.slice(from, from + take)) records.push(decodeRecord(rt, r));
            if (from + take === list.length) {
              pos.afterSeq = m.seq;
              pos.skip = 0;
            } else {
              pos.skip = from + take;
              more += list.length - from - take;
            }
          }
        }
      } finally {
        await reader.close();
      }
    }
    this.cursors.set(t.id, positions);
    return { records, more };
  }

  /** How many records each topic holds now (counted incrementally). */
  async counts(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const t of this.plan.topics) {
      const rt = this.runtime(t);
      let parts = this.counted.get(t.id);
      if (!parts) this.counted.set(t.id, (parts = Array.from({ length: rt.partitions }, () => ({ seq: 0, records: 0 }))));
      let total = 0;
      for (let p = 0; p < rt.partitions; p++) {
        const c = parts[p]!;
        if ((await this.df.bus.lastSeq(rt.name, p)) > c.seq) {
          const reader = this.df.bus.read(rt.name, p, { afterSeq: c.seq });
          try {
            for (;;) {
              const messages = await reader.fetch(1000, 0);
              if (messages.length === 0) break;
              for (const m of messages) {
                const head = peekFrame(m.data);
                if (head.kind === 'data') c.records += head.count;
                c.seq = m.seq;
              }
            }
          } finally {
            await reader.close();
          }
        }
        total += c.records;
      }
      out.set(t.id, total);
    }
    return out;
  }
}

function decodeRecord(t: RuntimeTopic, r: RawRecord): EngineRecord {
  return { key: r.key ? t.key.decode(r.key) : null, value: decodeValue(t, r.value), timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) };
}

/** By the topic's type; a record that does not fit it (a bad input) as plain JSON, or as text. */
function decodeValue(t: RuntimeTopic, bytes: Uint8Array): unknown {
  try {
    return t.value.decode(bytes);
  } catch {
    const text = readUtf8(bytes);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
}
