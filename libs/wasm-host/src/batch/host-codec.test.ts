import { describe, expect, it } from 'vitest';
import { decodeOutput, encodeInput, WindowTable } from './host-codec.ts';
import { FLAG_NO_TABLE, HEADER_BYTES, H_FLAGS, H_META, H_META_LEN, H_VALUES, H_VALUES_LEN, UNCHANGED, readU32, writeU32 } from './layout.ts';

const td = new TextDecoder();
const te = new TextEncoder();

describe('wasm-host - batch encoding', () => {
  const inputs = [
    { key: 'a', value: { n: 1, s: 'ü' }, timestamp: 5 },
    { key: null, value: 'x', timestamp: -3, window: { start: 0, end: 10 } },
    { key: 7, value: [1, 2], timestamp: 2 ** 40 },
  ];

  it('wasm-host - the table locates each value inside one JSON array text', () => {
    const f = encodeInput(inputs, { steps: [['s.f', 'map', 0, null, null]], windows: new WindowTable() });
    const va = readU32(f, H_VALUES);
    expect(JSON.parse(td.decode(f.subarray(va, va + readU32(f, H_VALUES_LEN))))).toEqual(inputs.map((r) => r.value));
    inputs.forEach((r, i) => {
      const at = readU32(f, HEADER_BYTES + i * 8);
      expect(JSON.parse(td.decode(f.subarray(at, at + readU32(f, HEADER_BYTES + i * 8 + 4))))).toEqual(r.value);
    });
    const meta = JSON.parse(td.decode(f.subarray(readU32(f, H_META), readU32(f, H_META) + readU32(f, H_META_LEN))));
    expect(meta).toEqual({ s: [['s.f', 'map', 0, null, null]], t: [5, -3, 2 ** 40], k: ['a', null, 7], wi: [-1, 0, -1], w: [[0, 10]] });
  });

  it('wasm-host - without a table (JavaScript guests) the values are one array and the flag says so', () => {
    const f = encodeInput(inputs, { steps: [], windows: new WindowTable(), table: false });
    expect(readU32(f, H_FLAGS)).toBe(FLAG_NO_TABLE);
    expect(readU32(f, H_VALUES)).toBe(HEADER_BYTES);
    const va = readU32(f, H_VALUES);
    expect(JSON.parse(td.decode(f.subarray(va, va + readU32(f, H_VALUES_LEN))))).toEqual(inputs.map((r) => r.value));
  });

  it('wasm-host - bytes values cross tagged when asked, and come back as Uint8Array', () => {
    const f = encodeInput([{ key: null, value: { b: new Uint8Array([1, 2, 255]) }, timestamp: 0 }], { steps: [], windows: new WindowTable(), bytes: true });
    const va = readU32(f, H_VALUES);
    expect(td.decode(f.subarray(va, va + readU32(f, H_VALUES_LEN)))).toBe('[{"b":{"$bytes":"AQL/"}}]');
    const out = output([[0, 0]], '[{"b":{"$bytes":"AQL/"}}]', '');
    expect(decodeOutput(out).rows[0]!.value).toEqual({ b: new Uint8Array([1, 2, 255]) });
  });

  it('wasm-host - an answer: unchanged rows, new values and meta', () => {
    const out = output([[0, UNCHANGED], [2, 0], [2, 1]], '[{"m":1},"z"]', '{"o":[[1,"k",9]],"f":[[1,"s.f","boom",null,null,0,"x"]]}');
    const d = decodeOutput(out);
    expect(d.rows).toEqual([
      { input: 0, value: undefined, unchanged: true },
      { input: 2, value: { m: 1 }, unchanged: false },
      { input: 2, value: 'z', unchanged: false },
    ]);
    expect(d.meta.o).toEqual([[1, 'k', 9]]);
    expect(d.meta.f![0]![2]).toBe('boom');
  });

  it('wasm-host - a malformed answer is refused, not misread', () => {
    expect(() => decodeOutput(new Uint8Array(8))).toThrow(/unknown batch format/);
    const out = output([[0, 5]], '[1]', '');
    expect(() => decodeOutput(out)).toThrow(/names value 5 of 1/);
  });
});

function output(rows: Array<[number, number]>, values: string, meta: string): Uint8Array {
  const v = te.encode(values);
  const m = te.encode(meta);
  const tableEnd = HEADER_BYTES + rows.length * 8;
  const b = new Uint8Array(tableEnd + v.length + m.length);
  writeU32(b, 0, 1);
  writeU32(b, 4, rows.length);
  writeU32(b, 8, HEADER_BYTES);
  writeU32(b, H_VALUES, tableEnd);
  writeU32(b, H_VALUES_LEN, v.length);
  writeU32(b, H_META, tableEnd + v.length);
  writeU32(b, H_META_LEN, m.length);
  rows.forEach(([i, r], k) => {
    writeU32(b, HEADER_BYTES + k * 8, i);
    writeU32(b, HEADER_BYTES + k * 8 + 4, r);
  });
  b.set(v, tableEnd);
  b.set(m, tableEnd + v.length);
  return b;
}
