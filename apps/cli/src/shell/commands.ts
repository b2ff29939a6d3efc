/** The shell's commands as data: usage, help text, flags. Help and tab completion read this. */
import type { FlagSpec } from './words.ts';

export interface CommandDef {
  /** `produce`, or `show state` for a sub-command. */
  name: string;
  usage: string[];
  summary: string;
  details: string[];
  examples: string[];
  flags: Record<string, FlagSpec>;
}

export const COMMANDS: readonly CommandDef[] = [
  {
    name: 'produce',
    usage: ['produce TOPIC [--key K] [--time T] VALUE', 'produce TOPIC --file PATH [--records]'],
    summary: 'write a record (or a JSON-lines file) to a topic',
    details: [
      'VALUE is JSON: the rest of the line after TOPIC and the flags. On a topic of strings a bare',
      'word (or several) is the string itself. Without --time a record gets the wall clock.',
      'A value that does not fit the topic\'s type goes in anyway: the first operator dead-letters it',
      'with the reason (`consume <service>.dead-letter` shows it).',
      'With --file, each line is a bare JSON value, or with --records a record',
      '{"key"?, "value", "timestamp"?, "headers"?}, as for `ssdk run --input`.',
      'Then the shell waits (briefly) for the dataflow to go idle and says what came out.',
    ],
    examples: ['produce sentences "the river flows"', 'produce readings --key s1 --time 2025-01-06T09:00:05Z {"sensor": "s1", "value": 7}', 'produce sentences --file input/sentences.jsonl --records'],
    flags: {
      key: { kind: 'string', valueName: 'K', description: 'the record key (text on string-keyed topics, else JSON)' },
      time: { kind: 'string', valueName: 'T', description: 'event time: epoch milliseconds or an ISO date' },
      file: { kind: 'string', valueName: 'PATH', description: 'produce every line of a JSON-lines file (a bad line is dead-lettered with FILE:LINE)' },
      records: { kind: 'boolean', description: 'with --file: lines are records {"key","value","timestamp","headers"}' },
    },
  },
  {
    name: 'consume',
    usage: ['consume TOPIC [--from-beginning] [-n N] [--records]'],
    summary: 'print the records of a topic that arrived since its last consume',
    details: [
      'Any topic: sinks, intermediate and source topics, `<service>.dead-letter` (the reason is in',
      'the value) and `<service>.late-events` (the reason is the `ssdk-reason` header: use --records).',
      'Values print as compact JSON, one per line; --records prints {"key","value","timestamp","headers"}',
      '(the form `produce --file --records` reads back). Topics live in this process: after a',
      'restart they start empty, while state resumes.',
    ],
    examples: ['consume top-words', 'consume count-words.dead-letter --from-beginning', 'consume words -n 5 --records'],
    flags: {
      'from-beginning': { kind: 'boolean', description: 'start at the first record of the topic' },
      limit: { kind: 'string', short: 'n', valueName: 'N', description: 'at most N records (the next consume goes on from there)' },
      records: { kind: 'boolean', description: 'print key, value, timestamp and headers' },
    },
  },
  {
    name: 'show state',
    usage: ['show state [NAME] [--key K] [--window [T]]'],
    summary: 'list the states, or show the committed entries of one',
    details: [
      'Without NAME: every state with its owner, table, key and value types and row count.',
      'With NAME: its entries as a table (window bounds first for windowed state). --key K shows',
      'one key; --window shows only the latest open window, --window T the windows holding time T.',
      'A window\'s state is dropped once the window is flushed.',
    ],
    examples: ['show state', 'show state word-totals --key river', 'show state window-counts --window'],
    flags: {
      key: { kind: 'string', valueName: 'K', description: 'only this key' },
      window: { kind: 'optional-time', valueName: 'T', description: 'only the latest open window, or the windows holding time T' },
    },
  },
  {
    name: 'show graph',
    usage: ['show graph'],
    summary: 'the plan: topics, operators, edges, states',
    details: ['The physical plan as `ssdk plan FILE` prints it.'],
    examples: ['show graph'],
    flags: {},
  },
  {
    name: 'show metrics',
    usage: ['show metrics'],
    summary: 'per operator: records in/out/failed/late, batches, watermark, batch latency',
    details: ['The watermark is the event time up to which windows have closed (ISO, UTC); latency is per batch, p50 and p99 in ms.'],
    examples: ['show metrics'],
    flags: {},
  },
  {
    name: 'sql',
    usage: ['sql QUERY'],
    summary: 'read-only SQL over the state tables',
    details: [
      'One statement (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN) in a read-only transaction, with',
      'the dataflow\'s schema on the search path: one table per state (`show state` lists them), keyed',
      'by `key`, value in `value` (or one column per field of a row state), window bounds in',
      '`window_start`/`window_end`. Needs the state database (not with --ephemeral).',
    ],
    examples: ['sql SELECT key, value FROM count_words_word_totals ORDER BY value DESC LIMIT 5'],
    flags: {},
  },
  {
    name: 'help',
    usage: ['help [COMMAND]'],
    summary: 'the commands, or one command in detail',
    details: [],
    examples: ['help produce', 'help show state'],
    flags: {},
  },
  {
    name: 'exit',
    usage: ['exit', 'quit'],
    summary: 'stop the dataflow and leave (Ctrl-D too)',
    details: ['Waits until the dataflow has processed what was produced, so its state is committed, then stops it.'],
    examples: ['exit'],
    flags: {},
  },
];

/** The words a line may start with. */
export const COMMAND_WORDS = ['produce', 'consume', 'show', 'sql', 'help', 'exit', 'quit'] as const;

export const SHOW_WHAT = ['state', 'graph', 'metrics'] as const;

export function commandDef(name: string): CommandDef | undefined {
  return COMMANDS.find((c) => c.name === (name === 'quit' ? 'exit' : name));
}
