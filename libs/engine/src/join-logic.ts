/**
 * A join operator (joins.ts): steps fused in before the join run first, the join keeps its
 * sides as rows per key (`takeRows`, written when they change) and its watermark as the
 * operator's progress (`meta`), both committed with its offsets, so a replay after kill -9
 * starts from the same buffers; the steps after it run on the joined records.
 *
 * Results leave when the watermark lets them (a stream-table result once its time is behind it,
 * an interval's once it has closed), as a window's results do, each with an id of its own — its
 * bounds, its key and the origin (channel and position) of the record it stands for — so a
 * replay that reads the channels in another interleaving, or releases in another batch, makes
 * the same ids.
 */
import { createHash } from 'node:crypto';
import { rereadableRecord, type ChainFailure, type EngineRecord, type ValueSource } from './chain.ts';
import { toJsonValue } from './codec.ts';
import { advanceJoin, initialJoinState, joinBatch, joinMeta, restoreJoin, takeJoinRows, type JoinConfig, type JoinOutput, type JoinState } from './joins.ts';
import { encodeKey, type MemoryState } from './memory-state.ts';
import type { ChainExecutor, OperatorEffects, OperatorLogic } from './operator-logic.ts';
import { boundChannel } from './watermark.ts';

export function joinLogic(opts: {
  config: JoinConfig;
  /** Steps fused in before the join (its key step in a one-partition plan). */
  pre?: ChainExecutor;
  /** The steps after the join. */
  body: ChainExecutor;
  /** The operator id of the join's first step: what its dead letters name. */
  operator: string;
  state: MemoryState;
  channels: readonly string[];
}): OperatorLogic {
  const { config, body, state } = opts;
  let join: JoinState = { ...initialJoinState(opts.channels), touched: new Set() };

  /** Runs the steps after the join on its results. */
  const shape = async (results: readonly JoinOutput[], effects: OperatorEffects): Promise<void> => {
    if (results.length === 0) return;
    const r = await body.run(
      results.map((o) => joinedRecord(o.record)),
      state,
    );
    for (const out of r.outputs) {
      const from = results[out.input]!;
      const record: EngineRecord = out.headers ? { key: out.key, value: out.value, timestamp: out.timestamp, headers: out.headers } : { key: out.key, value: out.value, timestamp: out.timestamp };
      effects.flushes.push({ window: from.bounds, record, session: resultId(from) });
    }
    // A joined record is no input record of the message: its failure names none.
    effects.failures.push(...r.failures.map((f) => ({ ...f, input: -1 })));
  };

  const closing = async (results: JoinOutput[]): Promise<OperatorEffects> => {
    const effects: OperatorEffects = { outputs: [], flushes: [], failures: [], late: [] };
    await shape(results, effects);
    return effects;
  };

  return {
    kind: 'join',
    async process(records, channel, now) {
      // The host loop's records: each run of the steps before the join starts from them as read (`startRun`).
      const before = opts.pre ? await opts.pre.run(records, state, { owned: true }) : undefined;
      const inputs = before ? before.outputs : records;
      const r = joinBatch(inputs, channel, now, config, join);
      join = r.state;
      const effects: OperatorEffects = { outputs: [], flushes: [], failures: [...(before?.failures ?? [])], late: r.late };
      for (const u of r.unmatched) {
        const record = inputs[u.input]!;
        const input = before ? (before.outputs[u.input]?.input ?? -1) : u.input;
        const failure: ChainFailure = { input, operator: opts.operator, reason: u.reason, record: { key: record.key, value: record.value, timestamp: record.timestamp } };
        effects.failures.push(failure);
      }
      await shape(r.outputs, effects);
      return effects;
    },
    bound(channel, bound, now) {
      join.watermark = boundChannel(join.watermark, channel, bound, now);
    },
    watermark: () => join.watermark.watermark,
    tick: async (now) => closing(advanceJoin(config, join, now)),
    end: async () => closing(advanceJoin(config, join, 0, true)),
    meta: () => joinMeta(join),
    takeRows: () => takeJoinRows(join),
    restore(meta, rows) {
      if (meta) join = restoreJoin(meta, config, rows);
    },
    takeDroppedWindows: () => [],
  };
}

/**
 * A result as the steps after the join get it. Its value holds the join's own held values — a
 * table entry joined to every later stream record, an interval's records — so each run of those
 * steps gets a copy of its own (the first, and every run again: a `ctx.sql` round, a half past the
 * limit): a native function that changes it in place reaches neither the join's rows (committed,
 * and joined again) nor another result, nor its own next run. Sandboxed steps get copies anyway.
 */
function joinedRecord(r: EngineRecord): EngineRecord {
  return rereadableRecord(r.key, toJsonValue(r.value), r.timestamp, r.headers, COPY_OF_HELD, r.value);
}
const COPY_OF_HELD: ValueSource = { valueAgain: (held) => toJsonValue(held) };

/** A result's part of its message id: key and origin, plain when short, else a digest. */
function resultId(o: JoinOutput): string {
  const id = `${o.record.key === null ? '' : encodeKey(o.record.key)}@${o.origin}`;
  return /^[\w.:@#/-]{0,96}$/.test(id) ? id : `#${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}
