/**
 * The one frame format for a batch of records: on NATS (one message = one frame), in the
 * in-memory bus, and across the WebAssembly boundary (`list<u8>`). Length-prefixed binary,
 * versioned, little-endian; decoding is zero-copy (keys and values are views into the frame).
 *
 *   header (8 bytes): 'S' 'F' version(1) kind(u8) count(u32)
 *   kind 0 = data:    count × record
 *   kind 1 = progress: count × entry — how far event time has come on the channels of the
 *            unit that wrote it (in-band watermarks; libs/runtime/src/progress.ts)
 *   kind 2 = end of input — count is 0
 *   record: flags(u8: 1 = has key, 2 = has headers) timestamp(i64) [key] value [headers]
 *           key/value: varint length + bytes; headers: varint count + (varint len + utf-8 name, varint len + utf-8 value)*
 *   entry:  varint len + utf-8 origin, time(i64), flags(u8: 1 = idle)
 *
 * Varints are unsigned LEB128. Timestamps are integers in ms (safe up to 2^53).
 */
import type { OutRecord, RawRecord } from './record.ts';
import { utf8Length, writeUtf8 } from './utf8.ts';

export const FRAME_VERSION = 1;
const MAGIC_0 = 0x53; // 'S'
const MAGIC_1 = 0x46; // 'F'
const HEADER_BYTES = 8;
const FLAG_KEY = 1;
const FLAG_HEADERS = 2;

/**
 * One input channel's event-time progress, as the unit reading it publishes it to every
 * partition it writes: every record from `origin` with an earlier time has been sent ahead of
 * this entry. An idle origin (quiet past the idleness timeout) holds nothing back.
 */
export interface ProgressEntry {
  origin: string;
  /** Event time, ms; ±Infinity are clamped to the i64-safe range on the wire. */
  time: number;
  idle: boolean;
}

export type Frame =
  | { kind: 'data'; records: RawRecord[] }
  | { kind: 'progress'; entries: ProgressEntry[] }
  | { kind: 'end' };

const KIND_CODES = { data: 0, progress: 1, end: 2 } as const;
const FLAG_IDLE = 1;

export class FrameError extends Error {
  override name = 'FrameError';
  readonly code = 'bad-frame';
  readonly domain = 'external';
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes records into one data frame. Keys and values may be bytes or strings (written as
 * UTF-8 straight into the frame: no intermediate buffer per record).
 */
export function encodeRecords(records: readonly OutRecord[]): Uint8Array {
  const sized = sizeRecords(records);
  return encodeRange(records, sized, 0, records.length, HEADER_BYTES + sized.total);
}

/**
 * Splits records into frames of at most `maxBytes` each (NATS' max_payload defaults to 1 MB).
 * A single record larger than `maxBytes` gets a frame of its own (the bus reports it).
 */
export function encodeRecordFrames(records: readonly OutRecord[], maxBytes: number): Uint8Array[] {
  const sized = sizeRecords(records);
  if (HEADER_BYTES + sized.total <= maxBytes) return [encodeRange(records, sized, 0, records.length, HEADER_BYTES + sized.total)];
  const frames: Uint8Array[] = [];
  let start = 0;
  let size = HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const s = sized.sizes[i * 3]!;
    if (i > start && size + s > maxBytes) {
      frames.push(encodeRange(records, sized, start, i, size));
      start = i;
      size = HEADER_BYTES;
    }
    size += s;
  }
  frames.push(encodeRange(records, sized, start, records.length, size));
  return frames;
}

/**
 * The bytes a frame holding only `record` takes: a record over a frame limit can go in no frame,
 * so it is refused (dead-lettered) rather than sent to be rejected by the server.
 */
export function frameBytesOf(record: OutRecord): number {
  return HEADER_BYTES + sizeRecords([record]).total;
}

/** Per record: its size in the frame, its key's and its value's UTF-8 lengths (measured once); and its headers' bytes. */
interface Sized {
  sizes: number[];
  headers: Array<Array<[Uint8Array, Uint8Array]> | undefined> | undefined;
  total: number;
}

function sizeRecords(records: readonly OutRecord[]): Sized {
  const sizes: number[] = new Array(records.length * 3);
  let headers: Sized['headers'];
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const v = byteLength(r.value);
    let s = 1 + 8 + varintSize(v) + v;
    let k = 0;
    if (r.key !== null) {
      k = byteLength(r.key);
      s += varintSize(k) + k;
    }
    if (r.headers) {
      const hs = encodeHeaders(r.headers);
      if (hs) {
        (headers ??= new Array(records.length))[i] = hs;
        s += varintSize(hs.length);
        for (const [hk, hv] of hs) s += varintSize(hk.length) + hk.length + varintSize(hv.length) + hv.length;
      }
    }
    sizes[i * 3] = s;
    sizes[i * 3 + 1] = k;
    sizes[i * 3 + 2] = v;
    total += s;
  }
  return { sizes, headers, total };
}

/** Records `start` to `end` as one data frame of `size` bytes. */
function encodeRange(records: readonly OutRecord[], sized: Sized, start: number, end: number, size: number): Uint8Array {
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  writeHeader(buf, view, 'data', end - start);
  let at = HEADER_BYTES;
  for (let i = start; i < end; i++) {
    const r = records[i]!;
    const hs = sized.headers?.[i];
    buf[at++] = (r.key !== null ? FLAG_KEY : 0) | (hs ? FLAG_HEADERS : 0);
    writeI64(view, at, r.timestamp);
    at += 8;
    if (r.key !== null) at = writeField(buf, at, r.key, sized.sizes[i * 3 + 1]!);
    at = writeField(buf, at, r.value, sized.sizes[i * 3 + 2]!);
    if (hs) {
      at = writeVarint(buf, at, hs.length);
      for (const [k, v] of hs) {
        at = writeBytes(buf, at, k);
        at = writeBytes(buf, at, v);
      }
    }
  }
  return buf;
}

export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.kind) {
    case 'data':
      return encodeRecords(frame.records);
    case 'progress':
      return encodeProgress(frame.entries);
    case 'end': {
      const buf = new Uint8Array(HEADER_BYTES);
      writeHeader(buf, new DataView(buf.buffer), 'end', 0);
      return buf;
    }
    default: {
      const never: never = frame;
      return never;
    }
  }
}

/** Decodes a frame; keys and values are views into `buf` (copy them to keep them past its life). */
export function decodeFrame(buf: Uint8Array): Frame {
  if (buf.length < HEADER_BYTES || buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1) throw new FrameError('not an ssdk frame');
  if (buf[2] !== FRAME_VERSION) throw new FrameError(`unsupported frame version ${buf[2]} (this build reads ${FRAME_VERSION})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const kind = buf[3];
  const count = view.getUint32(4, true);
  if (kind === KIND_CODES.progress) return { kind: 'progress', entries: decodeProgress(buf, view, count) };
  if (kind === KIND_CODES.end) return { kind: 'end' };
  if (kind !== KIND_CODES.data) throw new FrameError(`unknown frame kind ${kind}`);
  const records: RawRecord[] = new Array(count);
  const cursor = { at: HEADER_BYTES };
  try {
    for (let i = 0; i < count; i++) {
      const flags = buf[cursor.at++]!;
      const timestamp = readI64(view, cursor.at);
      cursor.at += 8;
      const key = flags & FLAG_KEY ? readBytes(buf, cursor) : null;
      const value = readBytes(buf, cursor);
      let headers: Record<string, string> | undefined;
      if (flags & FLAG_HEADERS) {
        headers = {};
        const n = readVarint(buf, cursor);
        for (let h = 0; h < n; h++) {
          const k = fromUtf8.decode(readBytes(buf, cursor));
          headers[k] = fromUtf8.decode(readBytes(buf, cursor));
        }
      }
      records[i] = headers ? { key, value, timestamp, headers } : { key, value, timestamp };
    }
  } catch (err) {
    throw new FrameError(`truncated or corrupt frame at byte ${cursor.at}`, { cause: err });
  }
  if (cursor.at !== buf.length) throw new FrameError(`${buf.length - cursor.at} trailing bytes after ${count} records`);
  return { kind: 'data', records };
}

const scratch = new DataView(new ArrayBuffer(8));

/** A timestamp as a frame carries it: integers in the i64-safe range as they are, others as written and read back. */
export function frameTimestamp(t: number): number {
  if (Number.isSafeInteger(t)) return t;
  writeI64(scratch, 0, t);
  return readI64(scratch, 0);
}

/** Only a frame's kind and record count, without decoding it. */
export function peekFrame(buf: Uint8Array): { kind: Frame['kind']; count: number } {
  if (buf.length < HEADER_BYTES || buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1) throw new FrameError('not an ssdk frame');
  const kind = buf[3] === KIND_CODES.data ? 'data' : buf[3] === KIND_CODES.progress ? 'progress' : 'end';
  return { kind, count: new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(4, true) };
}

export function isFrame(buf: Uint8Array): boolean {
  return buf.length >= HEADER_BYTES && buf[0] === MAGIC_0 && buf[1] === MAGIC_1;
}

function encodeProgress(entries: readonly ProgressEntry[]): Uint8Array {
  const origins = entries.map((e) => utf8.encode(e.origin));
  let size = HEADER_BYTES;
  for (const o of origins) size += varintSize(o.length) + o.length + 8 + 1;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  writeHeader(buf, view, 'progress', entries.length);
  let at = HEADER_BYTES;
  entries.forEach((e, i) => {
    at = writeBytes(buf, at, origins[i]!);
    writeI64(view, at, clampTime(e.time));
    at += 8;
    buf[at++] = e.idle ? FLAG_IDLE : 0;
  });
  return buf;
}

function decodeProgress(buf: Uint8Array, view: DataView, count: number): ProgressEntry[] {
  const entries: ProgressEntry[] = new Array(count);
  const cursor = { at: HEADER_BYTES };
  try {
    for (let i = 0; i < count; i++) {
      const origin = fromUtf8.decode(readBytes(buf, cursor));
      if (cursor.at + 9 > buf.length) throw new RangeError('entry past the end');
      const time = unclampTime(readI64(view, cursor.at));
      cursor.at += 8;
      entries[i] = { origin, time, idle: (buf[cursor.at++]! & FLAG_IDLE) !== 0 };
    }
  } catch (err) {
    throw new FrameError(`truncated or corrupt progress frame at byte ${cursor.at}`, { cause: err });
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------

function writeHeader(buf: Uint8Array, view: DataView, kind: Frame['kind'], count: number): void {
  buf[0] = MAGIC_0;
  buf[1] = MAGIC_1;
  buf[2] = FRAME_VERSION;
  buf[3] = KIND_CODES[kind];
  view.setUint32(4, count, true);
}

function encodeHeaders(h: Record<string, string> | undefined): Array<[Uint8Array, Uint8Array]> | undefined {
  if (!h) return undefined;
  const entries = Object.entries(h);
  return entries.length === 0 ? undefined : entries.map(([k, v]) => [utf8.encode(k), utf8.encode(v)]);
}

// Progress can be ±Infinity in memory; on the wire it is clamped to the i64-safe range, and the
// range's ends read back as the infinities they stand for.
function clampTime(w: number): number {
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(w)));
}

function unclampTime(w: number): number {
  return w >= Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : w <= Number.MIN_SAFE_INTEGER ? Number.NEGATIVE_INFINITY : w;
}

function writeI64(view: DataView, at: number, v: number): void {
  // Split into two 32-bit halves: avoids BigInt on the hot path; exact for |v| < 2^53.
  const lo = v % 0x1_0000_0000;
  const hi = (v - lo) / 0x1_0000_0000;
  view.setUint32(at, lo < 0 ? lo + 0x1_0000_0000 : lo, true);
  view.setInt32(at + 4, lo < 0 ? hi - 1 : hi, true);
}

function readI64(view: DataView, at: number): number {
  return view.getInt32(at + 4, true) * 0x1_0000_0000 + view.getUint32(at, true);
}

function varintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

function byteLength(v: Uint8Array | string): number {
  return typeof v === 'string' ? utf8Length(v) : v.length;
}

/** A key or value of `len` bytes (as `byteLength` measured it). */
function writeField(buf: Uint8Array, at: number, v: Uint8Array | string, len: number): number {
  if (typeof v !== 'string') return writeBytes(buf, at, v);
  at = writeVarint(buf, at, len);
  return writeUtf8(buf, at, v, len);
}

function writeBytes(buf: Uint8Array, at: number, bytes: Uint8Array): number {
  at = writeVarint(buf, at, bytes.length);
  // `set` costs a call into C++ (~35 ns) whatever the length: a short field (a word, a key
  // passed through as bytes) is copied quicker by a loop.
  if (bytes.length <= 32) for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i]!;
  else buf.set(bytes, at);
  return at + bytes.length;
}

function readVarint(buf: Uint8Array, cursor: { at: number }): number {
  let n = 0;
  let mul = 1;
  for (;;) {
    const b = buf[cursor.at++];
    if (b === undefined) throw new RangeError('varint past the end');
    n += (b & 0x7f) * mul;
    if (b < 0x80) return n;
    mul *= 128;
  }
}

function readBytes(buf: Uint8Array, cursor: { at: number }): Uint8Array {
  const len = readVarint(buf, cursor);
  const end = cursor.at + len;
  if (end > buf.length) throw new RangeError('bytes past the end');
  // A plain view: `subarray` of a Buffer (what NATS delivers) costs twice as much.
  const out = new Uint8Array(buf.buffer, buf.byteOffset + cursor.at, len);
  cursor.at = end;
  return out;
}
