/**
 * An array of `room` empty places that holds references from birth (V8's elements kind for any
 * value), not one that becomes such an array on its first store. A fresh array (an empty literal,
 * `new Array(n)`) is an array of small integers, or of doubles once it holds only numbers, until
 * something else comes:
 * - optimised code that stored into it was thrown away when it changed kind ("not a Smi": a state's
 *   lists of changed cells, embedded `produce`'s lists of batches), and stores that met arrays of
 *   both kinds went megamorphic (a carried batch's columns: ~1% of a word count's CPU);
 * - an array of doubles stores numbers unboxed, so each read of a time (beyond the small-integer
 *   range) made a number object of its own (a carried batch's times: 16 bytes per record per hop,
 *   ~3% of a word count's allocation); one of references shares the number it was given (numbers
 *   never change in place).
 */
export function referenceArray<T>(room: number): T[] {
  const made = new Array<T>(room);
  (made as unknown[])[0] = null;
  made.length = room;
  return made;
}
