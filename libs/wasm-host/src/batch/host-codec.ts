/**
 * Host side of the batch encoding (see `layout.ts`): records and state in, outputs, failures,
 * state changes and logs out. Values cross as JSON; `Uint8Array`s inside values (the `bytes`
 * type) travel as `{"$bytes": base64}` and come back as `Uint8Array`s.
 */
import type { ChainInput, Key, WindowBounds } from '@ssdk/engine';
import {
  BATCH_VERSION,
  HEADER_BYTES,
  FLAG_NO_TABLE,
  H_COUNT,
  H_FLAGS,
  H_META,
  H_META_LEN,
  H_TABLE,
  H_VALUES,
  H_VALUES_LEN,
  H_VERSION,
  ROW_BYTES,
  UNCHANGED,
  readU32,
  type InputMeta,
  type OutputMeta,
  type SnapshotEntry,
  type StepConfig,
} from './layout.ts';

const te = new TextEncoder();
const td = new TextDecoder();

export class BatchFormatError extends Error {
  override name = 'BatchFormatError';
  readonly code = 'bad-batch';
  readonly domain = 'internal';
}

/** Collects windows into the table of one frame; the same bounds get the same index. */
export class WindowTable {
  readonly list: Array<[number, number]> = [];
  readonly objects: WindowBounds[] = [];
  private readonly index = new Map<string, number>();
  // A window unit's records share one object per window: found without building a string.
  private readonly byObject = new Map<WindowBounds, number>();
  indexOf(w: WindowBounds | undefined): number {
    if (!w) return -1;
    let i = this.byObject.get(w);
    if (i !== undefined) return i;
    const k = `${w.start}:${w.end}`;
    i = this.index.get(k);
    if (i === undefined) {
      i = this.list.push([w.start, w.end]) - 1;
      this.objects.push(w);
      this.index.set(k, i);
    }
    this.byObject.set(w, i);
    return i;
  }
}

export interface EncodeInputOptions {
  steps: StepConfig[];
  windows: WindowTable;
  snapshot?: SnapshotEntry[];
  entries?: Record<string, Array<[Key, unknown]>>;
  discardOutputs?: boolean;
  /**
   * Fill the table with each value's place (guests in other languages find values through it).
   * A JavaScript guest parses the values at once and needs no table (FLAG_NO_TABLE). @default true
   */
  table?: boolean;
  /** Values may hold `Uint8Array`s (the `bytes` type): tag them (slower encoding). @default false */
  bytes?: boolean;
}

export function encodeInput(inputs: readonly ChainInput[], o: EncodeInputOptions): Uint8Array {
  const n = inputs.length;
  const meta: InputMeta = { s: o.steps };
  const times = new Array<number>(n);
  const values = new Array<unknown>(n);
  let keys: Array<Key | null> | undefined;
  let wi: number[] | undefined;
  for (let i = 0; i < n; i++) {
    const r = inputs[i]!;
    times[i] = r.timestamp;
    values[i] = r.value;
    if (r.key !== null && r.key !== undefined) (keys ??= new Array<Key | null>(n).fill(null))[i] = r.key;
    if (r.window) (wi ??= new Array<number>(n).fill(-1))[i] = o.windows.indexOf(r.window);
  }
  if (n) meta.t = times;
  if (keys) meta.k = keys;
  if (wi) meta.wi = wi;
  if (o.snapshot?.length) meta.st = o.snapshot;
  if (o.entries) meta.e = o.entries;
  if (o.windows.list.length) meta.w = o.windows.list;
  if (o.discardOutputs) meta.x = 1;
  const bytes = o.bytes ?? false;
  const metaText = stringify(meta, bytes);
  const metaLen = Buffer.byteLength(metaText);
  const withTable = o.table ?? true;
  const tableEnd = HEADER_BYTES + (withTable ? n * ROW_BYTES : 0);
  // One buffer of its own (byteOffset 0: it is transferred to the guest worker as it is), texts
  // written straight into it: no intermediate byte arrays.
  let buf: Buffer;
  let valuesLen: number;
  if (withTable) {
    // One JSON text per value, written in place, its offset noted in the table.
    const texts = values.map((v) => stringify(v, bytes));
    valuesLen = 1 + Math.max(n, 1); // the brackets and the commas between values
    for (const t of texts) valuesLen += Buffer.byteLength(t);
    buf = Buffer.allocUnsafeSlow(tableEnd + valuesLen + metaLen);
    let at = tableEnd;
    buf[at++] = 0x5b; // [
    for (let i = 0; i < n; i++) {
      if (i) buf[at++] = 0x2c; // ,
      const written = buf.write(texts[i]!, at);
      buf.writeUInt32LE(at, HEADER_BYTES + i * ROW_BYTES);
      buf.writeUInt32LE(written, HEADER_BYTES + i * ROW_BYTES + 4);
      at += written;
    }
    buf[at] = 0x5d; // ]
  } else {
    const valuesText = stringify(values, bytes);
    valuesLen = Buffer.byteLength(valuesText);
    buf = Buffer.allocUnsafeSlow(tableEnd + valuesLen + metaLen);
    buf.write(valuesText, tableEnd);
  }
  const metaAt = tableEnd + valuesLen;
  buf.write(metaText, metaAt);
  buf.writeUInt32LE(BATCH_VERSION, H_VERSION);
  buf.writeUInt32LE(n, H_COUNT);
  buf.writeUInt32LE(HEADER_BYTES, H_TABLE);
  buf.writeUInt32LE(tableEnd, H_VALUES);
  buf.writeUInt32LE(valuesLen, H_VALUES_LEN);
  buf.writeUInt32LE(metaAt, H_META);
  buf.writeUInt32LE(metaLen, H_META_LEN);
  buf.writeUInt32LE(withTable ? 0 : FLAG_NO_TABLE, H_FLAGS);
  return buf;
}

export interface DecodedOutput {
  /** Per output: the input it came from, and its value (`UNCHANGED_VALUE` when the input's). */
  rows: Array<{ input: number; value: unknown; unchanged: boolean }>;
  meta: OutputMeta;
}

export function decodeOutput(b: Uint8Array): DecodedOutput {
  if (b.length < HEADER_BYTES || readU32(b, H_VERSION) !== BATCH_VERSION) {
    throw new BatchFormatError(`the guest answered with an unknown batch format (${b.length} bytes)`);
  }
  const n = readU32(b, H_COUNT);
  const table = readU32(b, H_TABLE);
  const va = readU32(b, H_VALUES);
  const vl = readU32(b, H_VALUES_LEN);
  const ma = readU32(b, H_META);
  const ml = readU32(b, H_META_LEN);
  if (table + n * ROW_BYTES > b.length || va + vl > b.length || ma + ml > b.length) throw new BatchFormatError('the guest answered with a truncated batch');
  const values = vl ? (parse(td.decode(b.subarray(va, va + vl))) as unknown[]) : [];
  const meta = ml ? (parse(td.decode(b.subarray(ma, ma + ml))) as OutputMeta) : {};
  const rows: DecodedOutput['rows'] = new Array(n);
  for (let i = 0; i < n; i++) {
    const input = readU32(b, table + i * ROW_BYTES);
    const ref = readU32(b, table + i * ROW_BYTES + 4);
    if (ref !== UNCHANGED && ref >= values.length) throw new BatchFormatError(`output ${i} names value ${ref} of ${values.length}`);
    rows[i] = ref === UNCHANGED ? { input, value: undefined, unchanged: true } : { input, value: values[ref], unchanged: false };
  }
  return { rows, meta };
}

// Bytes values: tagged on the way in, revived on the way out. The reviver only runs when the
// text holds the tag (one native `includes` scan), so ordinary batches pay nothing.
const BYTES_TAG = '{"$bytes":';

export function stringify(v: unknown, bytes = true): string {
  const s = bytes ? JSON.stringify(v, replacer) : JSON.stringify(v);
  return s === undefined ? 'null' : s;
}

function replacer(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') } : v;
}

export function parse(text: string): unknown {
  return text.includes(BYTES_TAG) ? JSON.parse(text, reviver) : JSON.parse(text);
}

function reviver(_k: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o['$bytes'] === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o['$bytes'], 'base64'));
  }
  return v;
}

export function encodeJson(v: unknown): Uint8Array {
  return te.encode(stringify(v));
}
