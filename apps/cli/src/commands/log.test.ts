import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { encodeRecordFrames } from '@ssdk/records';
import { logTopicOf, type LogLine } from '@ssdk/runtime';
import { testNats } from '@ssdk/testing';
import { bufferIo } from '../io.ts';
import { main } from '../main.ts';

const SERVICES = `apiVersion: 0.5.0
meta:
  name: chatty
  version: 0.1.0
  namespace: tests
types:
  word:
    type: string
topics:
  words:
    schema:
      value:
        type: word
  loud:
    schema:
      value:
        type: word
services:
  shout:
    sources:
      - type: topic
        id: words
    transforms:
      - operator: map
        run: |
          function upper(w: Word, ctx: Ctx): Word {
            ctx.log('shouting', w, { length: w.length });
            return w.toUpperCase();
          }
    sinks:
      - type: topic
        id: loud
`;

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function ssdk(cwd: string, ...argv: string[]) {
  const io = bufferIo(cwd);
  const code = await main(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

async function dataflowDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-log-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'services.yaml'), SERVICES);
  await writeFile(join(dir, 'words.jsonl'), '"hey"\n"you"\n');
  return dir;
}

describe('ssdk log', () => {
  it('ssdk log - an embedded run stores the ctx.log lines with operator, partition and offset', async () => {
    const dir = await dataflowDir();
    const file = join(dir, 'services.yaml');
    const run = await ssdk(dir, 'run', file, '--native', '--input', `words=${join(dir, 'words.jsonl')}`, '--output-dir', join(dir, 'out'), '--until-idle');
    expect(run.err).not.toMatch(/failed/);
    expect(run.code).toBe(0);
    const log = await ssdk(dir, 'log', file);
    expect(log.code).toBe(0);
    expect(log.out.trim().split('\n').map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'shout.upper partition 0 offset 1: shouting hey {"length":3}',
      'shout.upper partition 0 offset 1: shouting you {"length":3}',
    ]);
    expect((await ssdk(dir, 'log', file, '-n', '1')).out.trim().split('\n')).toHaveLength(1);
    expect((await ssdk(dir, 'log', file, '--operator', 'shout.other')).out).toBe('');
    // 120 s: the first run of the file starts PGlite and type-checks the function, 38 s at load 21
    // on 2 cores (a 60 s limit was hit once at load ~16).
  }, 120_000);

  it('ssdk log - with state in memory only, an embedded run prints the lines instead', async () => {
    const dir = await dataflowDir();
    const file = join(dir, 'services.yaml');
    const run = await ssdk(dir, 'run', file, '--native', '--ephemeral', '--input', `words=${join(dir, 'words.jsonl')}`, '--output-dir', join(dir, 'out'), '--until-idle');
    expect(run.code).toBe(0);
    expect(run.err).toMatch(/^log: \S+ shout\.upper partition 0 offset 1: shouting hey \{"length":3\}$/m);
    expect((await ssdk(dir, 'log', file)).err).toMatch(/no function log lines yet/);
  }, 60_000);

  it('ssdk log - NS/NAME reads the log topic operator services publish to on NATS', async () => {
    const nats = await testNats();
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    cleanups.push(async () => {
      await bus.destroy();
      await bus.close();
    });
    const topic = logTopicOf({ namespace: 'tests', name: 'chatty' }, nats.prefix);
    const server = ['--nats', nats.url, '--subject-prefix', nats.prefix];
    const none = await ssdk(process.cwd(), 'log', 'tests/chatty', ...server);
    expect(none.err).toMatch(/no function log lines yet/);
    await bus.ensureTopic(topic);
    const lines: LogLine[] = [1, 2, 3].map((n) => ({ time: 1_700_000_000_000 + n, operator: 'shout.upper', partition: n % 2, offset: 10 + n, message: `line ${n}` }));
    for (const l of lines) {
      await bus.publish(topic.name, 0, encodeRecordFrames([{ key: l.operator, value: JSON.stringify(l), timestamp: l.time }], 900_000).map((data) => ({ data })));
    }
    const got = await ssdk(process.cwd(), 'log', 'tests/chatty', '-n', '2', ...server);
    expect(got.code).toBe(0);
    expect(got.out).toBe(
      ['2023-11-14T22:13:20.002Z shout.upper partition 0 offset 12: line 2', '2023-11-14T22:13:20.003Z shout.upper partition 1 offset 13: line 3', ''].join('\n'),
    );
    // -f prints what comes later, until stopped.
    const stop = new AbortController();
    const io = bufferIo();
    const { logSpec, runLog } = await import('./log.ts');
    const { parseCommand } = await import('../args.ts');
    const following = runLog(parseCommand(logSpec, ['tests/chatty', '-f', '-n', '0', ...server]), io, stop.signal);
    await new Promise((r) => setTimeout(r, 500));
    const later: LogLine = { time: 1_700_000_000_100, operator: 'shout.upper', partition: 0, offset: 20, message: 'later' };
    await bus.publish(topic.name, 0, encodeRecordFrames([{ key: later.operator, value: JSON.stringify(later), timestamp: later.time }], 900_000).map((data) => ({ data })));
    const deadline = Date.now() + 10_000;
    while (!io.stdout().includes('later') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    expect(await following).toBe(0);
    expect(io.stdout()).toBe('2023-11-14T22:13:20.100Z shout.upper partition 0 offset 20: later\n');
  }, 60_000);

  it('ssdk log - a target that is neither a file nor NS/NAME is a usage error', async () => {
    const r = await ssdk(process.cwd(), 'log', 'no-such-thing');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/neither a services file nor NS\/NAME/);
  });
});
