/**
 * UTF-8 for short strings, in JavaScript. Records are mostly small ASCII JSON texts, and for
 * those a loop beats a native TextEncoder/TextDecoder call (measured: TextEncoder.encode was
 * the largest single cost of the host loop, ~1 µs per record).
 */

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** UTF-8 byte length of `s`. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      // A surrogate pair: 2 UTF-16 units, 4 bytes.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

/** Writes `s` (whose UTF-8 length is `len`) at `at`; returns the position after it. */
export function writeUtf8(buf: Uint8Array, at: number, s: string, len: number): number {
  if (len === s.length) {
    for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
    return at + len;
  }
  const r = encoder.encodeInto(s, buf.subarray(at, at + len));
  return at + r.written;
}

/** Decodes UTF-8, rejecting invalid sequences (a fatal decoder), with a fast path for ASCII. */
export function readUtf8(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n < 256) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return decoder.decode(bytes);
}
