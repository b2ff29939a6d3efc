#!/usr/bin/env node
// Independent reference for examples/word-count: plain Node, no dependencies, no ssdk code.
// Reads input/sentences.jsonl and writes the golden outputs to expected/.
//
//   node reference.mjs                # recompute expected/ from input/
//   node reference.mjs --write-input  # regenerate input/ (seeded, deterministic), then expected/
//
// Semantics implemented here (see README.md):
// - words: lowercase, split on every non [a-z0-9] character, keep words of 3+ characters that
//   are not stop words; a word record keeps its sentence's timestamp.
// - word-totals: running total per word over all records (late ones included: count-words is
//   not windowed).
// - top-words: tumbling windows [start, start + 20 s), start = k * 20 s (offset 0). Watermark =
//   max event time seen - 2 s grace. A window is closed once watermark >= its end; a record whose
//   window is closed is late and goes to top-words.late-events. At end of input every window
//   flushes. Flush = top 3 words by count desc, ties by word ascending (code-unit order).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const STOP_WORDS = new Set(
  ('the and for with that this from are was were but not you your they them their its has have had ' +
    'into over than then there when what which who will would can our all any').split(' '),
);
const WINDOW_MS = 20_000;
const GRACE_MS = 2_000;

// ---------------------------------------------------------------------------------------------
// Input generation (only with --write-input)

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generateInput() {
  const rand = mulberry32(20250106);
  const pick = (items) => items[Math.floor(rand() * items.length)];
  // Skewed pick: earlier entries are more frequent (weight 1/(i+1)).
  const zipf = (items) => {
    const weights = items.map((_, i) => 1 / (i + 1));
    let r = rand() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < items.length; i++) {
      r -= weights[i];
      if (r < 0) return items[i];
    }
    return items[items.length - 1];
  };
  const nouns = ['river', 'harbor', 'bridge', 'lantern', 'ship', 'market', 'tide', 'tower', 'storm',
    'street', 'bell', 'ferry', 'gull', 'crew', 'dock', 'night', 'morning', 'rain', 'wind', 'fog'];
  const adjectives = ['old', 'quiet', 'bright', 'cold', 'distant', 'golden', 'heavy', 'small', 'grey', 'late'];
  const verbs = ['crosses', 'waits', 'rings', 'shines', 'drifts', 'opens', 'sails', 'returns', 'carries', 'falls'];
  const preps = ['over', 'under', 'into', 'near', 'past', 'by', 'along', 'toward'];
  const templates = [
    () => `The ${pick(adjectives)} ${zipf(nouns)} ${pick(verbs)} ${pick(preps)} the ${zipf(nouns)}.`,
    () => `A ${zipf(nouns)} ${pick(verbs)}, and the ${zipf(nouns)} ${pick(verbs)} too!`,
    () => `Is it the ${zipf(nouns)} or the ${pick(adjectives)} ${zipf(nouns)} that ${pick(verbs)}?`,
    () => `${cap(zipf(nouns))} at pier ${100 + Math.floor(rand() * 20)}: the ${zipf(nouns)} ${pick(verbs)} ${pick(preps)} our ${zipf(nouns)}.`,
    () => `They say the ${zipf(nouns)} ${pick(verbs)} when the ${pick(adjectives)} ${zipf(nouns)} ${pick(verbs)}.`,
    () => `${cap(pick(adjectives))} ${zipf(nouns)}; ${pick(adjectives)} ${zipf(nouns)} -- ${zipf(nouns)} of the ${zipf(nouns)}.`,
  ];
  function cap(s) {
    return s[0].toUpperCase() + s.slice(1);
  }

  const T0 = Date.UTC(2025, 0, 6, 9, 0, 0); // a whole minute: windows start at T0 + k * 20 s
  const lines = [];
  let maxT = 0;
  for (let i = 0; i < 200; i++) {
    const t = T0 + i * 600 + Math.floor(rand() * 400);
    maxT = Math.max(maxT, t);
    lines.push({ value: pick(templates)(), timestamp: t });
    // Out of order but within the grace period: its window is still open, so it counts.
    if (i === 77) lines.push({ value: 'Fog rolls back over the harbor.', timestamp: maxT - 1_500 });
    // Three sentences from a reconnecting source: their windows closed long ago -> late.
    if (i === 150) lines.push({ value: 'Delayed: the lighthouse keeper logs a lantern.', timestamp: T0 + 5_300 });
    if (i === 170) lines.push({ value: 'Delayed: seagull near lighthouse!', timestamp: T0 + 27_100 });
    if (i === 190) lines.push({ value: 'Delayed: keeper rings the lighthouse bell.', timestamp: T0 + 12_800 });
  }
  mkdirSync(join(here, 'input'), { recursive: true });
  writeFileSync(join(here, 'input/sentences.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------
// Reference computation

function readJsonl(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

function writeJsonl(path, values) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, values.map((v) => JSON.stringify(v) + '\n').join(''));
}

/** `{key: value}` with keys in code-unit order, written key by key (JS would hoist numeric keys). */
function writeSortedState(path, map) {
  mkdirSync(dirname(path), { recursive: true });
  const keys = [...map.keys()].map(String).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const body = keys.map((k) => `  ${JSON.stringify(k)}: ${JSON.stringify(map.get(k))}`).join(',\n');
  writeFileSync(path, keys.length === 0 ? '{}\n' : `{\n${body}\n}\n`);
}

function byWord(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compute() {
  const sentences = readJsonl(join(here, 'input/sentences.jsonl'));

  const words = []; // sink topic `words`
  const totals = new Map(); // state word-totals
  const windows = new Map(); // window start -> Map(word -> count)
  const late = []; // top-words.late-events
  let maxEventTime = -Infinity;

  for (const record of sentences) {
    const tokens = record.value.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w !== '');
    const kept = tokens.filter((w) => w.length >= 3 && !STOP_WORDS.has(w));
    for (const word of kept) {
      // count-words
      totals.set(word, (totals.get(word) ?? 0) + 1);
      words.push(word);

      // top-words: event time = the record's timestamp
      const t = record.timestamp;
      maxEventTime = Math.max(maxEventTime, t);
      const watermark = maxEventTime - GRACE_MS;
      const start = Math.floor(t / WINDOW_MS) * WINDOW_MS;
      if (start + WINDOW_MS <= watermark) {
        late.push(word);
        continue;
      }
      if (!windows.has(start)) windows.set(start, new Map());
      const counts = windows.get(start);
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }

  const topWords = [...windows.keys()]
    .sort((a, b) => a - b)
    .map((start) =>
      [...windows.get(start)]
        .map(([word, count]) => ({ word, count }))
        .sort((a, b) => b.count - a.count || byWord(a.word, b.word))
        .slice(0, 3),
    );

  writeJsonl(join(here, 'expected/words.jsonl'), words);
  writeJsonl(join(here, 'expected/top-words.jsonl'), topWords);
  writeJsonl(join(here, 'expected/top-words.late-events.jsonl'), late);
  writeSortedState(join(here, 'expected/state/word-totals.json'), totals);

  const summary = {
    sentences: sentences.length,
    words: words.length,
    distinctWords: totals.size,
    windows: topWords.length,
    lateWords: late.length,
  };
  console.log(`word-count: ${JSON.stringify(summary)}`);
}

if (process.argv.includes('--write-input')) generateInput();
compute();
