// Profiling guest: input[0] selects how much of the per-record work to do; rest is a frame.
import { Reader, Writer, utf8Decode, utf8Encode, FRAME_VERSION } from './frame';
import { isBig } from './functions';
export function process(input: Uint8Array): Uint8Array {
  const mode = input[0];
  const body = input.subarray(1);
  if (mode === 0) return new Uint8Array(8); // boundary only (input copied in, tiny out)
  if (mode === 1) return body; // input copied in and out
  const rd = new Reader(body);
  rd.u8();
  const n = rd.u32();
  let acc = 0;
  const w = new Writer(body.length + 64);
  for (let i = 0; i < n; i++) {
    const start = rd.pos;
    const rec = rd.record(); // 2: frame decode
    if (mode >= 3) {
      const s = utf8Decode(rec.value); // 3: + utf8 decode
      if (mode >= 4) {
        const v = JSON.parse(s); // 4: + JSON.parse
        const keep = isBig(v); // 5: + fn
        if (mode === 5 && keep) { w.u32(i); w.bytes(body.subarray(start, rd.pos)); } // raw copy of record
        if (mode === 6 && keep) { w.u32(i); w.record(rec); } // re-encode record
        if (mode === 7) { const o = utf8Encode(JSON.stringify(v)); acc += o.length; } // stringify + utf8 encode
        if (mode === 8) { const o = JSON.stringify(v); acc += o.length; } // stringify only
      } else acc += s.length;
    } else acc += rec.value.length;
  }
  w.u32(acc);
  return w.finish();
}
