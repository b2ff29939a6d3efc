/**
 * The batch encoding across the WebAssembly boundary ("ssdk batch v1"): one `list<u8>` in, one
 * out, per call. Pure and dependency-free: the host and the guest glue both import it.
 *
 * Both directions share one layout, every integer a little-endian u32:
 *
 *   0  version (= 1)          4  count (records in / outputs out)
 *   8  table offset (= 32)   12  values offset   16  values length
 *  20  meta offset           24  meta length     28  flags (0)
 *  32  table: count × 8 bytes
 *      in:  (value offset, value length) — where record i's value sits inside the values text
 *      out: (input index, value ref)     — value ref = UNCHANGED: the input's value as it was;
 *                                           otherwise an index into the output's values array
 *      (input flag FLAG_NO_TABLE: no table — the JavaScript guests ssdk builds parse the values
 *      region at once and never read it, so the host skips encoding each value on its own)
 *  values: UTF-8 JSON array text, one element per record (in) or per new value (out)
 *  meta:   UTF-8 JSON object (keys, timestamps, windows, state snapshot / changes, failures,
 *          logs; see `InputMeta` / `OutputMeta`); length 0 means `{}`
 *
 * Why this shape: a JavaScript guest runs in an interpreter, so it decodes a whole batch with one
 * native `JSON.parse` of the values and one of the meta, and encodes with one `JSON.stringify`;
 * a guest in another language (WAT, Rust) never parses JSON: it finds each value through the
 * table and answers with table rows only (a filter writes 8 bytes per kept record).
 */

export const BATCH_VERSION = 1;
export const HEADER_BYTES = 32;
export const ROW_BYTES = 8;
/** Output value ref: the record keeps its input value (nothing to parse on the host). */
export const UNCHANGED = 0xffffffff;
/** Input flag: the frame has no table (count rows of 0 bytes): for guests that parse the values whole. */
export const FLAG_NO_TABLE = 1;

export const H_VERSION = 0;
export const H_COUNT = 4;
export const H_TABLE = 8;
export const H_VALUES = 12;
export const H_VALUES_LEN = 16;
export const H_META = 20;
export const H_META_LEN = 24;
export const H_FLAGS = 28;

type Key = string | number | boolean;

/** A step's grants: `c` clock, `r` random, `e` the environment variables it may read, `h` the hosts `ctx.http` may call. */
export interface GrantConfig {
  c?: 1;
  r?: 1;
  e?: string[];
  h?: string[];
}

/** A step as the host configures it per call: `[id, operator, setsKey, params, states, grants?]`. */
export type StepConfig = [id: string, operator: string, setsKey: 0 | 1, params: Record<string, string> | null, states: string[] | null, grants?: GrantConfig];

/** `[state, key, window index or -1, value]`; without the value: known to be absent. */
export type SnapshotEntry = [state: string, key: Key, window: number, value?: unknown];

export interface InputMeta {
  /** The steps to run, in order. */
  s: StepConfig[];
  /** Record keys; omitted when every key is null. */
  k?: Array<Key | null>;
  /** Record timestamps (epoch ms). */
  t?: number[];
  /** Window table `[start, end]`; `wi` gives each record's entry (-1: none). */
  w?: Array<[number, number]>;
  wi?: number[];
  /** State of the batch's keys, read before the call. */
  st?: SnapshotEntry[];
  /** Flush: every entry of the window's state, per state name. */
  e?: Record<string, Array<[Key, unknown]>>;
  /** 1: run the steps for their effect on state only, return no outputs (a window's input). */
  x?: 1;
}

/** `[state, key, window index or -1, value]`; without the value: deleted. */
export type StateChangeEntry = [state: string, key: Key, window: number, value?: unknown];

export interface OutputMeta {
  /**
   * Outputs whose key or timestamp differ from their input's, flat: `output ordinal, key,
   * timestamp` per output (one array, not one per output: a guest allocates less).
   */
  o?: Array<number | Key | null>;
  /** Failed records: `[input index, operator, reason, stack, key, timestamp, value]`. */
  f?: Array<[number, string, string, string | null, Key | null, number, unknown]>;
  /** State changes, in order (last write per key wins). */
  d?: StateChangeEntry[];
  /** `ctx.log` lines: `[input index, operator, message]`. */
  l?: Array<[number, string, string]>;
}

export function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 16777216;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
  b[at + 2] = (v >>> 16) & 255;
  b[at + 3] = (v >>> 24) & 255;
}
