import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { compileNexmarkOptions, nexmarkEvent, nexmarkEventTime } from '@ssdk/nexmark';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export const nexmarkSpec: CommandSpec = {
  name: 'nexmark',
  summary: 'Write Nexmark benchmark events (persons, auctions, bids; deterministic per seed) as JSON lines.',
  usage: 'ssdk nexmark [--events N] [--seed S] [--rate EVENTS_PER_S] [--output FILE]',
  options: {
    events: { type: 'string', short: 'n', valueName: 'N', description: 'how many events', default: '10000' },
    seed: { type: 'string', valueName: 'S', description: 'seed of every random choice (same seed, same events)', default: '0' },
    first: { type: 'string', valueName: 'N', description: 'number of the first event (to continue a stream)', default: '0' },
    rate: { type: 'string', valueName: 'N', description: 'events per second of event time', default: '10000' },
    'base-time': { type: 'string', valueName: 'MS', description: 'event time of event 0, epoch ms (default 2025-01-01T00:00:00Z)' },
    values: { type: 'boolean', description: 'bare values, one per line (default: records {"timestamp", "value"}, timestamp = dateTime)' },
    output: { type: 'string', short: 'o', valueName: 'FILE', description: 'write here instead of standard output' },
  },
  maxPositionals: 0,
  examples: [
    'ssdk nexmark --events 5000 --rate 100 --seed 1 --output events.jsonl',
    'ssdk run examples/nexmark/q5/services.yaml --input events=events.jsonl --records --output-dir out/q5 --until-idle',
  ],
};

/** Lines go out in chunks: one write per ~1,000 events, not per event. */
const CHUNK = 1000;

export async function runNexmark(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const count = wholeNumber(cmd, 'events');
  const first = wholeNumber(cmd, 'first');
  const seed = Number(cmd.values['seed']);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed takes an integer, got \`${String(cmd.values['seed'])}\``, 'nexmark');
  const rate = Number(cmd.values['rate']);
  if (!(rate > 0) || !Number.isFinite(rate)) throw new UsageError(`--rate takes a positive number, got \`${String(cmd.values['rate'])}\``, 'nexmark');
  const baseTimeFlag = cmd.values['base-time'];
  const baseTime = typeof baseTimeFlag === 'string' ? Number(baseTimeFlag) : undefined;
  if (baseTime !== undefined && !Number.isSafeInteger(baseTime)) throw new UsageError(`--base-time takes epoch milliseconds, got \`${String(baseTimeFlag)}\``, 'nexmark');
  const options = compileNexmarkOptions({ seed, eventsPerSecond: rate, ...(baseTime !== undefined ? { baseTime } : {}) });
  const bare = cmd.values['values'] === true;

  const output = cmd.values['output'];
  const stream = typeof output === 'string' ? createWriteStream(resolve(io.cwd, output)) : undefined;
  const write = async (text: string): Promise<void> => {
    if (!stream) return io.out(text);
    if (!stream.write(text)) await once(stream, 'drain');
  };
  for (let n = first; n < first + count; n += CHUNK) {
    let text = '';
    for (let i = n; i < Math.min(n + CHUNK, first + count); i++) {
      const event = nexmarkEvent(i, options);
      text += bare ? `${JSON.stringify(event)}\n` : `{"timestamp":${nexmarkEventTime(event)},"value":${JSON.stringify(event)}}\n`;
    }
    await write(text);
  }
  if (stream) {
    stream.end();
    await once(stream, 'finish');
  }
  return EXIT_OK;
}

function wholeNumber(cmd: ParsedCommand, name: string): number {
  const n = Number(cmd.values[name]);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} takes a whole number, got \`${String(cmd.values[name])}\``, 'nexmark');
  return n;
}
