import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { decodeFrame, formatJsonLine } from '@ssdk/records';
import { decodeLoose } from '@ssdk/runtime';
import { durationOption, type CommandSpec, type ParsedCommand } from '../args.ts';
import { openTopic, serverFlags, serverOptions } from '../distributed.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export const consumeSpec: CommandSpec = {
  name: 'consume',
  summary: 'Read a topic on NATS JetStream from its start and write its records as JSON lines.',
  usage: 'ssdk consume TOPIC [--output PATH.jsonl] [--until-idle] [--idle-timeout DURATION] [--timeout DURATION] [--records] FILE',
  options: {
    output: { type: 'string', short: 'o', valueName: 'PATH', description: 'write the JSON lines here (default: stdout)' },
    'until-idle': { type: 'boolean', description: 'stop once no record arrived for --idle-timeout, or once every partition delivered the end of input' },
    'idle-timeout': { type: 'string', valueName: 'DURATION', description: 'quiet time that ends --until-idle', default: '5s' },
    timeout: { type: 'string', valueName: 'DURATION', description: 'fail (exit 1) unless every partition delivered the end of input within DURATION' },
    records: { type: 'boolean', description: 'write records {"key","value","timestamp","headers"} instead of bare values' },
    ...serverOptions,
  },
  minPositionals: 2,
  maxPositionals: 2,
  examples: [
    'ssdk consume top-words --output out/top-words.jsonl --until-idle examples/word-count/services.yaml',
    'ssdk consume words --until-idle --idle-timeout 2s --records examples/word-count/services.yaml',
    'ssdk consume top-words --output out/top-words.jsonl --timeout 10m examples/word-count/services.yaml',
  ],
};

/**
 * Reads every partition from the start (round-robin, so one partition cannot starve the rest).
 * Without --until-idle it follows the topic until every partition ended or SIGINT/SIGTERM.
 * A quiet topic is not a finished one (a killed replica's partitions wait for their takeover),
 * so a stop on idle says which partitions had not ended, and `--timeout` turns a missing end
 * into a failure: what a script or a test that needs the whole output waits for.
 */
export async function runConsume(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const [topicName, file] = cmd.positionals as [string, string];
  const flags = serverFlags(cmd, 'consume');
  const untilIdle = cmd.values['until-idle'] === true;
  const idleText = String(cmd.values['idle-timeout']);
  const idleMs = durationOption(cmd, 'idle-timeout', 'consume', '5s or 500ms')!;
  const timeoutText = String(cmd.values['timeout']);
  const timeoutMs = durationOption(cmd, 'timeout', 'consume', '10m or 90s');
  const asRecords = cmd.values['records'] === true;
  const output = typeof cmd.values['output'] === 'string' ? cmd.values['output'] : undefined;
  const { topic, bus } = await openTopic(file, topicName, flags, 'consume');
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let out: NodeJS.WritableStream | undefined;
  const readers = Array.from({ length: topic.partitions }, (_, p) => ({ reader: bus.read(topic.name, p), ended: false }));
  let count = 0;
  /** Why reading stopped before every partition ended (idle, or the timeout), if it did. */
  let stoppedEarly: 'idle' | 'timeout' | undefined;
  const startedAt = Date.now();
  try {
    if (output) {
      await mkdir(dirname(output), { recursive: true });
      out = createWriteStream(output);
    }
    const write = (line: string) => (out ? out.write(line + '\n') : io.out(line + '\n'));
    let lastRecordAt = Date.now();
    while (!abort.signal.aborted) {
      let got = 0;
      for (const r of readers) {
        if (r.ended) continue;
        const messages = await r.reader.fetch(1000, 0);
        for (const m of messages) {
          got++;
          const frame = decodeFrame(m.data);
          if (frame.kind === 'end') r.ended = true;
          else if (frame.kind === 'data') {
            for (const raw of frame.records) {
              const key = raw.key ? topic.key.decode(raw.key) : null;
              write(formatJsonLine({ key, value: decodeLoose(topic, raw.value), timestamp: raw.timestamp, ...(raw.headers ? { headers: raw.headers } : {}) }, asRecords));
              count++;
            }
          }
        }
        if (messages.length) await r.reader.ack(messages.at(-1)!.seq);
      }
      if (readers.every((r) => r.ended)) break;
      if (timeoutMs !== undefined && Date.now() - startedAt >= timeoutMs) {
        stoppedEarly = 'timeout';
        break;
      }
      if (got > 0) lastRecordAt = Date.now();
      else {
        if (untilIdle && Date.now() - lastRecordAt >= idleMs) {
          stoppedEarly = 'idle';
          break;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const r of readers) await r.reader.close();
    await bus.close();
    if (out) {
      out.end();
      await once(out, 'finish');
    }
  }
  io.err(`consumed ${count} record${count === 1 ? '' : 's'} from ${topic.id}${output ? ` into ${output}` : ''}\n`);
  const open = readers.flatMap((r, p) => (r.ended ? [] : [p]));
  if (stoppedEarly === undefined || open.length === 0) return EXIT_OK;
  const which = `partition${open.length === 1 ? '' : 's'} ${open.join(', ')} of ${topic.id} had not delivered the end of input`;
  if (stoppedEarly === 'idle') {
    io.err(`stopped after ${idleText} without a message; ${which} (a writer may still be busy or down: \`ssdk status\`)\n`);
    return EXIT_OK;
  }
  io.err(`ssdk consume: failed: ${which} after ${timeoutText}\n  hint: every writer of ${topic.id} must read its inputs to their end (the producer's --end): see \`ssdk status\` for an operator that is down or behind\n`);
  return EXIT_FAILURE;
}
