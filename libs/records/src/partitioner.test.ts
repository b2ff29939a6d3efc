import { describe, expect, it } from 'vitest';
import { fnv1a32, partitionOf, partitionOfText } from './partitioner.ts';

const te = new TextEncoder();

describe('records - partitioner', () => {
  it('records - FNV-1a matches the published test vectors', () => {
    expect(fnv1a32(te.encode(''))).toBe(0x811c9dc5);
    expect(fnv1a32(te.encode('a'))).toBe(0xe40c292c);
    expect(fnv1a32(te.encode('foobar'))).toBe(0xbf9cf968);
  });

  it('records - spreads keys over every partition, the same key always to the same one', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(te.encode(`word-${i}`), 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(partitionOf(te.encode('hello'), 8)).toBe(partitionOf(te.encode('hello'), 8));
  });
});

describe('records - partitioner over text', () => {
  it.each(['"hello"', '42', '"ünïcode"', ''])('records - %s hashes like its UTF-8 bytes', (k) => {
    for (const n of [1, 3, 8, 64]) expect(partitionOfText(k, n)).toBe(partitionOf(te.encode(k), n));
  });
});
