/**
 * Watermarks: how far event time has certainly progressed. Pure state transitions, so the
 * runtime can commit the state with its checkpoint and a replay repeats every decision.
 *
 * - Each input channel (a partition of an upstream topic) tracks the highest event time seen.
 * - A channel's watermark is that maximum minus the grace period — or, when the channel's topic
 *   is written by other units, the progress those units published in band (`bound`): behind a
 *   shuffle, a channel mixes records of every upstream partition in whatever order the upstream
 *   units read them, so its own maximum says nothing about what is still to come.
 * - The operator's watermark is the minimum over its live channels: a channel that has seen
 *   nothing for `idleness` ms (by the processing clock) is left out, so one quiet partition
 *   cannot stall every window; when every channel is idle the watermark advances with the
 *   clock, so the last windows still close on a stream that has gone quiet.
 * - The watermark never goes back.
 * - End of input (batch mode) sets it to +Infinity: every window flushes.
 */

export interface ChannelState {
  /** Highest event time seen, or -Infinity before the first record. */
  maxEventTime: number;
  /** Processing time (ms) of the channel's last record. */
  lastActivity: number;
  /**
   * The channel's event time as its writers published it in band (the least progress of the
   * upstream channels feeding it); stands for `maxEventTime` when set.
   */
  bound?: number;
}

/** A channel's event time for the watermark: its in-band progress if it has one, else what it has seen. */
export function channelTime(c: ChannelState): number {
  return c.bound ?? c.maxEventTime;
}

export interface WatermarkState {
  channels: Record<string, ChannelState>;
  /** The last watermark emitted; monotonic. */
  watermark: number;
  /** Processing time of the most recent record on any channel. */
  lastActivity: number;
  ended: boolean;
}

export interface WatermarkOptions {
  gracePeriodMs: number;
  /** Undefined: channels never count as idle and the clock never advances the watermark. */
  idlenessMs?: number;
}

export function initialWatermarkState(): WatermarkState {
  return { channels: {}, watermark: Number.NEGATIVE_INFINITY, lastActivity: Number.NEGATIVE_INFINITY, ended: false };
}

/** Registers a channel so that it holds the watermark back before its first record. */
export function addChannel(state: WatermarkState, channel: string, now: number): WatermarkState {
  if (state.channels[channel]) return state;
  return { ...state, channels: { ...state.channels, [channel]: { maxEventTime: Number.NEGATIVE_INFINITY, lastActivity: now } } };
}

/** A record with event time `t` arrived on `channel` at processing time `now`. */
export function observe(state: WatermarkState, channel: string, t: number, now: number): WatermarkState {
  const prev = state.channels[channel];
  const ch: ChannelState = { ...prev, maxEventTime: Math.max(prev?.maxEventTime ?? Number.NEGATIVE_INFINITY, t), lastActivity: now };
  return { ...state, channels: { ...state.channels, [channel]: ch }, lastActivity: Math.max(state.lastActivity, now) };
}

/** Sets (or, with undefined, clears) a channel's in-band progress; the watermark moves on the next `advance`. */
export function boundChannel(state: WatermarkState, channel: string, bound: number | undefined, now: number): WatermarkState {
  const prev = state.channels[channel] ?? { maxEventTime: Number.NEGATIVE_INFINITY, lastActivity: now };
  if (prev.bound === bound) return state;
  const { bound: _old, ...rest } = prev;
  return { ...state, channels: { ...state.channels, [channel]: bound === undefined ? rest : { ...rest, bound } } };
}

/** End of input: every window may close. */
export function endOfInput(state: WatermarkState): WatermarkState {
  return { ...state, ended: true, watermark: Number.POSITIVE_INFINITY };
}

/** The watermark at processing time `now`, and the state remembering it (monotonic). */
export function advance(state: WatermarkState, opts: WatermarkOptions, now: number): WatermarkState {
  if (state.ended) return state;
  const channels = Object.values(state.channels);
  const idle = (c: ChannelState) => opts.idlenessMs !== undefined && now - c.lastActivity >= opts.idlenessMs;
  const live = channels.filter((c) => !idle(c));
  let candidate: number;
  if (live.length > 0) {
    candidate = Math.min(...live.map(channelTime)) - opts.gracePeriodMs;
  } else if (channels.length > 0 && opts.idlenessMs !== undefined) {
    // Everything is quiet: event time is assumed to move on with the clock once the idleness
    // timeout has passed, starting from the highest event time seen.
    const maxSeen = Math.max(...channels.map((c) => c.maxEventTime));
    const quietFor = now - state.lastActivity - opts.idlenessMs;
    candidate = maxSeen - opts.gracePeriodMs + Math.max(0, quietFor);
  } else {
    candidate = Number.NEGATIVE_INFINITY;
  }
  return candidate > state.watermark ? { ...state, watermark: candidate } : state;
}
