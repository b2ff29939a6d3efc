/**
 * A deployed operator follows its deployment (real planner, NATS and PostgreSQL): `ssdk
 * operator --dataflow` runs version 1; a redeploy with changed code drains it and it goes on
 * with version 2 from the committed offsets (nothing read twice, nothing skipped); an undeploy
 * stops it with exit 0.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until, type TestPostgres } from '@ssdk/testing';
import { readJsonLines, ssdk, TestPlanner } from './distributed.testkit.ts';

const BIN = new URL('../../../bin/ssdk.js', import.meta.url).pathname;
const SERVICES = (body: string) => `apiVersion: 0.5.0
meta: {name: shout, namespace: test, version: 0.1.0}
topics:
  said: {schema: {value: {type: string}}}
  shouted: {schema: {value: {type: string}}}
services:
  shout:
    sources: [{type: topic, id: said}]
    transforms:
      - operator: map
        run: |
          function shout(s: string): string {
            return ${body};
          }
    sinks: [{type: topic, id: shouted}]
`;

let stack: TestPlanner;
let control: TestPostgres;
let state: TestPostgres;
let dir: string;

beforeAll(async () => {
  stack = await TestPlanner.start('ssdk_redeploy');
  ({ control, state, dir } = stack);
}, 60_000);

afterAll(() => stack?.stop());

const server = () => stack.server();

describe('operator follows its deployment', () => {
  it('operator - a redeploy restarts the unit on the new version from its offsets; an undeploy stops it', async () => {
    const file = join(dir, 'services.yaml');
    await writeFile(file, SERVICES('s.toUpperCase()'));
    const v1 = await ssdk(['deploy', file, ...server(), '--partitions', '1', '--schema', state.schema]);
    expect(v1.code, v1.err + stack.log).toBe(0);

    const op = spawn(process.execPath, [BIN, 'operator', '--dataflow', 'test/shout', '--operator', 'shout.shout', '--postgres', control.connectionString, '--control-schema', control.schema, ...server()], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SSDK_ISOLATION: 'native', SSDK_REDEPLOY_POLL_MS: '250' },
    });
    let log = '';
    op.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => op.once('exit', (code) => r(code)));
    try {
      const produce = async (values: string[]) => {
        const input = join(dir, `in-${values.join('')}.jsonl`);
        await writeFile(input, values.map((v) => JSON.stringify(v)).join('\n') + '\n');
        const r = await ssdk(['produce', 'said', '--file', input, ...server(), '--partitions', '1', file]);
        expect(r.code, r.err).toBe(0);
      };
      const shouted = async () => {
        const output = join(dir, 'out.jsonl');
        const r = await ssdk(['consume', 'shouted', '--output', output, '--until-idle', '--idle-timeout', '1s', ...server(), '--partitions', '1', file]);
        expect(r.code, r.err).toBe(0);
        return readJsonLines(output);
      };
      await produce(['a', 'b']);
      await until('version 1 to shout', async () => (await shouted()).length === 2);
      expect(await shouted()).toEqual(['A', 'B']);

      await writeFile(file, SERVICES("s.toUpperCase() + '!'"));
      const v2 = await ssdk(['deploy', file, ...server(), '--partitions', '1']);
      expect(v2.code, v2.err).toBe(0);
      expect(v2.out).toContain('version 2');
      await until('the operator to restart on version 2', () => /redeployed \(version 1 → 2, plan [0-9a-f]{12}\); restarting on it/.test(log));
      await produce(['c']);
      await until('version 2 to shout', async () => (await shouted()).length === 3);
      expect(await shouted()).toEqual(['A', 'B', 'C!']);

      const gone = await ssdk(['undeploy', 'test/shout', ...server()]);
      expect(gone.code, gone.err).toBe(0);
      expect(await exited).toBe(0);
      expect(log).toContain('test/shout was undeployed; stopping');
    } finally {
      op.kill('SIGKILL');
    }
  }, 120_000);
});

