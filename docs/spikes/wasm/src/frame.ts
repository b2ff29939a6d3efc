// Batch frame v1 — the one binary format for a batch of records (NATS payload and WASM boundary).
//
// input frame:   u8 version=1 | u32 count | record*
// record:        u8 flags (bit0 = has key) | [u32 keyLen | key] | u32 valueLen | value
//                | i64 timestamp (LE, two u32: lo, hi signed) | u16 headerCount
//                | (u16 nameLen | name utf8 | u32 valueLen | value)*
// output frame:  u8 version=1 | u32 count | (u32 inputIndex | record)* | u32 errorCount
//                | (u32 inputIndex | u32 msgLen | msg utf8)*
// All integers little-endian. Runs in Node (host, native mode), StarlingMonkey and QuickJS (guest):
// no Buffer, no BigInt, TextEncoder only if present (QuickJS has none).

export const FRAME_VERSION = 1;

export interface Rec {
  key: Uint8Array | null;
  value: Uint8Array;
  timestamp: number; // epoch ms
  headers: [string, Uint8Array][];
}

const TE: any = (globalThis as any).TextEncoder;
const TD: any = (globalThis as any).TextDecoder;
const te = TE ? new TE() : null;
const td = TD ? new TD() : null;

export function utf8Encode(s: string): Uint8Array {
  if (te) return te.encode(s);
  // ASCII fast path (native regex check), then full UTF-8
  const n = s.length;
  if (!NON_ASCII_STR.test(s)) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

const NON_ASCII = /[\x80-\xff]/;
const NON_ASCII_STR = /[^\x00-\x7f]/;

export function utf8Decode(b: Uint8Array): string {
  if (td) return td.decode(b);
  // QuickJS: no TextDecoder. Latin-1 view via one native call, a native regex check, and the slow
  // path only for non-ASCII input.
  if (b.length < 8192) {
    const s = String.fromCharCode.apply(null, b as unknown as number[]);
    if (!NON_ASCII.test(s)) return s;
  }
  const n = b.length;
  let s = '';
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      // ASCII run
      let j = i;
      while (j < n && b[j] < 0x80 && j - i < 4096) j++;
      s += String.fromCharCode.apply(null, b.subarray(i, j) as unknown as number[]);
      i = j;
    } else if (c < 0xe0) { s += String.fromCharCode(((c & 31) << 6) | (b[i + 1] & 63)); i += 2; }
    else if (c < 0xf0) { s += String.fromCharCode(((c & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63)); i += 3; }
    else {
      const cp = ((c & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63);
      const u = cp - 0x10000;
      s += String.fromCharCode(0xd800 + (u >> 10), 0xdc00 + (u & 1023));
      i += 4;
    }
  }
  return s;
}

export class Reader {
  pos = 0;
  private dv: DataView;
  constructor(public buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  u8() { return this.buf[this.pos++]; }
  u16() { const v = this.dv.getUint16(this.pos, true); this.pos += 2; return v; }
  u32() { const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  i64() { const lo = this.dv.getUint32(this.pos, true); const hi = this.dv.getInt32(this.pos + 4, true); this.pos += 8; return hi * 4294967296 + lo; }
  bytes(n: number) { const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  record(): Rec {
    const flags = this.u8();
    const key = flags & 1 ? this.bytes(this.u32()) : null;
    const value = this.bytes(this.u32());
    const timestamp = this.i64();
    const hc = this.u16();
    const headers: [string, Uint8Array][] = [];
    for (let i = 0; i < hc; i++) {
      const name = utf8Decode(this.bytes(this.u16()));
      headers.push([name, this.bytes(this.u32())]);
    }
    return { key, value, timestamp, headers };
  }
}

export class Writer {
  buf: Uint8Array;
  dv: DataView;
  pos = 0;
  constructor(size = 4096) {
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
  }
  private ensure(n: number) {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
  u8(v: number) { this.ensure(1); this.buf[this.pos++] = v; }
  u16(v: number) { this.ensure(2); this.dv.setUint16(this.pos, v, true); this.pos += 2; }
  u32(v: number) { this.ensure(4); this.dv.setUint32(this.pos, v, true); this.pos += 4; }
  setU32(at: number, v: number) { this.dv.setUint32(at, v, true); }
  i64(v: number) {
    this.ensure(8);
    const hi = Math.floor(v / 4294967296);
    this.dv.setUint32(this.pos, v - hi * 4294967296, true);
    this.dv.setInt32(this.pos + 4, hi, true);
    this.pos += 8;
  }
  bytes(b: Uint8Array) { this.ensure(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  record(r: Rec) {
    this.u8(r.key ? 1 : 0);
    if (r.key) { this.u32(r.key.length); this.bytes(r.key); }
    this.u32(r.value.length); this.bytes(r.value);
    this.i64(r.timestamp);
    this.u16(r.headers.length);
    for (const [n, v] of r.headers) {
      const nb = utf8Encode(n);
      this.u16(nb.length); this.bytes(nb);
      this.u32(v.length); this.bytes(v);
    }
  }
  finish() { return this.buf.subarray(0, this.pos); }
}

export function encodeInput(recs: Rec[]): Uint8Array {
  const w = new Writer(64 + recs.length * 160);
  w.u8(FRAME_VERSION); w.u32(recs.length);
  for (const r of recs) w.record(r);
  return w.finish();
}

export function decodeInput(b: Uint8Array): Rec[] {
  const r = new Reader(b);
  if (r.u8() !== FRAME_VERSION) throw new Error('bad frame version');
  const n = r.u32();
  const out: Rec[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = r.record();
  return out;
}

export interface Output { records: { index: number; rec: Rec }[]; errors: { index: number; message: string }[] }

export function decodeOutput(b: Uint8Array): Output {
  const r = new Reader(b);
  if (r.u8() !== FRAME_VERSION) throw new Error('bad frame version');
  const n = r.u32();
  const records: Output['records'] = [];
  for (let i = 0; i < n; i++) { const index = r.u32(); records.push({ index, rec: r.record() }); }
  const ne = r.u32();
  const errors: Output['errors'] = [];
  for (let i = 0; i < ne; i++) { const index = r.u32(); errors.push({ index, message: utf8Decode(r.bytes(r.u32())) }); }
  return { records, errors };
}
