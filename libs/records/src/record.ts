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

/** A record on its way out: key and value as bytes, or as text to be written as UTF-8. */
export interface OutRecord {
  key: Uint8Array | string | null;
  value: Uint8Array | string;
  timestamp: number;
  headers?: Record<string, string>;
}
