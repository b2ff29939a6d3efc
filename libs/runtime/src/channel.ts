/**
 * An input channel (one partition of one input topic) and what a unit keeps of it. A leaf of
 * its own: the checkpoint (what is committed) and progress (how event time moves) both speak of
 * channels, and neither should import the other for that.
 */

/** An input channel: `<topic>/<partition>`. */
export type Channel = string;

export function channelOf(topic: string, partition: number): Channel {
  return `${topic}/${partition}`;
}

/** What a unit keeps of one input channel, committed with its offsets. */
export interface ChannelProgress {
  /** The highest event time of the channel's records (after the unit's timestamp step). */
  seen: number;
  /** Processing time of the channel's last record, or of when the unit began to read it. */
  activeAt: number;
  /** The latest progress of each writer's origin, as published on this channel. */
  received: Record<string, { time: number; idle: boolean }>;
  /** The unit's timestamp step changed a record's time on this channel: event time starts over here. */
  retimed?: boolean;
}
