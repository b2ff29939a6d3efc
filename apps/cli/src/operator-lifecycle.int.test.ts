/**
 * An operator's lifecycle on the control plane, against a real planner, NATS and PostgreSQL: an
 * `ssdk operator` process publishes each change of its unit's state as a typed event
 * (`LifecycleEvent` on `<prefix>.lifecycle`) — starting, running, then on SIGTERM stopping and
 * stopped — and each change of its partitions (`PartitionsEvent`: taken, rebalanced, released on
 * the stop); `ssdk status` shows the same states. Tests observe the events, not log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectControl, type ControlConnection } from '@ssdk/bus';
import { lifecycleSubject, type DataflowStatus, type LifecycleEvent, type OperatorEvent, type PartitionsEvent } from '@ssdk/control-plane';
import { until, type TestPostgres } from '@ssdk/testing';
import { ssdk, TestPlanner } from './distributed.testkit.ts';

const BIN = new URL('../../../bin/ssdk.js', import.meta.url).pathname;
const SERVICES = `apiVersion: 0.5.0
meta: {name: life, namespace: h8life, version: 0.1.0}
config: {isolation: native}
topics:
  said-h8: {schema: {value: {type: string}}}
  shouted-h8: {schema: {value: {type: string}}}
services:
  shout:
    sources: [{type: topic, id: said-h8}]
    transforms:
      - operator: map
        run: |
          function shout(s: string): string {
            return s.toUpperCase();
          }
    sinks: [{type: topic, id: shouted-h8}]
`;

let stack: TestPlanner;
let control: TestPostgres;
let all: OperatorEvent[] = [];
let listener: ControlConnection | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await TestPlanner.start('ssdk_h8life');
  control = stack.control;
  listener = await connectControl({ servers: stack.nats.url });
  listener.subscribe(lifecycleSubject(stack.nats.prefix), (body) => all.push(body as OperatorEvent));
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await listener?.close();
  await stack?.stop();
});

async function stateOf(dataflow: string): Promise<string | undefined> {
  const r = await ssdk(['status', dataflow, '--json', ...stack.server()]);
  return r.code === 0 ? (JSON.parse(r.out) as DataflowStatus[])[0]?.operators[0]?.state : undefined;
}

describe('operator lifecycle', () => {
  it('operator - publishes typed lifecycle events (starting → running → stopping → stopped on SIGTERM) and ssdk status shows each state', async () => {
    const file = join(stack.dir, 'life.yaml');
    await writeFile(file, SERVICES);
    const deployed = await ssdk(['deploy', file, ...stack.server(), '--partitions', '1', '--schema', stack.state.schema]);
    expect(deployed.code, deployed.err + stack.log).toBe(0);
    all = [];
    const events = () => all.filter((e): e is LifecycleEvent => e.kind === 'state');
    const partitions = () => all.filter((e): e is PartitionsEvent => e.kind !== 'state');
    const op = spawn(process.execPath, [BIN, 'operator', '--dataflow', 'h8life/life', '--operator', 'shout.shout', '--postgres', control.connectionString, '--control-schema', control.schema, ...stack.server()], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env },
    });
    children.push(op);
    let log = '';
    op.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => op.once('exit', (code) => resolve(code)));
    const states = () => events().filter((e) => e.operator === 'shout.shout').map((e) => e.state);

    await until('the operator to say it runs', () => states().includes('running'), 60_000, () => `${log}\nevents: ${JSON.stringify(all)}`);
    await until('status to show running', async () => (await stateOf('h8life/life')) === 'running', 30_000);
    const first = events()[0]!;
    expect(first).toMatchObject({ kind: 'state', dataflow: 'h8life/life', operator: 'shout.shout', state: 'starting', pid: op.pid });
    expect(typeof first.process).toBe('string');
    expect(all.every((e) => e.process === first.process)).toBe(true);
    // Its one partition: leased, then read (typed events, not log lines).
    await until('the partition events', () => partitions().some((e) => e.kind === 'rebalanced'), 30_000, () => JSON.stringify(all));
    expect(partitions().slice(0, 2)).toMatchObject([
      { kind: 'taken', dataflow: 'h8life/life', operator: 'shout.shout', partitions: [0], of: 1 },
      { kind: 'rebalanced', partitions: [0], of: 1, reason: 'started' },
    ]);

    op.kill('SIGTERM');
    expect(await exited).toBe(0);
    await until('the stop to be told', () => states().includes('stopped'), 30_000, () => JSON.stringify(all));
    // Each change once, in order, each event naming the state it left.
    expect(states()).toEqual(['starting', 'running', 'stopping', 'stopped']);
    const changes = events();
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.from).toBe(changes[i - 1]!.state);
    expect(all.map((e) => e.at)).toEqual([...all.map((e) => e.at)].sort((a, b) => a - b));
    // A graceful stop hands its partition back at once.
    expect(partitions().at(-1)).toMatchObject({ kind: 'released', partitions: [0], reason: 'stopping' });
    await until('status to show stopped', async () => (await stateOf('h8life/life')) === 'stopped', 30_000);
  });
});
