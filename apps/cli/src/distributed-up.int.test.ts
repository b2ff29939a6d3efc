/**
 * `ssdk up` end to end on real servers: it builds the component once, starts a planner, deploys
 * word-count through it, and runs one `ssdk operator --dataflow` process per unit, fetching the
 * deployed plan and running its unit sandboxed from the shared component cache. One operator
 * is killed (-9) and must come back; then `ssdk produce --end` / `ssdk consume` give the golden
 * outputs (1 partition keeps them exact), `ssdk state` the golden state, `ssdk status` the
 * counts the operators' heartbeats reported, and `ssdk down` stops every process.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import type { DataflowStatus } from '@ssdk/control-plane';
import { testNats, testPostgres } from '@ssdk/testing';
import type { StackFile } from './stack-file.ts';
import { bufferIo } from './io.ts';
import { readJsonLines, sortedJson, startUp } from './distributed.testkit.ts';
import { main } from './main.ts';

const EXAMPLE = 'examples/word-count';
const FILE = `${EXAMPLE}/services.yaml`;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const lines = readJsonLines;
const sorted = sortedJson;

async function ssdk(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo();
  const code = await main(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number, log: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ssdk up said:\n${log()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('ssdk up (planner + one process per operator unit)', () => {
  it('up - deploys through the planner, restarts a killed operator, equals golden; status shows counts; down stops all', async () => {
    const nats = await testNats({ prefix: 'ssdk_up' });
    const control = await testPostgres({ prefix: 'ssdk_up' });
    const state = await testPostgres({ prefix: 'ssdk_up_state' });
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-up-'));
    cleanups.push(
      async () => (await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix })).destroy(),
      () => control.cleanup(),
      () => state.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    const stackDir = join(dir, 'stack');
    const server = ['--nats', nats.url, '--subject-prefix', nats.prefix];
    // The machine's component cache of the tests: up builds (or finds) the component there once.
    const { up, log, exit: upExit } = startUp(
      [FILE, '--partitions', '1', ...server, '--postgres', control.connectionString, '--control-schema', control.schema, '--schema', state.schema, '--state-dir', stackDir, '--grace', '10s'],
      { ...process.env, SSDK_COMPONENT_CACHE: process.env['SSDK_COMPONENT_CACHE'] ?? join(tmpdir(), 'ssdk-test-components') },
      cleanups,
    );
    const stackPath = join(stackDir, 'stack.json');
    const readStack = async () => JSON.parse(await readFile(stackPath, 'utf8')) as StackFile;

    // The planner and one process per unit, PIDs in stack.json: five units (each key and time step
    // runs at the end of the unit before it).
    const stack = await until('5 operator processes', async () => ((s) => (Object.keys(s.operators).length === 5 ? s : undefined))(await readStack()), 120_000, () => log());
    expect(stack.dataflow).toBe('examples/word-count');
    expect(stack.supervisor).toBe(up.pid);
    expect(stack.planner).toBeDefined();
    for (const pid of [stack.planner!, ...Object.values(stack.operators)]) expect(isAlive(pid)).toBe(true);
    expect(log()).toContain('examples/word-count: created (version 1');
    // Built before anything started; the operators found it cached and run their units sandboxed.
    expect(log().indexOf('components ready in')).toBeGreaterThanOrEqual(0);
    expect(log().indexOf('components ready in')).toBeLessThan(log().indexOf('examples/word-count: created'));

    // A dead operator comes back (a new PID), as compose's restart policy would bring it back.
    const victim = 'count-words.add-to-total';
    process.kill(stack.operators[victim]!, 'SIGKILL');
    await until('the killed operator to restart', async () => ((s) => (s.operators[victim] && s.operators[victim] !== stack.operators[victim] ? s : undefined))(await readStack()), 30_000, () => log());
    expect(log()).toMatch(/\[count-words\.add-to-total\] died \(SIGKILL\); restarting in \d+ ms/);

    // Every unit runs (a heartbeat) and reads its partitions (a lease) before the input comes:
    // on a busy machine five processes take a while to start.
    await until(
      'every operator to hold its leases',
      async () => {
        const r = await ssdk(['status', 'examples/word-count', '--json', ...server]);
        const ops = (JSON.parse(r.out) as DataflowStatus[])[0]!.operators;
        return ops.every((o) => o.processes === 1 && o.leases >= 1) ? ops : undefined;
      },
      240_000,
      () => log(),
    );

    const produced = await ssdk(['produce', 'sentences', '--file', `${EXAMPLE}/input/sentences.jsonl`, '--records', '--end', ...server, '--partitions', '1', FILE]);
    expect(produced.code, produced.err).toBe(0);
    const consume = (topic: string, idle: string) => ssdk(['consume', topic, '--output', join(dir, `${topic}.jsonl`), '--until-idle', '--idle-timeout', idle, ...server, '--partitions', '1', FILE]);
    const consumed = await Promise.all([consume('top-words', '120s'), consume('words', '120s')]);
    for (const c of consumed) expect(c.code, c.err + log()).toBe(0);
    await consume('top-words.late-events', '1s');
    expect(await lines(join(dir, 'top-words.jsonl')), consumed.map((c) => c.err).join('') + log()).toEqual(await lines(`${EXAMPLE}/expected/top-words.jsonl`));
    expect(sorted(await lines(join(dir, 'words.jsonl')))).toEqual(sorted(await lines(`${EXAMPLE}/expected/words.jsonl`)));
    expect(sorted(await lines(join(dir, 'top-words.late-events.jsonl')))).toEqual(sorted(await lines(`${EXAMPLE}/expected/top-words.late-events.jsonl`)));

    // The state, read with `ssdk state` through the deployed plan.
    const st = await ssdk(['state', 'examples/word-count', 'word-totals', '--json', '--postgres', control.connectionString, '--control-schema', control.schema]);
    expect(st.code, st.err).toBe(0);
    const totals = Object.fromEntries(st.out.trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: number }).map((e) => [e.key, e.value]));
    expect(totals).toEqual(JSON.parse(await readFile(`${EXAMPLE}/expected/state/word-totals.json`, 'utf8')));

    // Every operator ended its input; status shows what their heartbeats counted, and no lag.
    const status = await until(
      'every operator to report its end',
      async () => {
        const r = await ssdk(['status', 'examples/word-count', '--json', ...server]);
        const s = (JSON.parse(r.out) as DataflowStatus[])[0]!;
        return s.operators.every((op) => op.state === 'ended') ? s : undefined;
      },
      30_000,
      () => log(),
    );
    const op = (id: string) => status.operators.find((o) => o.id === id)!;
    expect(op('count-words.split-sentence').recordsIn).toBe((await lines(`${EXAMPLE}/input/sentences.jsonl`)).length);
    expect(op('count-words.is-countable').recordsOut).toBe((await lines(`${EXAMPLE}/expected/words.jsonl`)).length);
    expect(op('top-words.count-in-window').late).toBe((await lines(`${EXAMPLE}/expected/top-words.late-events.jsonl`)).length);
    expect(status.operators.map((o) => o.lag)).toEqual(status.operators.map(() => 0));
    // Their processes exited (a final heartbeat says so): none is alive.
    expect(status.operators.map((o) => o.processes)).toEqual(status.operators.map(() => 0));
    const table = await ssdk(['status', 'examples/word-count', ...server]);
    const split = op('count-words.split-sentence');
    expect(table.out).toMatch(new RegExp(`^count-words\\.split-sentence\\s+flat-map\\s+0\\s+0\\s+${split.recordsIn}\\s+${split.recordsOut}\\s+0\\s+0\\s+0\\s+end of input\\s+ended$`, 'm'));

    const running = log().split('\n').filter((l) => l.includes(': running ('));
    expect(new Set(running.map((l) => /^\[([^\]]+)\]/.exec(l)?.[1])).size).toBe(5);
    expect(running.every((l) => l.includes('; functions sandboxed (component '))).toBe(true);
    expect(log()).not.toMatch(/^\[[^\]]+\] .*building ssdk's WebAssembly engine/m);

    // down: the supervisor, the planner and anything left stop; stack.json goes.
    // A final heartbeat goes out just before a process exits, so the supervisor may see the
    // exits a moment after status shows none alive: wait for its line rather than race it.
    await until('the supervisor to see every operator end', async () => (log().includes('every operator ended its input; the planner keeps running') ? true : undefined), 30_000, () => log());
    const down = await ssdk(['down', FILE, '--state-dir', stackDir]);
    expect(down.code, down.err).toBe(0);
    expect(await upExit).toBe(0);
    expect(isAlive(stack.planner!)).toBe(false);
    await expect(readFile(stackPath, 'utf8')).rejects.toThrow(/ENOENT/);
  }, 520_000);
});
