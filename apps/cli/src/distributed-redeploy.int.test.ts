/**
 * A deployed operator follows its deployment (real planner, NATS and PostgreSQL): `ssdk
 * operator --dataflow` runs version 1; a redeploy with changed code drains it and it goes on
 * with version 2 from the committed offsets (nothing read twice, nothing skipped); an undeploy
 * stops it with exit 0.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openArtifactStore } from '@ssdk/bus';
import { loadDeployedRecord, readBundle, type DeployReply, type DeploymentArtifacts } from '@ssdk/control-plane';
import { until, type TestPostgres } from '@ssdk/testing';
import { askPlanner } from './distributed-control.ts';
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
      await until('the operator to restart on version 2', () => /redeployed \(version 1 → 2, plan [0-9a-f]{12}, artifacts [0-9a-f]{12}\); restarting on it/.test(log));
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

  it('operator - a redeploy of the same plan with other artifacts (a function compiled anew) restarts the unit on them', async () => {
    const file = join(dir, 'artifacts', 'services.yaml');
    await mkdir(join(dir, 'artifacts'), { recursive: true });
    // Native functions: the artifacts here are compiled functions, no component to build. Topics
    // of its own: the first test's streams still hold its records.
    await writeFile(file, SERVICES('s.toUpperCase()').replace('name: shout,', 'name: shout-artifacts,').replace('topics:', 'config: {isolation: native}\ntopics:').replaceAll('said', 'said-again').replaceAll('shouted', 'shouted-again'));
    const v1 = await ssdk(['deploy', file, ...server(), '--partitions', '1', '--schema', `${state.schema}_art`]);
    expect(v1.code, v1.err + stack.log).toBe(0);
    const op = spawn(process.execPath, [BIN, 'operator', '--dataflow', 'test/shout-artifacts', '--operator', 'shout.shout', '--postgres', control.connectionString, '--control-schema', control.schema, ...server()], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SSDK_ISOLATION: 'native', SSDK_REDEPLOY_POLL_MS: '250' },
    });
    let log = '';
    op.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      let n = 0;
      const produce = async (value: string) => {
        const input = join(dir, 'artifacts', `in-${n++}.jsonl`);
        await writeFile(input, JSON.stringify(value) + '\n');
        const r = await ssdk(['produce', 'said-again', '--file', input, ...server(), '--partitions', '1', file]);
        expect(r.code, r.err).toBe(0);
      };
      const shouted = async () => {
        const output = join(dir, 'artifacts', 'out.jsonl');
        const r = await ssdk(['consume', 'shouted-again', '--output', output, '--until-idle', '--idle-timeout', '1s', ...server(), '--partitions', '1', file]);
        expect(r.code, r.err).toBe(0);
        return readJsonLines(output);
      };
      await produce('a');
      await until('version 1 to shout', async () => (await shouted()).length === 1);

      // The same services file, so the same plan; the step's compiled function stored anew (as a
      // new ssdk or compiler would build it), and deployed with the artifacts naming it.
      const deployed = await loadDeployedRecord({ databaseUrl: control.connectionString, controlSchema: control.schema, dataflow: 'test/shout-artifacts' });
      const store = await openArtifactStore({ servers: stack.nats.url, subjectPrefix: stack.nats.prefix });
      let artifacts: DeploymentArtifacts;
      try {
        const step = Object.keys(deployed.artifacts!.native)[0]!;
        const bundle = JSON.parse(new TextDecoder().decode(await store.get(deployed.artifacts!.native[step]!))) as { js: string };
        expect(bundle.js).toContain('toUpperCase()');
        const rebuilt = { ...bundle, js: bundle.js.replace('toUpperCase()', 'toUpperCase() + "~"') };
        artifacts = { ...deployed.artifacts!, native: { ...deployed.artifacts!.native, [step]: await store.put(new TextEncoder().encode(JSON.stringify(rebuilt))) } };
      } finally {
        await store.close();
      }
      const v2 = await askPlanner<DeployReply>(stack.nats.url, stack.nats.prefix, 'deploy', { bundle: await readBundle(file), displayPath: file, partitions: 1, artifacts });
      expect(v2.outcome).toBe('updated');
      expect(v2.version).toBe(2);
      expect(v2.hash).toBe(deployed.hash);
      await until('the operator to restart on the new artifacts', () => /redeployed \(version 1 → 2, plan [0-9a-f]{12}, artifacts [0-9a-f]{12}\); restarting on it/.test(log));
      await produce('c');
      await until('the new artifacts to shout', async () => (await shouted()).length === 2);
      expect(await shouted()).toEqual(['A', 'C~']);
    } finally {
      op.kill('SIGKILL');
    }
  }, 120_000);
});
