/**
 * Input files of `ssdk run --input` and `ssdk produce --file`: a bad line costs only itself.
 * A line that is not UTF-8, not JSON, not a record (`--records`), or whose key or value does
 * not fit its topic is produced as its own bytes with the `UNREADABLE_HEADER` (`FILE:LINE:
 * reason`); the first operator that reads it dead-letters it with that reason and its own
 * offset, and the rest of the file goes on — in both runtimes, with the same verdicts.
 */
import { readFile } from 'node:fs/promises';
import { formatJsonLine, readJsonLines, UNREADABLE_HEADER, type InputLine, type JsonRecord } from '@ssdk/records';
import type { RuntimeTopic } from '@ssdk/runtime';

/** A file's lines as read (`readJsonLines`), and where it is (named in dead letters). */
export interface InputFile {
  path: string;
  lines: InputLine[];
}

export async function readInputFile(path: string, records: boolean): Promise<InputFile> {
  return { path, lines: readJsonLines(await readFile(path), records) };
}

const utf8 = new TextEncoder();

/** The records to produce for a file's lines onto `topic`, each bad one marked with its reason. */
export function inputRecords(file: InputFile, topic: RuntimeTopic): JsonRecord[] {
  return file.lines.map((l) => {
    if ('reason' in l) return unreadable(file.path, l.line, l.reason, l.bytes);
    const reason = misfit(l.record, topic);
    if (reason === undefined) return l.record;
    return unreadable(file.path, l.line, reason, utf8.encode(formatJsonLine(l.record, false)));
  });
}

/** A bad line as a record: its bytes, and why (the operator that reads it dead-letters it). */
export function unreadable(path: string, line: number, reason: string, bytes: Uint8Array): JsonRecord {
  return { value: bytes, headers: { [UNREADABLE_HEADER]: `${path}:${line}: ${reason}` } };
}

/** Why a record does not fit its topic (the topic's own codecs decide), else undefined. */
function misfit(r: JsonRecord, topic: RuntimeTopic): string | undefined {
  const key = r.key;
  if (key !== undefined && key !== null && typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
    return `a key is a string, number or boolean, got ${Array.isArray(key) ? 'an array' : typeof key}`;
  }
  // A raw topic takes any line (a value that is not a string travels as its JSON text).
  if (topic.converter === 'raw') return undefined;
  try {
    // As the embedded runtime takes a produced value: the value JSON gives back, checked.
    topic.value.adopt(r.value);
    return undefined;
  } catch (err) {
    return `record does not match topic \`${topic.id}\`: ${(err as Error).message}`;
  }
}
