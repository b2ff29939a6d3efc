/**
 * UTF-8 for short strings, the keys and values of records. Node's Buffer methods, called on any
 * Uint8Array (a view into a frame, no copy), are the fastest way both ways: measured per short
 * value, `utf8Slice` takes ~80 ns where a `String.fromCharCode` loop took ~200 ns (and
 * `isAscii` + `latin1Slice` ~130 ns), `utf8Write` ~50-90 ns where `TextEncoder.encodeInto` took
 * ~100 ns; but short ASCII (a word, a key) is written quicker by a loop than by any call.
 */
import { Buffer, isUtf8 } from 'node:buffer';

/** Buffer's own UTF-8 methods, which work on any Uint8Array `this`. */
interface NativeUtf8 {
  utf8Slice(this: Uint8Array, start: number, end: number): string;
  utf8Write(this: Uint8Array, s: string, at: number, length: number): number;
}
const native = Buffer.prototype as unknown as NativeUtf8;

/** UTF-8 byte length of `s` (a lone surrogate counts as the 3 bytes of U+FFFD, as it is written). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Up to this many characters, ASCII is copied by a loop: a call into `utf8Write` costs ~90 ns
 * whatever the length, the loop ~25 ns for 8 characters and as much as the call at ~32.
 */
const SHORT_ASCII = 24;

/** Writes `s` (whose UTF-8 length is `len`) at `at`; returns the position after it. */
export function writeUtf8(buf: Uint8Array, at: number, s: string, len: number): number {
  // As many bytes as UTF-16 units: every unit is ASCII (any other takes 2 bytes or more).
  if (len === s.length && len <= SHORT_ASCII) {
    for (let i = 0; i < len; i++) buf[at + i] = s.charCodeAt(i);
    return at + len;
  }
  return at + native.utf8Write.call(buf, s, at, len);
}

/** Decodes UTF-8, rejecting invalid sequences (as a fatal decoder does) instead of replacing them. */
export function readUtf8(bytes: Uint8Array): string {
  const s = native.utf8Slice.call(bytes, 0, bytes.length);
  // `utf8Slice` replaces what is not UTF-8 with U+FFFD: only then is a (slower) check needed.
  if (s.includes('\uFFFD') && !isUtf8(bytes)) throw new TypeError('The encoded data was not valid for encoding utf-8');
  return s;
}
