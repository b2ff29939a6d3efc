/**
 * Which partition a key goes to: FNV-1a (32-bit) of the key bytes, modulo the partition count.
 * Stable across processes, languages and restarts (the same key always lands on the same
 * partition, so keyed state lives in one place). Records without a key are spread by the
 * producer (round-robin), which this module leaves to the caller.
 */
export function partitionOf(key: Uint8Array, partitions: number): number {
  return fnv1a32(key) % partitions;
}

export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** `partitionOf` for a key held as text: hashes its UTF-8 bytes without allocating for ASCII. */
export function partitionOfText(key: string, partitions: number): number {
  if (partitions === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return partitionOf(new TextEncoder().encode(key), partitions);
    h ^= c;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
