/**
 * Deploy anywhere (real planner, NATS object store and PostgreSQL): `ssdk deploy` ships the plan
 * and the compiled functions; the services file and `functions/` are deleted; an operator runs
 * from what it fetches, is killed mid-stream, comes back and finishes, every record once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until, type TestPostgres } from '@ssdk/testing';
import { readJsonLines, ssdk, TestPlanner } from './distributed.testkit.ts';

const BIN = new URL('../../../bin/ssdk.js', import.meta.url).pathname;
const SERVICES = `apiVersion: 0.5.0
meta: {name: shipped, namespace: test, version: 0.1.0}
config: {isolation: native}
topics:
  said: {schema: {value: {type: string}}}
  shouted: {schema: {value: {type: string}}}
services:
  shout:
    sources: [{type: topic, id: said}]
    transforms:
      - operator: map
        uses: shout
    sinks: [{type: topic, id: shouted}]
`;
const FUNCTION = `import { suffix } from './suffix.ts';
export function shout(s: string): string {
  return s.toUpperCase() + suffix;
}
`;

let stack: TestPlanner;
let control: TestPostgres;
let state: TestPostgres;
let dir: string;

beforeAll(async () => {
  stack = await TestPlanner.start('ssdk_shipped');
  ({ control, state, dir } = stack);
}, 60_000);

afterAll(() => stack?.stop());

describe('deploy anywhere', () => {
  it('operator - runs from the shipped plan and functions after the services file and functions/ are gone, and finishes after a kill -9', async () => {
    const project = join(dir, 'project');
    await mkdir(join(project, 'functions'), { recursive: true });
    const file = join(project, 'services.yaml');
    await writeFile(file, SERVICES);
    await writeFile(join(project, 'functions', 'shout.ts'), FUNCTION);
    await writeFile(join(project, 'functions', 'suffix.ts'), "export const suffix = '!';\n");
    const deployed = await ssdk(['deploy', file, ...stack.server(), '--partitions', '1', '--schema', state.schema]);
    expect(deployed.code, deployed.err + stack.log).toBe(0);
    // The client keeps a copy to name the topics; the deployment's folder is gone.
    const client = join(dir, 'client.yaml');
    await cp(file, client);
    await rm(project, { recursive: true, force: true });

    let log = '';
    const start = (): ChildProcess => {
      const op = spawn(process.execPath, [BIN, 'operator', '--dataflow', 'test/shipped', '--operator', 'shout.shout', '--postgres', control.connectionString, '--control-schema', control.schema, ...stack.server()], {
        stdio: ['ignore', 'ignore', 'pipe'],
        cwd: dir,
      });
      op.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      return op;
    };
    const produce = async (values: string[], end = false) => {
      const input = join(dir, `in-${values.join('')}.jsonl`);
      await writeFile(input, values.map((v) => JSON.stringify(v)).join('\n') + '\n');
      const r = await ssdk(['produce', 'said', '--file', input, ...(end ? ['--end'] : []), ...stack.server(), '--partitions', '1', client]);
      expect(r.code, r.err).toBe(0);
    };
    const shouted = async () => {
      const output = join(dir, 'out.jsonl');
      const r = await ssdk(['consume', 'shouted', '--output', output, '--until-idle', '--idle-timeout', '1s', ...stack.server(), '--partitions', '1', client]);
      expect(r.code, r.err).toBe(0);
      return readJsonLines(output);
    };

    let op = start();
    try {
      await produce(['a', 'b']);
      await until('the shipped function to shout', async () => (await shouted()).length === 2);
      expect(log).toMatch(/running deployment [0-9a-f]{12} from its artifacts/);
      op.kill('SIGKILL');
      await new Promise((r) => op.once('exit', r));
      await produce(['c', 'd'], true);
      op = start();
      const code = await new Promise<number | null>((r) => op.once('exit', (c) => r(c)));
      expect(code, log).toBe(0);
      expect(await shouted()).toEqual(['A!', 'B!', 'C!', 'D!']);
    } finally {
      op.kill('SIGKILL');
    }
  }, 120_000);
});
