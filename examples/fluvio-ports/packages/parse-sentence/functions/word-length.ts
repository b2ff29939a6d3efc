// Port of packages/parse-sentence/rust/parse-sentence/src/word_length.rs: `chars().count()`
// counts Unicode scalar values, which iterating a string yields (not UTF-16 units).
export function wordLength(word: string): number {
  return [...word].length;
}
