// Port of packages/parse-sentence/rust/parse-sentence/src/sentence_to_words.rs:
// Rust's `split_whitespace` (Unicode White_Space runs; no empty pieces).
export function sentenceToWords(sentence: string): string[] {
  return sentence.split(/\p{White_Space}+/u).filter((word) => word.length > 0);
}
