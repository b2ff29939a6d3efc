/**
 * How topics map onto JetStream: one stream per topic, named from the bus's subject prefix and
 * the topic name; one subject per partition (the partition is the last token); the topic's
 * identity (name, partitions, subject template) kept in the stream's description, so any
 * process can read a topic back from the server. Pure functions, no I/O.
 */
import { createHash } from 'node:crypto';
import { InvalidTopicError } from './errors.ts';

/** What the bus keeps about a topic: its config and where its partitions live. */
export interface TopicLayout {
  name: string;
  partitions: number;
  /** Subject template, `{partition}` last. */
  subject: string;
  /** The template without its `.{partition}` token. */
  base: string;
  stream: string;
}

const PARTITION = '{partition}';
const DESCRIPTION = 'ssdk topic ';
/** Stream names become directory names on the server: keep them well under any path limit. */
const MAX_STREAM_NAME = 128;

/**
 * `<prefix>_<topic>`, `.` and every other character but letters, digits, `_` and `-` as `_`;
 * when the topic name had to change (or was too long), a hash of the exact name follows, so two
 * topics never share a stream (`a.b` → `ssdk_a_b_1f2e3d4c`, `a_b` → `ssdk_a_b`).
 */
export function streamNameOf(subjectPrefix: string, topic: string): string {
  const prefix = clean(subjectPrefix);
  const name = clean(topic);
  const full = `${prefix}_${name}`;
  if (name === topic && full.length <= MAX_STREAM_NAME) return full;
  const hash = createHash('sha256').update(topic).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_STREAM_NAME - 9)}_${hash}`;
}

/** Stream names this bus may own start with this (a prefix filter; descriptions decide). */
export function streamNamePrefix(subjectPrefix: string): string {
  return `${clean(subjectPrefix)}_`;
}

/** The layout of a topic: its subject template checked, or the default one. */
export function topicLayout(subjectPrefix: string, config: { name: string; partitions: number; subject?: string }): TopicLayout {
  if (config.name.length === 0) throw new InvalidTopicError('a topic name cannot be empty');
  if (!Number.isSafeInteger(config.partitions) || config.partitions < 1) {
    throw new InvalidTopicError(`topic \`${config.name}\` needs a whole number of partitions (1 or more), got ${config.partitions}`, { topic: config.name });
  }
  const subject = config.subject ?? `${subjectPrefix}.topic.${config.name}.${PARTITION}`;
  const suffix = `.${PARTITION}`;
  if (!subject.endsWith(suffix) || subject.indexOf(PARTITION) !== subject.length - PARTITION.length) {
    throw new InvalidTopicError(`the subject of topic \`${config.name}\` must end with \`.{partition}\` (and have it nowhere else), got \`${subject}\``, { topic: config.name });
  }
  const base = subject.slice(0, -suffix.length);
  const bad = base.split('.').find((token) => !/^[^\s*>.]+$/.test(token));
  if (bad !== undefined) {
    throw new InvalidTopicError(
      `topic \`${config.name}\` cannot be a NATS subject (\`${subject}\`): tokens must be non-empty, without spaces, \`*\` or \`>\`${bad === '' ? '' : ` (\`${bad}\`)`}`,
      { topic: config.name },
    );
  }
  return { name: config.name, partitions: config.partitions, subject, base, stream: streamNameOf(subjectPrefix, config.name) };
}

export function partitionSubject(layout: TopicLayout, partition: number): string {
  return `${layout.base}.${partition}`;
}

/** The stream description that makes the stream a topic (read back by `parseDescription`). */
export function describeTopic(subjectPrefix: string, layout: TopicLayout): string {
  return DESCRIPTION + JSON.stringify({ v: 1, prefix: subjectPrefix, topic: layout.name, partitions: layout.partitions, subject: layout.subject });
}

export interface StoredTopic {
  prefix: string;
  topic: string;
  partitions: number;
  subject: string;
}

/** The topic a stream description names, or undefined when the stream is not an ssdk topic. */
export function parseDescription(description: string | undefined): StoredTopic | undefined {
  if (!description?.startsWith(DESCRIPTION)) return undefined;
  try {
    const d = JSON.parse(description.slice(DESCRIPTION.length)) as Partial<StoredTopic> & { v?: number };
    if (d.v !== 1 || typeof d.prefix !== 'string' || typeof d.topic !== 'string' || typeof d.subject !== 'string') return undefined;
    if (typeof d.partitions !== 'number' || !Number.isSafeInteger(d.partitions) || d.partitions < 1) return undefined;
    return { prefix: d.prefix, topic: d.topic, partitions: d.partitions, subject: d.subject };
  } catch {
    return undefined;
  }
}

function clean(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}
