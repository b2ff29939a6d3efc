/**
 * The JSON-lines record format of `ssdk run --input/--output-dir`, `ssdk produce` and
 * `ssdk consume` (a stable scripting interface, see docs/cli.md):
 * - by default each line is a bare JSON value;
 * - with `--records` each line is `{"key"?, "value", "timestamp"?, "headers"?}`;
 * - bytes are written `{"$bytes": "<base64>"}` wherever a value holds them.
 */
import { Buffer, isUtf8 } from 'node:buffer';

export interface JsonRecord {
  key?: unknown;
  value: unknown;
  timestamp?: number;
  headers?: Record<string, string>;
}

export class JsonLineError extends Error {
  override name = 'JsonLineError';
  readonly code = 'bad-line';
  readonly domain = 'user';
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.line = line;
  }
}

const RECORD_KEYS = new Set(['key', 'value', 'timestamp', 'headers']);

/** Parses one line (1-based `line` for messages). Blank lines are skipped by the caller. */
export function parseJsonLine(text: string, line: number, records: boolean): JsonRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, reviveBytes);
  } catch (err) {
    throw new JsonLineError(`line ${line}: not valid JSON (${(err as Error).message})`, line);
  }
  if (!records) return { value: parsed };
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !('value' in parsed)) {
    throw new JsonLineError(`line ${line}: expected a record {"key", "value", "timestamp", "headers"} (--records), got ${JSON.stringify(parsed).slice(0, 60)}`, line);
  }
  const r = parsed as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!RECORD_KEYS.has(k)) throw new JsonLineError(`line ${line}: unknown field \`${k}\` in a record (allowed: key, value, timestamp, headers)`, line);
  }
  if (r['timestamp'] !== undefined && (typeof r['timestamp'] !== 'number' || !Number.isFinite(r['timestamp']))) {
    throw new JsonLineError(`line ${line}: \`timestamp\` must be epoch milliseconds (a number)`, line);
  }
  if (r['headers'] !== undefined && !isStringMap(r['headers'])) {
    throw new JsonLineError(`line ${line}: \`headers\` must be an object of strings`, line);
  }
  return r as unknown as JsonRecord;
}

export function parseJsonLines(text: string, records: boolean): JsonRecord[] {
  const out: JsonRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t) out.push(parseJsonLine(t, i + 1, records));
  }
  return out;
}

/**
 * The header of a record produced for an input line that is not one (`readJsonLines`): its value
 * says where the line is and why (`FILE:LINE: reason`). The operator that reads the record
 * dead-letters it with that reason and the record's own offset, in both runtimes.
 */
export const UNREADABLE_HEADER = 'ssdk-unreadable';

/** A line of an input file that is not a record: where it is, why, and its bytes as they were. */
export interface UnreadableLine {
  line: number;
  /** Why, without the line (`not valid JSON (…)`). */
  reason: string;
  bytes: Uint8Array;
}

/** One line of an input file read leniently: a record, or why it is not one. */
export type InputLine = { line: number; record: JsonRecord } | UnreadableLine;

/**
 * The lines of an input file, read from its bytes so that one bad line costs only itself (the
 * CLI dead-letters it with its file and line, and the rest goes on): a line that is not UTF-8,
 * not JSON, or (with `records`) not a record is given with its reason and bytes. Blank lines
 * are skipped; a UTF-8 byte-order mark at the start is ignored.
 */
export function readJsonLines(bytes: Uint8Array, records: boolean): InputLine[] {
  const out: InputLine[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  for (let line = 1; start <= buf.length; line++) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    const raw = buf.subarray(start, end);
    start = end + 1;
    if (!isUtf8(raw)) {
      out.push({ line, reason: 'not UTF-8 text', bytes: Uint8Array.from(raw) });
      continue;
    }
    const text = raw.toString('utf8').trim();
    if (!text) continue;
    try {
      out.push({ line, record: parseJsonLine(text, line, records) });
    } catch (err) {
      if (!(err instanceof JsonLineError)) throw err;
      out.push({ line, reason: err.message.replace(/^line \d+: /, ''), bytes: Uint8Array.from(raw) });
    }
  }
  return out;
}

export function formatJsonLine(r: JsonRecord, records: boolean): string {
  if (!records) return JSON.stringify(r.value, replaceBytes);
  const o: JsonRecord = { ...(r.key !== undefined && r.key !== null ? { key: r.key } : {}), value: r.value };
  if (r.timestamp !== undefined) o.timestamp = r.timestamp;
  if (r.headers && Object.keys(r.headers).length) o.headers = r.headers;
  return JSON.stringify(o, replaceBytes);
}

function isStringMap(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function reviveBytes(_k: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o['$bytes'] === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o['$bytes'], 'base64'));
  }
  return v;
}

function replaceBytes(this: unknown, _k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString('base64') } : v;
}
