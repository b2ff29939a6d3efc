#!/usr/bin/env node
// Independent reference for examples/page-views: plain Node, no dependencies, no ssdk code.
// Reads input/page-views.jsonl and writes the golden output to expected/.
//
//   node reference.mjs                # recompute expected/ from input/
//   node reference.mjs --write-input  # regenerate input/ (seeded, deterministic), then expected/
//
// Semantics implemented here (see README.md): views whose agent matches /bot|crawler|spider/i are
// dropped; tumbling windows [start, start + 30 s), start = k * 30 s; event time = the record
// timestamp. The file declares no watermark (grace 0); the input is in timestamp order, so no
// record is late whatever the grace. Flush: every page of the window, views desc, page asc.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const WINDOW_MS = 30_000;

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
  const rand = mulberry32(30_000);
  const pages = ['/', '/pricing', '/docs', '/docs/quickstart', '/blog/windows', '/careers'];
  const agents = ['Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0', 'Mozilla/5.0 (Macintosh) Safari/605.1',
    'Mozilla/5.0 (Windows NT 10.0) Chrome/131.0', 'Googlebot/2.1 (+http://www.google.com/bot.html)',
    'ExampleCrawler/1.0'];
  const T0 = Date.UTC(2025, 0, 6, 14, 0, 0);
  const lines = [];
  let t = T0;
  for (let i = 0; i < 150; i++) {
    t += 200 + Math.floor(rand() * 1_600);
    const page = pages[Math.min(pages.length - 1, Math.floor(rand() * rand() * pages.length * 1.5))];
    const agent = rand() < 0.15 ? agents[3 + Math.floor(rand() * 2)] : agents[Math.floor(rand() * 3)];
    lines.push({ value: { page, user: `u${100 + Math.floor(rand() * 40)}`, agent }, timestamp: t });
  }
  mkdirSync(join(here, 'input'), { recursive: true });
  writeFileSync(join(here, 'input/page-views.jsonl'), lines.map((l) => JSON.stringify(l) + '\n').join(''));
}

function readJsonl(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

function compute() {
  const views = readJsonl(join(here, 'input/page-views.jsonl'));
  const windows = new Map();
  let bots = 0;
  for (const { value, timestamp } of views) {
    if (/bot|crawler|spider/i.test(value.agent)) {
      bots++;
      continue;
    }
    const start = Math.floor(timestamp / WINDOW_MS) * WINDOW_MS;
    if (!windows.has(start)) windows.set(start, new Map());
    const counts = windows.get(start);
    counts.set(value.page, (counts.get(value.page) ?? 0) + 1);
  }
  const out = [...windows.keys()]
    .sort((a, b) => a - b)
    .map((start) =>
      [...windows.get(start)]
        .map(([page, n]) => ({ page, views: n }))
        .sort((a, b) => b.views - a.views || (a.page < b.page ? -1 : a.page > b.page ? 1 : 0)),
    );
  mkdirSync(join(here, 'expected'), { recursive: true });
  writeFileSync(join(here, 'expected/views-per-page.jsonl'), out.map((v) => JSON.stringify(v) + '\n').join(''));
  console.log(`page-views: ${JSON.stringify({ views: views.length, bots, windows: out.length })}`);
}

if (process.argv.includes('--write-input')) generateInput();
compute();
