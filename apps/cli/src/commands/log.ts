/**
 * `ssdk log` — the functions' `ctx.log` lines, each with its operator, partition and offset (the
 * sequence of the input batch it came from). An embedded run (`ssdk run`) stores them in
 * `.ssdk/logs/functions.jsonl`; operator services publish them to the dataflow's log topic on
 * NATS (`<prefix>.<ns>.<name>.log.0`). `-f` keeps printing new lines until interrupted.
 */
import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createNatsBus, type Bus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, readUtf8 } from '@ssdk/records';
import { logTopicOf, type LogLine } from '@ssdk/runtime';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { serverFlags } from '../distributed.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { embeddedLogFile, formatLogLine } from '../observe.ts';

export const logSpec: CommandSpec = {
  name: 'log',
  summary: "Print the functions' log lines (ctx.log) with operator, partition and offset; -f follows.",
  usage: 'ssdk log FILE [-f] [-n N] [--operator ID] [--state-dir DIR]  |  ssdk log (NS/NAME | FILE --nats URL) [-f] [-n N] [--operator ID] [--subject-prefix PREFIX]',
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until interrupted (Ctrl-C)' },
    lines: { type: 'string', short: 'n', valueName: 'N', description: 'print the last N lines first (default 100)' },
    operator: { type: 'string', valueName: 'ID', description: 'only the lines of this operator' },
    'state-dir': { type: 'string', valueName: 'DIR', description: 'the state dir of the embedded run (default: .ssdk/ beside FILE, or $SSDK_HOME)' },
    nats: { type: 'string', valueName: 'URL', description: 'read the distributed stack\'s log topic on this NATS server (default for NS/NAME: $NATS_URL, else nats://127.0.0.1:4222)' },
    'subject-prefix': { type: 'string', valueName: 'PREFIX', description: 'subject and stream-name prefix of the stack (default: $SSDK_SUBJECT_PREFIX, else ssdk)' },
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: ['ssdk log examples/word-count/services.yaml', 'ssdk log examples/word-count/services.yaml -f --operator count-words.add-to-total', 'ssdk log examples/word-count/services.yaml --nats nats://127.0.0.1:4222 -n 20'],
};

/** How often `-f` looks for new lines, ms. */
const FOLLOW_POLL_MS = 250;

export async function runLog(cmd: ParsedCommand, io: CliIo, signal?: AbortSignal): Promise<number> {
  const target = cmd.positionals[0]!;
  const linesText = cmd.values['lines'];
  const last = linesText === undefined ? 100 : Number(linesText);
  if (!Number.isSafeInteger(last) || last < 0) throw new UsageError(`-n takes a whole number, got \`${String(linesText)}\``, 'log');
  const operator = typeof cmd.values['operator'] === 'string' ? cmd.values['operator'] : undefined;
  const print = (l: LogLine) => {
    if (!operator || l.operator === operator) io.out(formatLogLine(l) + '\n');
  };
  const stop = signal ?? interruptSignal();
  const isFile = existsSync(target);
  if (isFile && cmd.values['nats'] === undefined) {
    const file = embeddedLogFile(target, typeof cmd.values['state-dir'] === 'string' ? cmd.values['state-dir'] : undefined);
    if (!existsSync(file) && !cmd.values['follow']) {
      io.err(`no function log lines yet: ${file} does not exist (an \`ssdk run\` of ${target} writes it; for operator services give --nats URL)\n`);
      return EXIT_OK;
    }
    await tailFile(file, last, cmd.values['follow'] === true, print, stop);
    return EXIT_OK;
  }
  let dataflow: { namespace: string; name: string };
  const flags = serverFlags(cmd, 'log');
  if (isFile) dataflow = (await planOrThrow(target, { subjectPrefix: flags.subjectPrefix })).plan.dataflow;
  else {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(target);
    if (!m) throw new UsageError(`\`${target}\` is neither a services file nor NS/NAME of a dataflow`, 'log');
    dataflow = { namespace: m[1]!, name: m[2]! };
  }
  const bus = await createNatsBus({ servers: flags.natsUrl, subjectPrefix: flags.subjectPrefix, name: 'ssdk log' });
  try {
    await tailTopic(bus, logTopicOf(dataflow, flags.subjectPrefix), last, cmd.values['follow'] === true, print, stop, io);
  } finally {
    await bus.close();
  }
  return EXIT_OK;
}

function interruptSignal(): AbortSignal {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  return abort.signal;
}

async function tailFile(path: string, last: number, follow: boolean, print: (l: LogLine) => void, signal: AbortSignal): Promise<void> {
  let offset = 0;
  let first = true;
  let rest = '';
  while (!signal.aborted) {
    const size = existsSync(path) ? (await stat(path)).size : 0;
    if (size < offset) offset = 0; // a fresh run started the file over
    if (size > offset) {
      const fh = await open(path, 'r');
      try {
        const buf = Buffer.alloc(size - offset);
        await fh.read(buf, 0, buf.length, offset);
        offset = size;
        const text = rest + buf.toString('utf8');
        const cut = text.lastIndexOf('\n');
        rest = text.slice(cut + 1);
        let lines = text.slice(0, cut + 1).split('\n').filter((l) => l.trim());
        if (first) lines = lines.slice(Math.max(0, lines.length - last));
        for (const l of lines) print(JSON.parse(l) as LogLine);
      } finally {
        await fh.close();
      }
    }
    first = false;
    if (!follow) return;
    await sleep(FOLLOW_POLL_MS, signal);
  }
}

async function tailTopic(
  bus: Bus,
  topic: ReturnType<typeof logTopicOf>,
  last: number,
  follow: boolean,
  print: (l: LogLine) => void,
  signal: AbortSignal,
  io: CliIo,
): Promise<void> {
  if (!(await bus.topic(topic.name))) {
    if (!follow) {
      io.err(`no function log lines yet: the log topic \`${topic.name}\` does not exist (operators create it with their first line)\n`);
      return;
    }
    await bus.ensureTopic(topic);
  }
  const end = await bus.lastSeq(topic.name, 0);
  // One message holds the lines of one flush: read back enough messages for `last` lines.
  const backlog: LogLine[] = [];
  const reader = bus.read(topic.name, 0, { afterSeq: Math.max(0, end - Math.max(last, 1)) });
  try {
    let seq = 0;
    while (seq < end) {
      const messages = await reader.fetch(256, 1_000);
      if (messages.length === 0) break;
      for (const m of messages) {
        seq = m.seq;
        backlog.push(...linesOf(m.data));
      }
    }
    for (const l of backlog.slice(Math.max(0, backlog.length - last))) print(l);
    while (follow && !signal.aborted) {
      for (const m of await reader.fetch(256, FOLLOW_POLL_MS)) for (const l of linesOf(m.data)) print(l);
    }
  } finally {
    await reader.close();
  }
}

function linesOf(data: Uint8Array): LogLine[] {
  const frame = decodeFrame(data);
  if (frame.kind !== 'data') return [];
  return frame.records.map((r) => JSON.parse(readUtf8(r.value)) as LogLine);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
