/**
 * A record as it travels: key and value as bytes (decoded by the topic's converter where a
 * function needs them), event time in epoch ms, optional string headers.
 */
export interface RawRecord {
  key: Uint8Array | null;
  value: Uint8Array;
  /** Event time, epoch ms (an integer). */
  timestamp: number;
  headers?: Record<string, string>;
}

/** A record key as functions see it (`ctx.key()`, assign-key results). */
export type RecordKey = string | number | boolean;
