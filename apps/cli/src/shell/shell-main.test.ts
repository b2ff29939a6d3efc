import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../io.ts';
import { main } from '../main.ts';
import { loadHistory, type ShellIo } from './terminal.ts';
import { servicesDir, T0 } from './test-dataflow.ts';

const repo = new URL('../../../../', import.meta.url).pathname;

/** `ssdk ARGV` in this process, with `script` piped to its stdin. */
async function ssdk(script: string, ...argv: string[]) {
  const io: ShellIo & ReturnType<typeof bufferIo> = { ...bufferIo(), stdin: Readable.from([script]) };
  // The shell does not depend on where functions run: trusted, so no sandbox per run (the
  // sandboxed `ssdk run` is examples.test.ts's).
  const code = await main(argv[0] === 'run' ? [...argv, '--native'] : argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('shell - main', () => {
  it('shell - piping commands on stdin through main([run, file]) works end to end and exits 0', async () => {
    const { file } = await servicesDir();
    const r = await ssdk('produce words "a"\nproduce words b\n\n# a comment\nconsume counted\nshow state word-counts --key a\nexit\nproduce words never\n', 'run', file, '--ephemeral');
    expect(r.err).toBe(
      'ssdk run: test/shell-test@0.1.0 embedded, state in memory; reading commands from stdin\n' +
        'produced 1 record to words\nnew records: counted +1\nproduced 1 record to words\nnew records: counted +1\n',
    );
    expect(r.out).toBe('"a"\n"b"\nkey  value\n---  -----\na    1\n(1 entry)\n');
    expect(r.code).toBe(0);
  });

  it('shell - a piped script goes on after a failed command and exits 2', async () => {
    const { file } = await servicesDir();
    const r = await ssdk('produce readings {oops\nproduce words fine\nconsume counted\n', 'run', file, '--ephemeral');
    expect(r.out).toBe('"fine"\n');
    expect(r.err).toMatch(/^error: VALUE is not valid JSON/m);
    expect(r.err).toMatch(/ssdk run: 1 command failed\n$/);
    expect(r.code).toBe(2);
  });

  it('shell - --input files are fed before the shell starts', async () => {
    const { dir, file } = await servicesDir();
    await writeFile(join(dir, 'words.jsonl'), '"x"\n"y"\n"x"\n');
    const r = await ssdk('show state word-counts\n', 'run', file, '--ephemeral', '--input', `words=${join(dir, 'words.jsonl')}`);
    expect(r.out).toBe('key  value\n---  -----\nx    2\ny    1\n(2 entries)\n');
    expect(r.code).toBe(0);
  });

  // Two runs over PGlite (the warning is about state on disk).
  it('shell - resuming the state of a run whose input ended warns that every record will be late', { timeout: 120_000 }, async () => {
    const { dir, file } = await servicesDir();
    await writeFile(join(dir, 'readings.jsonl'), `{"value": {"sensor": "a", "value": 1}, "timestamp": ${T0}}\n`);
    const ran = await ssdk('', 'run', file, '--input', `readings=${join(dir, 'readings.jsonl')}`, '--records', '--output-dir', join(dir, 'out'), '--until-idle');
    expect(ran.code).toBe(0);
    const resumed = await ssdk('exit\n', 'run', file);
    expect(resumed.err).toContain('warning: the state resumed here comes from a run whose input ended (the watermark of `window-totals.');
    expect(resumed.err).toContain(`hint: start from empty state with \`ssdk run ${file} --fresh\``);
  });

  it('shell - flags of --until-idle runs are refused without it', async () => {
    const { file } = await servicesDir();
    const r = await ssdk('', 'run', file, '--ephemeral', '--output-dir', 'out');
    expect(r.code).toBe(2);
    expect(r.err).toContain('ssdk run: error: --output-dir is for --until-idle runs');
    const both = await ssdk('', 'run', file, '--fresh', '--resume');
    expect(both.code).toBe(2);
    expect(both.err).toContain('--fresh and --resume contradict each other');
  });

  it('shell - state survives a restart by default and --fresh starts over (PGlite under --state-dir)', async () => {
    const { file } = await servicesDir();
    const state = await mkdtemp(join(tmpdir(), 'ssdk-shell-state-'));
    const first = await ssdk('produce words apple\nproduce words apple\n', 'run', file, '--state-dir', state);
    expect(first.code).toBe(0);
    expect(first.err).toContain(`state resumed from ${state}`);
    const second = await ssdk('produce words apple\nshow state word-counts\nsql SELECT key, value FROM count_words_word_counts\n', 'run', file, '--state-dir', state);
    expect(second.out).toBe('key    value\n-----  -----\napple  3\n(1 entry)\nkey    value\n-----  -----\napple      3\n(1 row)\n');
    expect(second.code).toBe(0);
    const fresh = await ssdk('show state word-counts\n', 'run', file, '--state-dir', state, '--fresh');
    expect(fresh.err).toContain(`fresh state in ${state}`);
    expect(fresh.out).toBe('(word-counts is empty)\n');
    // History is for a person at a terminal: a piped script leaves none.
    await expect(access(join(state, 'history'))).rejects.toThrow();
  }, 120_000);

  it('shell - the ssdk binary reads commands piped to it and exits when they end', async () => {
    const { file } = await servicesDir();
    const child = execFile(process.execPath, [join(repo, 'bin/ssdk.js'), 'run', file, '--ephemeral', '--native'], { timeout: 60_000 });
    child.stdin!.end('produce words "a"\nconsume counted\n');
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(out).toBe('"a"\n');
    expect(code).toBe(0);
  }, 60_000);

  it('shell - history loads oldest first and is trimmed to the last 1000 lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-history-'));
    const file = join(dir, 'nested', 'history');
    expect(await loadHistory(file)).toEqual([]);
    await writeFile(file, Array.from({ length: 1005 }, (_, i) => `consume t${i}`).join('\n') + '\n\n');
    const lines = await loadHistory(file);
    expect(lines).toHaveLength(1000);
    expect(lines[0]).toBe('consume t5');
    expect(lines.at(-1)).toBe('consume t1004');
    expect((await readFile(file, 'utf8')).split('\n')[0]).toBe('consume t5');
  });
});
