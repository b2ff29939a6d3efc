/**
 * A new user's slips with the commands the README shows first (`validate`, `run`, `test`): each is
 * one message naming what to fix, exit 2 (the user's input), never a green run or a stack trace.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const WORD_COUNT = join(repo, 'examples/word-count/services.yaml');

async function run(argv: string[]) {
  const io = bufferIo(repo);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('cli - a new user’s mistakes', () => {
  it('cli - `ssdk run --input` with a misspelt topic is exit 2 naming the topic meant, before anything runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const input = join(dir, 'sentences.jsonl');
    await writeFile(input, '"the river flows"\n');
    const r = await run(['run', WORD_COUNT, '--input', `sentence=${input}`, '--output-dir', join(dir, 'out'), '--until-idle', '--ephemeral', '--native']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ssdk run: error: unknown topic `sentence` for input (did you mean `sentences`?)');
    expect(r.err).not.toMatch(/SSDK_DEBUG|\n\s+at /);
    await expect(readFile(join(dir, 'out', 'words.jsonl'))).rejects.toThrow();
  });

  it('cli - `ssdk test` given the test file runs it against the services file beside it; without one, exit 2 saying so', async () => {
    const r = await run(['test', WORD_COUNT.replace(/\.yaml$/, '.test.yaml'), '--filter', 'golden run', '--native']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^✓ golden run .*\n1 passed, 0 failed\n$/);
    expect(r.code).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const lone = join(dir, 'flow.test.yaml');
    await writeFile(lone, 'tests: []\n');
    const alone = await run(['test', lone]);
    expect(alone.code).toBe(2);
    expect(alone.err).toContain(`${lone} is a test file, and no flow.yaml is beside it`);
  });

  it('cli - `ssdk test --filter` that matches no case is exit 2 listing the cases, not "0 passed"', async () => {
    const r = await run(['test', WORD_COUNT, '--filter', 'golden rn', '--native']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no case of');
    expect(r.err).toContain('`golden run — totals, top words per window, late words`');
    expect(r.out).not.toContain('0 passed');
  });

  it('cli - `ssdk validate` type-checks the functions alongside the file’s own errors, and names those that wait for them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const text = (await readFile(WORD_COUNT, 'utf8'))
      .replace('- operator: filter', '- operator: filtr')
      .replace('counts.push({ word: String(word), count });', 'counts.push({ wrd: String(word), count });')
      .replace('ctx.state(\'word-totals\').increment();', 'ctx.state(\'word-totals\').increment(\'1\');');
    await writeFile(join(dir, 'services.yaml'), text);
    const broken = await run(['validate', join(dir, 'services.yaml')]);
    expect(broken.code).toBe(2);
    expect(broken.err).not.toMatch(/\n\s+at /);
    // Both mistakes in one pass: the file's and the function's of another service, each at its line.
    const line = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(broken.err).toContain(`services.yaml:${line('operator: filtr')}:19: error: unknown operator \`filtr\``);
    expect(broken.err).toContain(`services.yaml:${line('wrd: String')}:29: error: top-words.top-three-words: Object literal may only specify known properties, but 'wrd' does not exist in type 'WordCount'`);
    // The step before the dropped one, and the state of the service with the error, wait for it.
    expect(broken.err).toContain(
      'services.yaml: 2 errors; type-checked once these are fixed: `count-words.split-sentence`, `count-words.add-to-total`, and the steps the errors leave out\n',
    );
    // Once fixed, the functions that waited are checked: add-to-total's mistake shows.
    await writeFile(join(dir, 'services.yaml'), text.replace('- operator: filtr', '- operator: filter'));
    const next = await run(['validate', join(dir, 'services.yaml')]);
    expect(next.code).toBe(2);
    expect(next.err).toContain("'wrd' does not exist in type 'WordCount'");
    expect(next.err).toContain('count-words.add-to-total: Argument of type \'string\' is not assignable to parameter of type \'number\'');
    expect(next.err).toMatch(/services\.yaml: 2 errors\n$/);
  });

  it('cli - a type with an error is reported once: the functions that name it wait, the others are checked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const text = (await readFile(WORD_COUNT, 'utf8'))
      .replace('count:\n        type: u32', 'count:\n        type: u33')
      .replace('return word;\n          }\n\n      update-state', 'return wrd;\n          }\n\n      update-state');
    await writeFile(join(dir, 'services.yaml'), text);
    const r = await run(['validate', join(dir, 'services.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('error: unknown type `u33` in type `word-count`');
    expect(r.err).toContain("count-words.key-by-word: Cannot find name 'wrd'");
    // Not the compiler saying the type's error again (`'b.count' is of type 'unknown'`).
    expect(r.err).not.toContain("of type 'unknown'");
    expect(r.err).toContain('services.yaml: 2 errors; type-checked once these are fixed: `top-words.top-three-words`\n');
  });

  it('cli - a misspelt `types:` is reported once: the functions naming its types wait, not `Cannot find name` each', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    await writeFile(join(dir, 'services.yaml'), (await readFile(WORD_COUNT, 'utf8')).replace(/^types:/m, 'tyeps:'));
    const r = await run(['validate', join(dir, 'services.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('error: unknown key `tyeps` in the services file');
    expect(r.err).not.toContain('Cannot find name');
    expect(r.err).toContain('services.yaml: 1 error; type-checked once these are fixed: `top-words.top-three-words`, and the steps the errors leave out\n');
  });

  it('cli - a state name the file does not declare is reported at each `ctx.state` call, not again by the compiler where its value is used', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    await writeFile(join(dir, 'services.yaml'), (await readFile(WORD_COUNT, 'utf8')).replace(/^ {6}window-counts:/m, '      iwndow-counts:'));
    const r = await run(['validate', join(dir, 'services.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err.match(/error: service `top-words` has no state `window-counts`/g)).toHaveLength(2);
    // Was also `Type 'unknown' is not assignable to type 'number'` where the count is used.
    expect(r.err).not.toContain('(TS');
    expect(r.err).toMatch(/services\.yaml: 2 errors\n$/);
  });

  it('cli - a function naming a state whose declaration another service got wrong waits, whichever service it is in', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    // count-words' own state misspelt: lookup-word's ref-state to it fails, and `count-per-word`
    // is typed from that broken ref (ctx.ts types states by name).
    const probe = await readFile(join(repo, 'examples/word-probe/services.yaml'), 'utf8');
    await writeFile(join(dir, 'services.yaml'), probe.replace(/^ {6}count-per-word:/m, '      ocunt-per-word:'));
    const r = await run(['validate', join(dir, 'services.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('service `count-words` owns no state `count-per-word`');
    expect(r.err).not.toContain('(TS');
    expect(r.err).toContain('type-checked once these are fixed: `count-words.increment-word-count`, `lookup-word.lookup-word-count`\n');
  });

  it('cli - a structural error in one service and a type mismatch in another: both at once, each at its line, from `validate`, `test` and `run`', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const text = (await readFile(WORD_COUNT, 'utf8'))
      .replace('- operator: flat-map', '- operator: flatmap')
      .replace('function keyWindowWord(word: string)', 'function keyWindowWord(word: number)');
    await writeFile(join(dir, 'services.yaml'), text);
    await writeFile(join(dir, 'sentences.jsonl'), '"the river flows"\n');
    await writeFile(join(dir, 'services.test.yaml'), 'tests:\n  - name: one\n    inputs:\n      - topic: sentences\n        records:\n          - { value: "the river flows", timestamp: 1 }\n    expect:\n      words:\n        values: [river, flows]\n');
    const line = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const file = join(dir, 'services.yaml');
    for (const argv of [
      ['validate', file],
      ['test', file, '--native'],
      ['run', file, '--input', `sentences=${join(dir, 'sentences.jsonl')}`, '--output-dir', join(dir, 'out'), '--until-idle', '--ephemeral', '--native'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv[0]).toBe(2);
      expect(r.err).not.toMatch(/\n\s+at /);
      const errors = r.err.split('\n').filter((l) => l.includes(': error: '));
      expect(errors, argv[0]).toEqual([
        `${file}:${line('operator: flatmap')}:19: error: unknown operator \`flatmap\` in step 1 of \`transforms\` of service \`count-words\``,
        `${file}:${line('function keyWindowWord') - 1}:11: error: \`assign-key\` step \`keyWindowWord\` in service \`top-words\` takes \`number\`, but receives \`word\` from step \`useRecordTime\``,
      ]);
    }
  });

  it('cli - `ssdk test` and `ssdk run` report the functions’ errors alongside the file’s, exit 2, nothing run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const text = (await readFile(WORD_COUNT, 'utf8'))
      .replace(/(sources:\n\s+- type: topic\n\s+id: )words/, '$1wrds')
      .replace('.filter((word) => word.length > 0);', '.filter((word) => word.length > "0");');
    await writeFile(join(dir, 'services.yaml'), text);
    await writeFile(join(dir, 'sentences.jsonl'), '"the river flows"\n');
    await writeFile(join(dir, 'services.test.yaml'), 'tests:\n  - name: one\n    inputs:\n      - topic: sentences\n        records:\n          - { value: "the river flows", timestamp: 1 }\n    expect:\n      words:\n        values: [river, flows]\n');
    for (const argv of [
      ['test', join(dir, 'services.yaml'), '--native'],
      ['run', join(dir, 'services.yaml'), '--input', `sentences=${join(dir, 'sentences.jsonl')}`, '--output-dir', join(dir, 'out'), '--until-idle', '--ephemeral', '--native'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv[0]).toBe(2);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(r.err).toContain('error: unknown topic `wrds` in a source of service `top-words`');
      expect(r.err).toContain("count-words.split-sentence: Operator '>' cannot be applied to types 'number' and 'string'");
      expect(r.err).toMatch(/: 2 errors: (no test|nothing) was run; type-checked once these are fixed: `top-words.count-in-window`, `top-words.top-three-words`\n/);
    }
  });

  it('cli - a test file’s misspelt topic or state names are exit 2 at their FILE:LINE:COL with the name meant, before any case runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    await writeFile(join(dir, 'services.yaml'), await readFile(WORD_COUNT, 'utf8'));
    const cases = [
      'tests:',
      '  - name: fine',
      '    inputs:',
      '      - topic: sentences',
      '        records: [{ value: "the river", timestamp: 1 }]',
      '    expect:',
      '      words: { values: [river] }',
      '  - name: misspelt',
      '    inputs:',
      '      - topic: sentence',
      '        records: [{ value: "the river", timestamp: 1 }]',
      '    expect:',
      '      word: { values: [river] }',
      '    state:',
      '      word-total: { entries: { river: 1 } }',
      '',
    ].join('\n');
    const testFile = join(dir, 'services.test.yaml');
    await writeFile(testFile, cases);
    const r = await run(['test', join(dir, 'services.yaml'), '--native']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${testFile}:10:16: case \`misspelt\`: no topic \`sentence\` in this dataflow (did you mean \`sentences\`?)`);
    expect(r.err).toContain(`${testFile}:13:7: case \`misspelt\`: no topic \`word\` in this dataflow (did you mean \`words\`?)`);
    expect(r.err).toContain(`${testFile}:15:7: case \`misspelt\`: no state \`word-total\` in this dataflow (did you mean \`word-totals\`?); its states: \`word-totals\``);
    expect(r.err).not.toMatch(/\n\s+at /);
    // Before the first case: not one ran.
    expect(r.out).not.toContain('fine');
    expect(r.out).not.toContain('passed');
  });

  it('cli - a function that throws: its dead letter, and what `ssdk test` and `ssdk run` print, name the services-file line of the throw (native)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-mistakes-'));
    const file = join(dir, 'services.yaml');
    await writeFile(file, THROWS);
    await writeFile(join(dir, 'services.test.yaml'), 'tests:\n  - name: one boom\n    inputs:\n      - topic: words\n        records: [{ value: hi, timestamp: 1 }, { value: boom, timestamp: 2 }]\n    expect:\n      loud: { values: [HI] }\n');
    await writeFile(join(dir, 'words.jsonl'), '"hi"\n"boom"\n');
    // The `throw new Error(…)` line of the `run:` block, at its `new`.
    const line = THROWS.split('\n').findIndex((l) => l.includes('throw new Error')) + 1;
    const site = `(at ${file}:${line}:40)`;
    const tested = await run(['test', file, '--native']);
    expect(tested.code).toBe(1);
    expect(tested.out).toContain(`"reason":"cannot shout boom ${site}"`);
    const ran = await run(['run', file, '--input', `words=${join(dir, 'words.jsonl')}`, '--output-dir', join(dir, 'out'), '--until-idle', '--ephemeral', '--native']);
    expect(ran.code).toBe(0);
    expect(ran.err).toContain(`1 record went to dead-letter topics (see ${join(dir, 'out')}/*.dead-letter.jsonl); the first: shout.shout: cannot shout boom ${site}`);
    const letter = JSON.parse(await readFile(join(dir, 'out', 'shout.dead-letter.jsonl'), 'utf8')) as { reason: string };
    expect(letter.reason).toBe(`cannot shout boom ${site}`);
  });
});

const THROWS = `apiVersion: 0.5.0
meta:
  name: throws
  version: 0.1.0
  namespace: examples
topics:
  words:
    schema:
      value:
        type: string
  loud:
    schema:
      value:
        type: string
services:
  shout:
    sources:
      - type: topic
        id: words
    transforms:
      - operator: map
        run: |
          function shout(word: string): string {
            if (word === 'boom') throw new Error(\`cannot shout \${word}\`);
            return word.toUpperCase();
          }
    sinks:
      - type: topic
        id: loud
`;
