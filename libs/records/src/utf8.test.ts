import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeRecords } from './frame.ts';
import { readUtf8, utf8Length, writeUtf8 } from './utf8.ts';

describe('records - utf-8', () => {
  it.each(['', 'plain ascii', 'ünïcödé', '日本語', 'emoji 🚗 and 🌉', 'x'.repeat(300) + 'é'])('records - %s round-trips with the right length', (s) => {
    const len = utf8Length(s);
    expect(len).toBe(new TextEncoder().encode(s).length);
    const buf = new Uint8Array(len + 2);
    expect(writeUtf8(buf, 1, s, len)).toBe(len + 1);
    expect(readUtf8(buf.subarray(1, len + 1))).toBe(s);
  });

  it.each(['\uD800', 'a\uDC00b', 'x\uD83D'])('records - a lone surrogate (%j) is measured and written as U+FFFD', (s) => {
    const len = utf8Length(s);
    expect(len).toBe(new TextEncoder().encode(s).length);
    const buf = new Uint8Array(len);
    expect(writeUtf8(buf, 0, s, len)).toBe(len);
    expect(readUtf8(buf)).toBe(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  });

  it('records - short and long text is written in place, and nothing around it', () => {
    // Short ASCII is copied by a loop, the rest by Buffer: both sides of the threshold, and
    // short text that is not ASCII.
    for (const s of ['', 'a', 'word', 'x'.repeat(23), 'y'.repeat(24), 'z'.repeat(25), 'é', 'clé', 'a🚗', '\u007f\u0000~']) {
      const len = utf8Length(s);
      const buf = new Uint8Array(len + 4).fill(0xee);
      expect(writeUtf8(buf, 2, s, len)).toBe(len + 2);
      expect([...buf.subarray(2, len + 2)]).toEqual([...new TextEncoder().encode(s)]);
      expect([buf[0], buf[1], buf[len + 2], buf[len + 3]]).toEqual([0xee, 0xee, 0xee, 0xee]);
    }
  });

  it('records - a U+FFFD that was sent is kept', () => {
    expect(readUtf8(new TextEncoder().encode('a\uFFFDb'))).toBe('a\uFFFDb');
  });

  it('records - invalid UTF-8 is rejected, not replaced', () => {
    expect(() => readUtf8(new Uint8Array([0x61, 0xff, 0x62]))).toThrow();
  });

  it('records - string keys and values are written into frames as UTF-8', () => {
    const f = decodeFrame(encodeRecords([{ key: '"clé"', value: '{"v":"🚗"}', timestamp: 1 }]));
    if (f.kind !== 'data') throw new Error('not data');
    expect(readUtf8(f.records[0]!.key!)).toBe('"clé"');
    expect(readUtf8(f.records[0]!.value)).toBe('{"v":"🚗"}');
  });
});
