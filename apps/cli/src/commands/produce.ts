import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { encodeFrame, encodeRecordFrames, frameBytesOf, partitionOfText, UNREADABLE_HEADER, type OutRecord } from '@ssdk/records';
import { inputRecords, readInputFile, unreadable as unreadableRecord, type InputFile } from '../input-file.ts';
import { compileTelemetryOptions, Tracing } from '@ssdk/telemetry';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { openTopic, serverFlags, serverOptions } from '../distributed.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

/** Bytes of an oversized record kept in its dead letter. */
const OVERSIZED_PREVIEW = 1024;

export const produceSpec: CommandSpec = {
  name: 'produce',
  summary: 'Produce the JSON lines of a file to a topic on NATS JetStream (batched frames; by key, else round-robin over partitions).',
  usage: 'ssdk produce TOPIC --file PATH.jsonl [--records] [--end] FILE',
  options: {
    file: { type: 'string', short: 'f', valueName: 'PATH', description: 'JSON lines to produce (one value per line, or records with --records)' },
    records: { type: 'boolean', description: 'lines are records {"key","value","timestamp","headers"}, not bare values' },
    end: { type: 'boolean', description: 'then mark the end of input on every partition (windows of a bounded stream flush)' },
    batch: { type: 'string', valueName: 'N', description: 'records per frame (one NATS message)', default: '500' },
    ...serverOptions,
  },
  minPositionals: 2,
  maxPositionals: 2,
  examples: [
    'ssdk produce sentences --file examples/word-count/input/sentences.jsonl --records --end examples/word-count/services.yaml',
    'ssdk produce sentences --end examples/word-count/services.yaml',
  ],
};

export async function runProduce(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const [topicName, file] = cmd.positionals as [string, string];
  const flags = serverFlags(cmd, 'produce');
  const path = cmd.values['file'];
  if (typeof path !== 'string' && !cmd.values['end']) throw new UsageError('give --file PATH.jsonl (or --end alone to mark the end of input)', 'produce');
  const batch = Number(cmd.values['batch']);
  if (!Number.isSafeInteger(batch) || batch < 1) throw new UsageError(`--batch takes a whole number of 1 or more, got \`${String(cmd.values['batch'])}\``, 'produce');
  let input: InputFile | undefined;
  // Message ids from the file's content and each frame's place in it: producing the same file
  // again (after a failure midway) is dropped as a duplicate by JetStream, within its duplicate window.
  let digest = '';
  if (typeof path === 'string') {
    try {
      input = await readInputFile(path, cmd.values['records'] === true);
      digest = createHash('sha256').update(`${batch}\0`).update(await readFile(path)).digest('hex').slice(0, 24);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`input file not found: ${path}`, 'produce');
      throw err;
    }
  }
  const { topic, bus } = await openTopic(file, topicName, flags, 'produce');
  // With an OTLP endpoint in the environment (as the operators have), each published batch is the
  // root span of its records' trace: its context rides in the messages' headers to every operator.
  const warn = (m: string) => io.err(`ssdk produce: ${m}\n`);
  const traced = compileTelemetryOptions({ warn }).tracing;
  const tracing = traced ? new Tracing({ ...traced, warn }) : undefined;
  const tracer = tracing?.tracer('ssdk-produce');
  try {
    // A bad line is produced as itself, marked: the first operator dead-letters it with its file
    // and line (as in embedded mode), and the rest of the file goes on.
    const lines = input ? inputRecords(input, topic) : [];
    const maxBytes = Math.min(900_000, bus.maxPayload() - 4096);
    const byPartition: OutRecord[][] = Array.from({ length: topic.partitions }, () => []);
    const now = Date.now();
    let rr = 0;
    let unreadable = 0;
    for (let i = 0; i < lines.length; i++) {
      const r = lines[i]!;
      const k = r.key;
      const key = typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean' ? topic.key.encode(k) : null;
      const partition = key !== null ? partitionOfText(key, topic.partitions) : rr++ % topic.partitions;
      // Values go as given; the first operator checks them against the topic's type (and
      // dead-letters a bad one with the reason), as in embedded mode.
      const value = r.value instanceof Uint8Array || (typeof r.value === 'string' && topic.converter === 'raw') ? r.value : JSON.stringify(r.value);
      let record: OutRecord = { key, value, timestamp: r.timestamp ?? now, ...(r.headers ? { headers: r.headers } : {}) };
      const size = frameBytesOf(record);
      if (size > maxBytes) {
        // No message can hold it: a preview goes in its place, dead-lettered; the rest goes on.
        const preview = Buffer.from(value).subarray(0, OVERSIZED_PREVIEW);
        const bad = unreadableRecord(input!.path, input!.lines[i]!.line, `a record of ${size} bytes, over the message limit of ${maxBytes} bytes (NATS max_payload): split it`, preview);
        record = { key, value: preview, timestamp: record.timestamp, headers: bad.headers! };
      }
      if (record.headers?.[UNREADABLE_HEADER] !== undefined) unreadable++;
      byPartition[partition]!.push(record);
    }
    await Promise.all(
      byPartition.map(async (records, partition) => {
        for (let i = 0; i < records.length; i += batch) {
          const chunk = records.slice(i, i + batch);
          const frames = encodeRecordFrames(chunk, maxBytes);
          const span = tracer?.startSend('produce', { 'messaging.destination.name': topic.id, 'ssdk.partition': partition, 'ssdk.records': chunk.length });
          const headers = span ? { headers: { ...span.headers } } : {};
          try {
            await bus.publish(topic.name, partition, frames.map((data, f) => ({ data, msgId: `produce|${topic.id}|${digest}|${partition}|${i}|${f}`, ...headers })));
          } catch (err) {
            span?.fail(err);
            throw err;
          } finally {
            span?.end();
          }
        }
      }),
    );
    if (cmd.values['end']) {
      for (let p = 0; p < topic.partitions; p++) await bus.publish(topic.name, p, [{ data: encodeFrame({ kind: 'end' }) }]);
    }
    io.err(`produced ${lines.length} record${lines.length === 1 ? '' : 's'} to ${topic.id} (${topic.partitions} partition${topic.partitions === 1 ? '' : 's'})${cmd.values['end'] ? ', then the end of input' : ''}\n`);
    if (unreadable > 0) io.err(`${unreadable} of them ${unreadable === 1 ? 'is a bad line' : 'are bad lines'}: the operator reading ${topic.id} dead-letters ${unreadable === 1 ? 'it' : 'them'} with its file and line\n`);
    return EXIT_OK;
  } finally {
    await bus.close();
    await tracing?.shutdown(warn);
  }
}
