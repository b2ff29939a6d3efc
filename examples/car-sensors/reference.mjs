#!/usr/bin/env node
// Independent reference for examples/car-sensors: plain Node, no dependencies, no ssdk code.
// Reads input/car-readings.jsonl and writes the golden outputs to expected/.
//
//   node reference.mjs                # recompute expected/ from input/
//   node reference.mjs --write-input  # regenerate input/ (seeded, deterministic), then expected/
//
// Semantics implemented here (see README.md):
// - valid reading: car not empty, 0 <= kph <= 250, 0 <= fuel <= 100.
// - car event: mph = Math.round(kph * 0.621371); speeding = mph > 70.
// - speeding-events / normal-events: the valid events split on `speeding`.
// - speeding-per-car: number of speeding events per car (final state).
// - speed-window: event time = the reading's own `time` field (not the record timestamp).
//   Sliding windows [start, start + 60 s) for every start that is a multiple of 20 s with
//   start <= t < start + 60 s. Watermark = max event time seen - 5 s grace; a window is closed
//   once watermark >= its end. A record goes to the windows that are still open; if all of its
//   windows are closed it is late (speed-window.late-events, value = the car event). At end of
//   input every window flushes, in start order. Per car: avg = round2(total mph / readings).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const DURATION_MS = 60_000;
const SLIDE_MS = 20_000;
const GRACE_MS = 5_000;
const SPEED_LIMIT_MPH = 70;

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
  const rand = mulberry32(7_2025);
  const round1 = (x) => Math.round(x * 10) / 10;
  const T0 = Date.UTC(2025, 0, 6, 9, 0, 0); // a whole minute, so window starts line up with it
  const baseKph = [62, 88, 105, 74, 128, 96, 112, 81];
  const records = [];
  baseKph.forEach((base, i) => {
    const car = `CAR-0${i + 1}`;
    let kph = base;
    let fuel = round1(20 + rand() * 75);
    for (let k = 0; ; k++) {
      const time = T0 + i * 310 + k * 2_500;
      if (time >= T0 + 180_000) break;
      kph = Math.min(200, Math.max(0, kph + (rand() - 0.5) * 12));
      fuel = Math.max(0, round1(fuel - 0.05 - rand() * 0.1));
      const reading = { car, time, kph: round1(kph), fuel };
      // Faulty sensors: these readings must be filtered out.
      const fault = rand();
      if (fault < 0.006) reading.kph = -1;
      else if (fault < 0.012) reading.kph = 412.3;
      else if (fault < 0.018) reading.fuel = 117.5;
      else if (fault < 0.024) reading.fuel = -2;
      const delay = Math.floor(rand() * 900); // ingest delay: record timestamp > reading time
      records.push({ key: car, value: reading, timestamp: time + delay });
    }
  });
  // CAR-07 was offline and replays two buffered readings much later: their reading times are in
  // windows that closed long ago, so speed-window reports them as late.
  records.push({
    key: 'CAR-07',
    value: { car: 'CAR-07', time: T0 + 10_400, kph: 97.4, fuel: 61.2 },
    timestamp: T0 + 150_123,
  });
  records.push({
    key: 'CAR-07',
    value: { car: 'CAR-07', time: T0 + 71_900, kph: 118.6, fuel: 58.9 },
    timestamp: T0 + 165_456,
  });
  records.sort((a, b) => a.timestamp - b.timestamp || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  mkdirSync(join(here, 'input'), { recursive: true });
  writeFileSync(join(here, 'input/car-readings.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
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

function writeSortedState(path, map) {
  mkdirSync(dirname(path), { recursive: true });
  const keys = [...map.keys()].map(String).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const body = keys.map((k) => `  ${JSON.stringify(k)}: ${JSON.stringify(map.get(k))}`).join(',\n');
  writeFileSync(path, keys.length === 0 ? '{}\n' : `{\n${body}\n}\n`);
}

const isValid = (r) =>
  r.car !== '' && r.kph >= 0 && r.kph <= 250 && r.fuel >= 0 && r.fuel <= 100;

function toEvent(r) {
  const mph = Math.round(r.kph * 0.621371);
  return { car: r.car, time: r.time, mph, fuel: r.fuel, speeding: mph > SPEED_LIMIT_MPH };
}

function compute() {
  const readings = readJsonl(join(here, 'input/car-readings.jsonl'));

  const speeding = [];
  const normal = [];
  const speedingPerCar = new Map();
  const windows = new Map(); // start -> Map(car -> {total, count})
  const late = [];
  let maxEventTime = -Infinity;
  let invalid = 0;

  for (const record of readings) {
    if (!isValid(record.value)) {
      invalid++;
      continue;
    }
    const event = toEvent(record.value);

    // route-readings + speeding-counter
    if (event.speeding) {
      speeding.push(event);
      speedingPerCar.set(event.car, (speedingPerCar.get(event.car) ?? 0) + 1);
    } else {
      normal.push(event);
    }

    // speed-window
    const t = event.time;
    maxEventTime = Math.max(maxEventTime, t);
    const watermark = maxEventTime - GRACE_MS;
    const open = [];
    for (let start = Math.floor(t / SLIDE_MS) * SLIDE_MS; start + DURATION_MS > t; start -= SLIDE_MS) {
      if (start + DURATION_MS > watermark) open.push(start);
    }
    if (open.length === 0) {
      late.push(event);
      continue;
    }
    for (const start of open) {
      if (!windows.has(start)) windows.set(start, new Map());
      const stats = windows.get(start);
      const row = stats.get(event.car) ?? { total: 0, count: 0 };
      stats.set(event.car, { total: row.total + event.mph, count: row.count + 1 });
    }
  }

  const windowSpeeds = [...windows.keys()]
    .sort((a, b) => a - b)
    .map((start) => ({
      start,
      end: start + DURATION_MS,
      cars: [...windows.get(start)]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([car, { total, count }]) => ({
          car,
          avg: Math.round((total / count) * 100) / 100,
          readings: count,
        })),
    }));

  writeJsonl(join(here, 'expected/speeding-events.jsonl'), speeding);
  writeJsonl(join(here, 'expected/normal-events.jsonl'), normal);
  writeJsonl(join(here, 'expected/window-speeds.jsonl'), windowSpeeds);
  writeJsonl(join(here, 'expected/speed-window.late-events.jsonl'), late);
  writeSortedState(join(here, 'expected/state/speeding-per-car.json'), speedingPerCar);

  const summary = {
    readings: readings.length,
    invalid,
    speeding: speeding.length,
    normal: normal.length,
    windows: windowSpeeds.length,
    late: late.length,
  };
  console.log(`car-sensors: ${JSON.stringify(summary)}`);
}

if (process.argv.includes('--write-input')) generateInput();
compute();
