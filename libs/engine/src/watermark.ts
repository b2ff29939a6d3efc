/**
 * Watermarks: how far event time has certainly progressed. Pure state transitions, so the
 * runtime can commit the state with its checkpoint and a replay repeats every decision.
 *
 * - Each input channel (a partition of an upstream topic) tracks the highest event time seen.
 * - A channel's watermark is that maximum minus the grace period.
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
  const ch: ChannelState = { maxEventTime: Math.max(prev?.maxEventTime ?? Number.NEGATIVE_INFINITY, t), lastActivity: now };
  return { ...state, channels: { ...state.channels, [channel]: ch }, lastActivity: Math.max(state.lastActivity, now) };
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
    candidate = Math.min(...live.map((c) => c.maxEventTime)) - opts.gracePeriodMs;
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
