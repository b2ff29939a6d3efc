#!/usr/bin/env node
// Independent reference for examples/word-probe: plain Node, no dependencies, no ssdk code.
// Reads input/sentences.jsonl and input/probes.jsonl, writes the golden outputs to expected/.
//
//   node reference.mjs                # recompute expected/ from input/
//   node reference.mjs --write-input  # regenerate input/ (seeded, deterministic), then expected/
//
// Semantics implemented here (see README.md): every sentence is counted (and its state committed)
// before the first probe is looked up. Words are the lowercase runs of [a-z0-9] (no filtering).
// A probe is trimmed and lowercased; its answer is {word, count} with count 0 for an unseen word.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

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
  const rand = mulberry32(1_234_567);
  const pick = (items) => items[Math.floor(rand() * items.length)];
  const subjects = ['The orchard', 'A beekeeper', 'The miller', 'Our neighbour', 'The old orchard', 'A farmer'];
  const verbs = ['gathers', 'sells', 'counts', 'stores', 'presses', 'carries'];
  const objects = ['apples', 'pears', 'honey', 'cider', 'plums', 'apples and pears', 'honey and cider'];
  const tails = ['at dawn.', 'before the frost.', 'in the market!', 'for the winter.', 'every morning.', '-- twice, if lucky.'];
  const T0 = Date.UTC(2025, 0, 6, 10, 0, 0);
  const sentences = [];
  for (let i = 0; i < 60; i++) {
    sentences.push({
      value: `${pick(subjects)} ${pick(verbs)} ${pick(objects)} ${pick(tails)}`,
      timestamp: T0 + i * 1_000,
    });
  }
  // Probes come after every sentence. Mixed case and padding are normalised by lookup-word;
  // a few words never occur (count 0).
  const probes = ['apples', 'Honey', 'pears', 'cider', 'PLUMS', 'orchard', 'frost', 'market', ' winter ',
    'beekeeper', 'miller', 'farmer', 'the', 'and', 'at', 'twice', 'lucky', 'apples',
    'grapes', 'vinegar', 'harvest', 'Orchard', 'dawn'];
  const T1 = T0 + 120_000;
  mkdirSync(join(here, 'input'), { recursive: true });
  writeFileSync(join(here, 'input/sentences.jsonl'), sentences.map((s) => JSON.stringify(s) + '\n').join(''));
  writeFileSync(
    join(here, 'input/probes.jsonl'),
    probes.map((p, i) => JSON.stringify({ value: p, timestamp: T1 + i * 500 }) + '\n').join(''),
  );
}

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

function writeSortedState(path, map) {
  mkdirSync(dirname(path), { recursive: true });
  const keys = [...map.keys()].map(String).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const body = keys.map((k) => `  ${JSON.stringify(k)}: ${JSON.stringify(map.get(k))}`).join(',\n');
  writeFileSync(path, keys.length === 0 ? '{}\n' : `{\n${body}\n}\n`);
}

function compute() {
  const sentences = readJsonl(join(here, 'input/sentences.jsonl'));
  const probes = readJsonl(join(here, 'input/probes.jsonl'));

  const counts = new Map();
  for (const { value } of sentences) {
    for (const word of value.toLowerCase().split(/[^a-z0-9]+/)) {
      if (word === '') continue;
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const answers = probes.map(({ value }) => {
    const word = value.trim().toLowerCase();
    return { word, count: counts.get(word) ?? 0 };
  });
  const state = new Map([...counts].map(([word, count]) => [word, { count }]));

  writeJsonl(join(here, 'expected/word-counts.jsonl'), answers);
  writeSortedState(join(here, 'expected/state/count-per-word.json'), state);
  console.log(
    `word-probe: ${JSON.stringify({ sentences: sentences.length, probes: probes.length, answers: answers.length, distinctWords: counts.size })}`,
  );
}

if (process.argv.includes('--write-input')) generateInput();
compute();
