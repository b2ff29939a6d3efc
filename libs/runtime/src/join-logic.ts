/**
 * A join unit (engine/joins.ts): steps fused in before the join run first, the join keeps its
 * sides as the unit's progress (`meta`, committed with its offsets, so a replay after kill -9
 * starts from the same buffers), and the steps after it run on the joined records.
 *
 * A stream-table join's results leave with the record that made them (their message ids follow
 * the input's, as a chain's do); an interval join's leave when the watermark closes an interval,
 * as a window's results do, with an id of their own — the interval and the left record's
 * arrival number — so a replay that closes the interval in another batch makes the same id.
 */
import { createHash } from 'node:crypto';
import { advanceJoin, boundChannel, encodeKey, initialJoinState, joinBatch, joinMeta, restoreJoin, type ChainFailure, type EngineRecord, type JoinConfig, type JoinOutput, type JoinState, type MemoryState } from '@ssdk/engine';
import type { ChainExecutor, UnitEffects, UnitLogic } from './unit-logic.ts';

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
}): UnitLogic {
  const { config, body, state } = opts;
  let join: JoinState = initialJoinState(opts.channels);

  /** Runs the steps after the join on its results: immediate ones as outputs, closed intervals as their own results. */
  const shape = async (results: readonly JoinOutput[], effects: UnitEffects): Promise<void> => {
    if (results.length === 0) return;
    const r = await body.run(
      results.map((o) => o.record),
      state,
    );
    for (const out of r.outputs) {
      const interval = results[out.input]?.interval;
      const record: EngineRecord = out.headers ? { key: out.key, value: out.value, timestamp: out.timestamp, headers: out.headers } : { key: out.key, value: out.value, timestamp: out.timestamp };
      if (interval === undefined) effects.outputs.push(record);
      else effects.flushes.push({ window: { start: interval.start, end: interval.end }, record, session: `${keyId(out.key)}.${interval.seq}` });
    }
    // A joined record is no input record of the message: its failure names none.
    effects.failures.push(...r.failures.map((f) => ({ ...f, input: -1 })));
  };

  const closing = async (results: JoinOutput[]): Promise<UnitEffects> => {
    const effects: UnitEffects = { outputs: [], flushes: [], failures: [], late: [] };
    await shape(results, effects);
    return effects;
  };

  return {
    kind: 'join',
    async process(records, channel, now) {
      const before = opts.pre ? await opts.pre.run(records, state) : undefined;
      const inputs = before ? before.outputs : records;
      const r = joinBatch(inputs, channel, now, config, join);
      join = r.state;
      const effects: UnitEffects = { outputs: [], flushes: [], failures: [...(before?.failures ?? [])], late: r.late };
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
    restore(meta) {
      if (meta) join = restoreJoin(meta, config);
    },
    takeDroppedWindows: () => [],
  };
}

function keyId(key: EngineRecord['key']): string {
  const encoded = key === null ? '' : encodeKey(key);
  return /^[\w.:@-]{0,64}$/.test(encoded) ? encoded : `#${createHash('sha256').update(encoded).digest('hex').slice(0, 32)}`;
}
