// The independent reference for the three ports: plain Node, no dependencies, no ssdk code. It
// reads each example's input/ and writes its expected/ — what the Rust functions of InfinyOn's
// examples compute, written from their Rust source (Rust's `split_whitespace`, `is_alphanumeric`,
// `to_lowercase`, `chars().count()`, and the regex `\d{3}-\d{2}-\d{4}`), not from the ports.
//   node examples/fluvio-ports/reference.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const read = (dir, topic) =>
  readFileSync(join(here, dir, 'input', `${topic}.jsonl`), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line).value);
const write = (dir, topic, values) => writeFileSync(join(here, dir, 'expected', `${topic}.jsonl`), values.map((v) => `${JSON.stringify(v)}\n`).join(''));

// Rust: char::is_whitespace is Unicode White_Space; char::is_alphanumeric is Alphabetic or N*.
const isWhitespace = (c) => /\p{White_Space}/u.test(c);
const isAlphanumeric = (c) => /[\p{Alphabetic}\p{N}]/u.test(c);
function splitWhitespace(text) {
  const words = [];
  let word = '';
  for (const c of text) {
    if (isWhitespace(c)) {
      if (word) words.push(word);
      word = '';
    } else word += c;
  }
  if (word) words.push(word);
  return words;
}
const keepAlphanumeric = (word) => [...word].filter(isAlphanumeric).join('');

// split-sentence: sentence-to-words (flat-map) → words; word-length (map) → word-counts.
{
  const dir = 'dataflows/split-sentence/package-variant';
  const words = read(dir, 'sentences').flatMap(splitWhitespace);
  write(dir, 'words', words);
  write(dir, 'word-counts', words.map((w) => [...w].length));
}

// mask-user-pii: every ASCII-digit-or-other-decimal-digit ddd-dd-dddd, left to right, not overlapping.
{
  const dir = 'dataflows/mask-user-pii/package-variant';
  const isDigit = (c) => /\p{Nd}/u.test(c);
  const shape = 'ddd-dd-dddd';
  const mask = (text) => {
    const cs = [...text];
    let out = '';
    for (let i = 0; i < cs.length; ) {
      const fits = i + shape.length <= cs.length && [...shape].every((s, j) => (s === 'd' ? isDigit(cs[i + j]) : cs[i + j] === '-'));
      if (fits) {
        out += '***-**-****';
        i += shape.length;
      } else out += cs[i++];
    }
    return out;
  };
  write(dir, 'masked', read(dir, 'user-info').map(mask));
}

// sql/join: both sources counted per lowercased alphanumeric word; each probe word (as written,
// not lowercased: the look-up service has no assign-key) answered with the sum of both counts.
{
  const dir = 'primitives/sql/join';
  const count = (topic) => {
    const counts = new Map();
    for (const w of read(dir, topic).flatMap(splitWhitespace).map(keepAlphanumeric).filter(Boolean)) {
      const key = keepAlphanumeric(w.toLowerCase());
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  const a = count('source-a');
  const b = count('source-b');
  // SUM over no matching row is NULL; the port answers 0 for it (the Rust reads NULL as an error).
  const probes = read(dir, 'probe-word').flatMap(splitWhitespace).map(keepAlphanumeric).filter(Boolean);
  write(dir, 'word-count', probes.map((key) => `key: \`${key}\` count: ${(a.get(key) ?? 0) + (b.get(key) ?? 0)}`));
}
