/**
 * `ssdk init`: a new dataflow to start from — a services file that validates, its test cases
 * and an input file — so a first hour starts with `ssdk test` passing, not with a copied example.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export const initSpec: CommandSpec = {
  name: 'init',
  summary: 'Start a new dataflow in a folder: a services file, its test cases and an input file, ready for validate, test and run.',
  usage: 'ssdk init [DIR] [--name NAME]',
  options: {
    name: { type: 'string', valueName: 'NAME', description: 'the dataflow’s name (default: the folder’s name)' },
  },
  maxPositionals: 1,
  examples: ['ssdk init my-dataflow', 'ssdk init            # in this folder', 'ssdk init flows/orders --name order-totals'],
};

/** A dataflow name as the services file takes it: lower-case words joined by `-`. */
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export async function runInit(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const dir = resolve(io.cwd, cmd.positionals[0] ?? '.');
  const given = typeof cmd.values['name'] === 'string' ? cmd.values['name'] : undefined;
  const name = given ?? nameOf(basename(dir));
  if (!NAME.test(name)) {
    const what = given ? `\`${given}\` is` : `the folder’s name \`${basename(dir)}\` makes`;
    throw new UsageError(`${what} no dataflow name: lower-case letters, digits and \`-\`, starting with a letter${given ? '' : ' (give one with --name)'}`, 'init');
  }
  const files: Record<string, string> = {
    'services.yaml': servicesFile(name),
    'services.test.yaml': TEST_FILE,
    'input/sentences.jsonl': INPUT,
  };
  // Nothing of the user's is overwritten: one existing file stops it before anything is written.
  const existing = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0) {
    throw new UsageError(`${existing.map((f) => join(dir, f)).join(', ')} already exist${existing.length === 1 ? 's' : ''}: nothing was written (init another folder)`, 'init');
  }
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text, { flag: 'wx' });
  }
  const at = relative(io.cwd, dir) || '.';
  const file = join(at, 'services.yaml');
  io.err(`wrote ${Object.keys(files).map((f) => join(at, f)).join(', ')}\n`);
  io.out(
    [
      'next:',
      `  ssdk validate ${file}`,
      `  ssdk test ${file}`,
      `  ssdk run ${file} --input sentences=${join(at, 'input/sentences.jsonl')} --output-dir ${join(at, 'out')} --until-idle --dump-state`,
      `  ssdk run ${file}        # the shell: produce sentences "the river flows", consume words, show state`,
      '',
    ].join('\n'),
  );
  return EXIT_OK;
}

function nameOf(folder: string): string {
  return folder.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^[^a-z]+|-+$/g, '');
}

function servicesFile(name: string): string {
  return `# ${name}: counts the words of a stream of sentences.
#
#   sentences ─► count-words ─► words
#                (a running total per word: keyed state word-totals)
#
# Check it with \`ssdk validate\`, try it with \`ssdk test\` (services.test.yaml) and \`ssdk run\`.
# The services file's reference is docs/services-file.md (in ssdk's repository and package).
apiVersion: 0.5.0
meta:
  name: ${name}
  version: 0.1.0
  namespace: local

config:
  converter: json

types:
  sentence:
    type: string
  word:
    type: string

topics:
  sentences:
    schema:
      value:
        type: sentence
  words:
    schema:
      key:
        type: string
      value:
        type: word

services:
  count-words:
    sources:
      - type: topic
        id: sentences

    states:
      word-totals:
        type: keyed-state
        properties:
          key:
            type: string
          value:
            type: u32

    transforms:
      - operator: flat-map
        run: |
          function splitSentence(sentence: string): string[] {
            return sentence.toLowerCase().split(/[^a-z0-9]+/).filter((word) => word.length > 0);
          }

    partition:
      assign-key:
        run: |
          function keyByWord(word: string): string {
            return word;
          }

      update-state:
        run: |
          function addToTotal(word: string, ctx: Ctx): void {
            ctx.state('word-totals').increment();
          }

    sinks:
      - type: topic
        id: words
`;
}

const TEST_FILE = `# \`ssdk test services.yaml\` runs these cases (the format: \`ssdk test --help\`, docs/cli.md).
tests:
  - name: words and their totals
    inputs:
      - topic: sentences
        records:
          - {value: "The river flows", timestamp: 1736154000000}
          - {value: "the river", timestamp: 1736154001000}
    expect:
      words:
        values: [the, river, flows, the, river]
        ordered: true
    state:
      word-totals: {entries: {the: 2, river: 2, flows: 1}}
`;

const INPUT = ['"The river flows past the old mill"', '"the mill stands by the river"', '"river and mill"', ''].join('\n');
