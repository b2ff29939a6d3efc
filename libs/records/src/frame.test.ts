import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, encodeRecordFrames, encodeRecords, FrameError, peekFrame } from './frame.ts';
import type { RawRecord } from './record.ts';

const te = new TextEncoder();
const td = new TextDecoder();
const rec = (key: string | null, value: string, timestamp: number, headers?: Record<string, string>): RawRecord => ({
  key: key === null ? null : te.encode(key),
  value: te.encode(value),
  timestamp,
  ...(headers ? { headers } : {}),
});
const plain = (r: RawRecord) => ({
  key: r.key ? td.decode(r.key) : null,
  value: td.decode(r.value),
  timestamp: r.timestamp,
  headers: r.headers,
});

describe('records - frame format', () => {
  it('records - round-trips keys, values, timestamps and headers', () => {
    const records = [
      rec('k1', '{"a":1}', 1_700_000_000_123),
      rec(null, 'no key', 0),
      rec('', '', -1, { 'trace-id': 'abc', 'ünïcode': 'välue' }),
      rec('big', 'x'.repeat(70_000), Number.MAX_SAFE_INTEGER),
      rec('neg', 'y', -(2 ** 40) - 7),
    ];
    const frame = decodeFrame(encodeRecords(records));
    expect(frame.kind).toBe('data');
    if (frame.kind !== 'data') return;
    expect(frame.records.map(plain)).toEqual(records.map(plain));
  });

  it('records - an empty batch is a valid frame', () => {
    expect(decodeFrame(encodeRecords([]))).toEqual({ kind: 'data', records: [] });
  });

  it('records - progress and end-of-input frames travel in band', () => {
    const entries = [
      { origin: 'count-words.split/sentences/0', time: 1_736_154_000_123, idle: false },
      { origin: 'ünit/ä/7', time: Number.NEGATIVE_INFINITY, idle: true },
      { origin: 'x', time: Number.POSITIVE_INFINITY, idle: false },
      { origin: 'y', time: 12.7, idle: false },
    ];
    const frame = encodeFrame({ kind: 'progress', entries });
    expect(decodeFrame(frame)).toEqual({ kind: 'progress', entries: [...entries.slice(0, 3), { origin: 'y', time: 12, idle: false }] });
    expect(peekFrame(frame)).toEqual({ kind: 'progress', count: 4 });
    expect(() => decodeFrame(frame.subarray(0, frame.length - 3))).toThrow('truncated or corrupt progress frame');
    expect(decodeFrame(encodeFrame({ kind: 'end' }))).toEqual({ kind: 'end' });
    expect(peekFrame(encodeRecords([rec('a', 'b', 1)]))).toEqual({ kind: 'data', count: 1 });
  });

  it('records - splits batches to stay under a size limit', () => {
    const records = Array.from({ length: 1000 }, (_, i) => rec(`k${i}`, 'v'.repeat(100), i));
    const frames = encodeRecordFrames(records, 10_000);
    expect(frames.length).toBeGreaterThan(10);
    for (const f of frames) expect(f.length).toBeLessThanOrEqual(10_000);
    const back = frames.flatMap((f) => {
      const d = decodeFrame(f);
      return d.kind === 'data' ? d.records : [];
    });
    expect(back.map((r) => r.timestamp)).toEqual(records.map((r) => r.timestamp));
  });

  it.each([
    ['not a frame', new Uint8Array([1, 2, 3]), 'not an ssdk frame'],
    ['another version', new Uint8Array([0x53, 0x46, 9, 0, 0, 0, 0, 0]), 'unsupported frame version 9'],
    ['truncated', encodeRecords([rec('k', 'value', 1)]).subarray(0, 14), 'truncated or corrupt frame'],
  ])('records - rejects %s with a clear error', (_n, bytes, message) => {
    expect(() => decodeFrame(bytes)).toThrow(FrameError);
    expect(() => decodeFrame(bytes)).toThrow(message);
  });
});
