import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestShell, T0, type TestShell } from './test-dataflow.ts';

let open: TestShell | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function start(): Promise<TestShell> {
  open = await openTestShell();
  return open;
}

/** The data rows of a table the shell printed (header and rule dropped), cells split on 2+ blanks. */
function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  const rule = lines.findIndex((l) => /^-+( +-+)*$/.test(l));
  return lines
    .slice(rule + 1)
    .filter((l) => l.trim() !== '' && !l.startsWith('('))
    .map((l) => l.trim().split(/\s{2,}/));
}

describe('shell', () => {
  it('shell - produce writes a record and consume prints what arrived since the last consume', async () => {
    const s = await start();
    expect(await s.run('produce words apple')).toBe('produced 1 record to words\nnew records: counted +1\n');
    await s.run('produce words "pear"');
    expect(await s.run('consume counted')).toBe('"apple"\n"pear"\n');
    expect(await s.run('consume counted')).toBe('(no new records on counted; 2 records in all: `consume counted --from-beginning` shows them)\n');
    await s.run("produce words it's");
    await s.run("produce words ' spaced out '");
    expect(await s.run('consume words --from-beginning')).toBe('"apple"\n"pear"\n"it\'s"\n" spaced out "\n');
    await s.run('produce words plum');
    expect(await s.run('consume counted')).toBe('"it\'s"\n" spaced out "\n"plum"\n');
    expect(await s.run('consume counted --from-beginning -n 2')).toBe('"apple"\n"pear"\n(3 more: `consume counted` shows the next)\n');
    expect(await s.run('consume counted -n 2')).toBe('"it\'s"\n" spaced out "\n(1 more: `consume counted` shows the next)\n');
    expect(await s.run('consume counted')).toBe('"plum"\n');
    expect(await s.run('consume totals')).toBe('(totals is empty)\n');
  });

  it('shell - consume --records prints key, value, timestamp and headers', async () => {
    const s = await start();
    await s.run('produce words --time 2025-01-06T09:00:00Z apple');
    await s.run(`produce words --key ignored --time ${T0 + 5} "pear"`);
    expect(await s.run('consume counted --records')).toBe(
      `{"key":"apple","value":"apple","timestamp":${T0}}\n{"key":"pear","value":"pear","timestamp":${T0 + 5}}\n`,
    );
    // The source topic holds the records as produced, with the key given.
    expect(await s.run('consume words --records -n 1 --from-beginning')).toBe(`{"value":"apple","timestamp":${T0}}\n(1 more: \`consume words\` shows the next)\n`);
    expect(await s.run('consume words --records')).toBe(`{"key":"ignored","value":"pear","timestamp":${T0 + 5}}\n`);
  });

  it('shell - produce --file feeds a JSON-lines file, bare or as records', async () => {
    const s = await start();
    await writeFile(join(s.dir, 'words.jsonl'), '"a"\n"b"\n\n"a"\n');
    await writeFile(join(s.dir, 'readings.jsonl'), `{"value": {"sensor": "x", "value": 1}, "timestamp": ${T0}}\n`);
    expect(await s.run('produce words --file words.jsonl')).toBe('produced 3 records to words\nnew records: counted +3\n');
    expect(await s.run('produce readings --file readings.jsonl --records')).toBe('produced 1 record to readings\n');
    expect(await s.run('produce words --file nope.jsonl')).toMatch(/^error: file not found: nope\.jsonl — hint: paths are relative to /);
    // A bad line is dead-lettered with its file and line, as `ssdk produce --file` does; the others go on.
    await writeFile(join(s.dir, 'bad.jsonl'), `{"sensor": "y", "value": 2}\n{"sensor": \n`);
    expect(await s.run('produce readings --file bad.jsonl')).toBe('produced 2 records to readings\nnew records: totals +1, window-totals.dead-letter +1\ndead letters: `consume window-totals.dead-letter` shows why\n');
    expect(await s.run('consume window-totals.dead-letter')).toMatch(/bad\.jsonl:2: not valid JSON/);
  });

  it('shell - consume shows dead letters with their reasons after a bad record; the rest goes on', async () => {
    const s = await start();
    const out = await s.run('produce readings {"sensor": "a", "value": 300}');
    expect(out).toBe(
      'produced 1 record to readings\nnew records: window-totals.dead-letter +1\ndead letters: `consume window-totals.dead-letter` shows why\n',
    );
    await s.run(`produce readings --time ${T0} {"sensor": "a", "value": 3}`);
    const dead = (await s.run('consume window-totals.dead-letter')).trim().split('\n');
    expect(dead).toHaveLength(1);
    const letter = JSON.parse(dead[0]!) as { reason: string; operator: string };
    expect(letter.reason).toBe('record does not match topic `readings`: value: 300 is out of range for u8 (0 to 255)');
    expect(letter.operator).toBe('window-totals.event-time');
    expect(await s.run('consume window-totals.dead-letter --records')).toMatch(/^\(no new records/);
    expect(await s.run('consume window-totals.dead-letter --records --from-beginning')).toContain('"headers":{"ssdk-reason":"record does not match topic `readings`');
    expect(await s.run('show state in-window')).toContain('a    3');
  });

  it('shell - show state lists the states, shows one as a table, and one key with --key', async () => {
    const s = await start();
    for (const w of ['apple', 'pear', 'apple']) await s.run(`produce words ${w}`);
    const list = await s.run('show state');
    expect(tableRows(list)).toEqual([
      ['word-counts', 'count-words', 'count_words_word_counts', 'string → u32', 'no', '2'],
      ['in-window', 'window-totals', 'window_totals_in_window', 'string → u32', 'yes (0 windows open)', '0'],
    ]);
    const all = await s.run('show state word-counts');
    expect(all.split('\n')[0]).toBe('key    value');
    expect(tableRows(all)).toEqual([
      ['apple', '2'],
      ['pear', '1'],
    ]);
    expect(all).toContain('(2 entries)');
    expect(tableRows(await s.run('show state word-counts --key pear'))).toEqual([['pear', '1']]);
    expect(await s.run('show state word-counts --key fig')).toBe('(no entry for key `fig` in word-counts)\n');
    expect(await s.run('show state count-words.word-counts --key apple')).toContain('apple  2');
    expect(await s.run('show state word-count')).toBe(
      'error: unknown state `word-count` (did you mean `word-counts`?) — hint: this dataflow\'s states: word-counts, in-window\n',
    );
  });

  it('shell - windowed state shows window bounds; --window picks the latest or the one holding a time; late events have reasons', async () => {
    const s = await start();
    await s.run(`produce readings --time ${T0} {"sensor": "a", "value": 1}`);
    await s.run(`produce readings --time ${T0 + 1_000} {"sensor": "b", "value": 2}`);
    await s.run(`produce readings --time ${T0 + 3_000} {"sensor": "a", "value": 4}`);
    const first = await s.run('show state in-window');
    expect(first.split('\n')[0]).toMatch(/^window start +window end +key +value$/);
    expect(tableRows(first)).toEqual([
      ['2025-01-06T09:00:00.000Z', '2025-01-06T09:00:10.000Z', 'a', '5'],
      ['2025-01-06T09:00:00.000Z', '2025-01-06T09:00:10.000Z', 'b', '2'],
    ]);
    // 09:00:12 opens the next window and, past the 1 s grace, closes the first: it flushes.
    expect(await s.run(`produce readings --time 2025-01-06T09:00:12Z {"sensor": "c", "value": 7}`)).toContain('new records: totals +1');
    expect(await s.run('consume totals')).toBe('[{"sensor":"a","sum":5},{"sensor":"b","sum":2}]\n');
    expect(tableRows(await s.run('show state in-window'))).toEqual([['2025-01-06T09:00:10.000Z', '2025-01-06T09:00:20.000Z', 'c', '7']]);
    await s.run(`produce readings --time ${T0 + 15_000} {"sensor": "d", "value": 1}`);
    expect(tableRows(await s.run('show state in-window --window'))).toHaveLength(2);
    expect(await s.run('show state in-window --window 2025-01-06T09:00:05Z')).toBe(
      '(no open windows holding 2025-01-06T09:00:05.000Z: a window\'s state is dropped once the window is flushed)\n',
    );
    expect(tableRows(await s.run(`show state in-window --window ${T0 + 11_000} --key d`))).toEqual([['2025-01-06T09:00:10.000Z', '2025-01-06T09:00:20.000Z', 'd', '1']]);
    expect(await s.run('show state word-counts --window')).toBe('error: state `word-counts` is not windowed — hint: show it without --window\n');
    // A reading for the closed first window is late: it goes to late-events with the reason in a header.
    expect(await s.run(`produce readings --time ${T0 + 2_000} {"sensor": "z", "value": 9}`)).toContain('window-totals.late-events +1');
    const late = JSON.parse(await s.run('consume window-totals.late-events --records')) as { value: unknown; headers: Record<string, string> };
    expect(late.value).toEqual({ sensor: 'z', value: 9 });
    expect(late.headers['ssdk-reason']).toMatch(/^late: /);
  });

  it('shell - show metrics counts move after produce', async () => {
    const s = await start();
    const row = (text: string, op: string) => tableRows(text).find((r) => r[0] === op)!;
    const before = await s.run('show metrics');
    expect(before.split('\n')[0]).toMatch(/^operator +state +in +out +failed +late +batches +watermark +p50 ms +p99 ms$/);
    expect(row(before, 'window-totals.event-time').slice(2, 7)).toEqual(['0', '0', '0', '0', '0']);
    await s.run(`produce readings --time ${T0} {"sensor": "a", "value": 1}`);
    await s.run('produce readings {"sensor": "a", "value": 256}');
    await s.run(`produce readings --time ${T0 + 12_000} {"sensor": "a", "value": 1}`);
    await s.run(`produce readings --time ${T0} {"sensor": "a", "value": 1}`);
    const after = await s.run('show metrics');
    // The operator reading `readings` checks each record; the one writing `totals` keeps the window
    // (one unit when the plan fuses them).
    const ops = s.session.plan.operators;
    const first = row(after, ops.find((o) => o.inputs.some((i) => i.topic === 'readings'))!.id);
    const windowOp = row(after, ops.find((o) => o.outputs.includes('totals'))!.id);
    expect([first[2], first[4]]).toEqual(['4', '1']);
    expect([windowOp[3], windowOp[5]]).toEqual(['1', '1']);
    expect(windowOp[7]).toBe('2025-01-06T09:00:11.000Z');
    expect(Number(windowOp[6])).toBeGreaterThan(0);
  });

  it('shell - show graph lists every operator id', async () => {
    const s = await start();
    const graph = await s.run('show graph');
    for (const op of s.session.plan.operators) expect(graph).toContain(op.id);
    expect(graph).toMatch(/^plan test\/shell-test@0\.1\.0/);
    expect(await s.run('show grph')).toBe('error: `show grph` is not a command (did you mean `show graph`?) — hint: show state, show graph or show metrics\n');
  });

  it('shell - tab completion offers commands, topics, states and flags', async () => {
    const { shell, dir } = await start();
    await writeFile(join(dir, 'words.jsonl'), '"a"\n');
    expect(shell.complete('produce words --file wo')).toEqual([['words.jsonl'], 'wo']);
    expect(shell.complete('')[0]).toEqual(['consume', 'exit', 'help', 'produce', 'quit', 'show', 'sql']);
    expect(shell.complete('pro')).toEqual([['produce'], 'pro']);
    expect(shell.complete('produce ')[0]).toEqual(['counted', 'readings', 'totals', 'words']);
    const own = shell.session.plan.topics.map((t) => t.id).filter((id) => id.startsWith('window-totals.'));
    expect(shell.complete('consume window-totals.')[0]).toEqual(own.sort());
    expect(own).toEqual(expect.arrayContaining(['window-totals.dead-letter', 'window-totals.late-events']));
    expect(shell.complete('consume counted --fr')).toEqual([['--from-beginning'], '--fr']);
    expect(shell.complete('consume counted ')[0]).toEqual(['--from-beginning', '--limit', '--records']);
    expect(shell.complete('produce words --')[0]).toEqual(['--file', '--key', '--records', '--time']);
    expect(shell.complete('show ')[0]).toEqual(['graph', 'metrics', 'state']);
    expect(shell.complete('show state ')[0]).toEqual(['in-window', 'word-counts']);
    expect(shell.complete('show state word-counts --')[0]).toEqual(['--key', '--window']);
    expect(shell.complete('help s')[0]).toEqual(['show', 'sql']);
    expect(shell.complete('sql select * from co')[0]).toEqual(['count_words_word_counts']);
    expect(shell.complete('produce words --key ')[0]).toEqual([]);
  });

  it('shell - an unknown command suggests the closest one', async () => {
    const s = await start();
    expect(await s.run('prodce words apple')).toBe('error: unknown command `prodce` (did you mean `produce`?) — hint: `help` lists the commands\n');
    expect(await s.run('comsume counted')).toContain('(did you mean `consume`?)');
    expect(await s.run('xyzzy')).toBe('error: unknown command `xyzzy` — hint: `help` lists the commands\n');
    expect(await s.run('consume countd')).toBe(
      'error: unknown topic `countd` (did you mean `counted`?) — hint: this dataflow\'s topics: words, counted, readings, totals, count-words.dead-letter, count-words.late-events, window-totals.dead-letter, window-totals.late-events\n',
    );
    expect(await s.run('consume counted --from-begining')).toBe(
      'error: `consume` has no flag `--from-begining` (did you mean `--from-beginning`?) — hint: its flags: --from-beginning, --limit, --records\n',
    );
  });

  it('shell - a bad JSON value is a one-line error and the shell goes on', async () => {
    const s = await start();
    const out = await s.run('produce readings {"sensor": "a", value: 1}');
    expect(out.split('\n')).toEqual([expect.stringMatching(/^error: VALUE is not valid JSON \(.+\) — hint: `readings` holds reading: write it as JSON, strings in double quotes$/), '']);
    expect(out).not.toMatch(/\n\s+at /);
    expect(await s.run('produce readings --time soon {"sensor": "a", "value": 1}')).toBe(
      'error: --time takes epoch milliseconds or an ISO date, got `soon` — hint: e.g. --time 1736154000000 or --time 2025-01-06T09:00:00Z\n',
    );
    expect(await s.run('produce words "unclosed')).toMatch(/^error: VALUE is not valid JSON \(.*\) — hint: close the string's quotes, or write the words without quotes\n$/);
    expect(await s.run('consume "counted')).toBe('error: unterminated double quote — hint: close the quote, or write the value without it\n');
    expect(await s.run('produce window-totals.dead-letter {}')).toBe(
      'error: `window-totals.dead-letter` is the dead-letter topic of service `window-totals`: the dataflow writes it — hint: produce to: words, counted, readings, totals\n',
    );
    expect(await s.run('produce words')).toBe('error: produce needs a VALUE (JSON) or --file PATH — hint: usage: produce TOPIC [--key K] [--time T] VALUE | produce TOPIC --file PATH [--records]\n');
    expect(await s.run('sql SELECT 1')).toMatch(/^error: sql needs the state database, and this session keeps state in memory \(--ephemeral\) — hint: /);
    expect(await s.run('produce words fine')).toBe('produced 1 record to words\nnew records: counted +1\n');
  });

  it('shell - help lists the commands and explains each', async () => {
    const s = await start();
    const help = await s.run('help');
    for (const usage of ['produce TOPIC [--key K] [--time T] VALUE', 'consume TOPIC [--from-beginning] [-n N] [--records]', 'show state [NAME]', 'show graph', 'show metrics', 'sql QUERY', 'exit']) {
      expect(help).toContain(usage);
    }
    expect(await s.run('help consume')).toMatch(/^usage: consume TOPIC[^]*-n, --limit N[^]*examples:\n {2}consume top-words/);
    expect(await s.run('help show state')).toMatch(/^usage: show state/);
    expect(await s.run('help show')).toContain('usage: show metrics');
    expect(await s.run('help quit')).toMatch(/^usage: exit/);
    expect(await s.run('help prodce')).toBe('error: no command `prodce` (did you mean `produce`?) — hint: `help` lists the commands\n');
  });

  it('shell - exit and quit end the session; blank lines and comments do nothing', async () => {
    const s = await start();
    expect((await s.shell.execute('   ')).chunks).toEqual([]);
    expect((await s.shell.execute('# a comment')).chunks).toEqual([]);
    expect((await s.shell.execute('quit')).exit).toBe(true);
    expect((await s.shell.execute('exit')).exit).toBe(true);
    expect(await s.run('exit now')).toBe('error: `exit` takes no arguments\n');
  });
});
