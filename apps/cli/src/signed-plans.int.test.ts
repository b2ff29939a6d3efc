/**
 * Signed plans against a real planner, NATS and PostgreSQL. The attacker reaches NATS (and so
 * the planner, which here trusts no key) but does not hold the deployer's signing key: what they
 * deploy is stored as a new version, and the operators refuse it — unsigned, signed by their own
 * key, or carrying a signature sniffed from the deployer's request — say why in their log and in
 * `ssdk status`, and keep running the version they trust. A redeploy that turns sandboxed code
 * native is refused even where no key is trusted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createOperator } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDeploymentRegistry, readBundle, type DataflowStatus, type DeployReply, type DeployRequest } from '@ssdk/control-plane';
import { publicKeyOf } from '@ssdk/runtime';
import { until, type TestPostgres } from '@ssdk/testing';
import { askPlanner } from './distributed-control.ts';
import { readJsonLines, ssdk, TestPlanner } from './distributed.testkit.ts';

const BIN = new URL('../../../bin/ssdk.js', import.meta.url).pathname;
const SERVICES = (name: string, body: string, config = '') => `apiVersion: 0.5.0
meta: {name: ${name}, namespace: h3sig, version: 0.1.0}
${config}topics:
  said-${name}: {schema: {value: {type: string}}}
  shouted-${name}: {schema: {value: {type: string}}}
services:
  shout:
    sources: [{type: topic, id: said-${name}}]
    transforms:
      - operator: map
        run: |
          function shout(s: string): string {
            return ${body};
          }
    sinks: [{type: topic, id: shouted-${name}}]
`;

const seed = () => new TextDecoder().decode(createOperator().getSeed());
const deployerSeed = seed();
const attackerSeed = seed();

let stack: TestPlanner;
let control: TestPostgres;
let state: TestPostgres;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await TestPlanner.start('ssdk_signed');
  ({ control, state, dir } = stack);
  await writeFile(join(dir, 'deployer.nk'), `${deployerSeed}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'attacker.nk'), `${attackerSeed}\n`, { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await stack?.stop();
});

const server = () => stack.server();

/** `ssdk operator --dataflow h3sig/NAME` with `env` added; its stderr in `log()`. */
function operator(name: string, env: NodeJS.ProcessEnv): { log: () => string } {
  const op = spawn(process.execPath, [BIN, 'operator', '--dataflow', `h3sig/${name}`, '--operator', 'shout.shout', '--postgres', control.connectionString, '--control-schema', control.schema, ...server()], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SSDK_REDEPLOY_POLL_MS: '250', ...env },
  });
  children.push(op);
  let log = '';
  op.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  return { log: () => log };
}

/** What someone with NATS access alone can do: a deploy request of their own, straight to the planner. */
async function publishPlan(file: string, extra: Partial<DeployRequest> = {}): Promise<DeployReply> {
  return askPlanner<DeployReply>(stack.nats.url, stack.nats.prefix, 'deploy', { bundle: await readBundle(file), displayPath: file, partitions: 1, ...extra } satisfies DeployRequest);
}

async function produce(file: string, values: string[]): Promise<void> {
  const input = join(dir, `in-${values.join('')}-${Date.now()}.jsonl`);
  await writeFile(input, values.map((v) => JSON.stringify(v)).join('\n') + '\n');
  const r = await ssdk(['produce', `said-${basename(file, '.yaml')}`, '--file', input, ...server(), '--partitions', '1', file]);
  expect(r.code, r.err).toBe(0);
}

async function shouted(file: string): Promise<unknown[]> {
  const output = join(dir, `out-${Date.now()}.jsonl`);
  const r = await ssdk(['consume', `shouted-${basename(file, '.yaml')}`, '--output', output, '--until-idle', '--idle-timeout', '1s', ...server(), '--partitions', '1', file]);
  expect(r.code, r.err).toBe(0);
  return readJsonLines(output);
}

async function statusOf(dataflow: string): Promise<DataflowStatus> {
  const r = await ssdk(['status', dataflow, '--json', ...server()]);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as DataflowStatus[])[0]!;
}

describe('signed plans', () => {
  it('operator - runs only plans signed by a trusted key: unsigned, wrong key and a sniffed signature are refused (logged, in status); a signed redeploy runs', async () => {
    const file = join(dir, 'signed.yaml');
    const evil = join(dir, 'evil', 'signed.yaml');
    // Native code (no component to build): what is at stake is which code runs, not how.
    const NATIVE = 'config: {isolation: native}\n';
    await writeFile(file, SERVICES('signed', 's.toUpperCase()', NATIVE));
    await mkdir(join(dir, 'evil'), { recursive: true });
    await writeFile(evil, SERVICES('signed', "'PWNED ' + s", NATIVE));
    const v1 = await ssdk(['deploy', file, ...server(), '--partitions', '1', '--schema', state.schema, '--signing-key', join(dir, 'deployer.nk')]);
    expect(v1.code, v1.err + stack.log).toBe(0);

    const op = operator('signed', { SSDK_ISOLATION: 'plan', SSDK_TRUSTED_KEYS: publicKeyOf(deployerSeed) });
    await produce(file, ['a']);
    await until('version 1 to run', async () => (await shouted(file)).length === 1, 60_000);

    // 1. Unsigned, straight to the planner (which trusts no key and stores it as version 2).
    expect((await publishPlan(evil)).version).toBe(2);
    await until('the operator to refuse version 2', () => op.log().includes('refusing version 2 of h3sig/signed: version 2 of h3sig/signed is not signed'), 60_000, () => op.log());
    await until('status to show the refusal', async () => (await statusOf('h3sig/signed')).operators[0]!.state === 'refused');
    expect((await statusOf('h3sig/signed')).operators[0]!.refused).toContain('is not signed');
    const shown = await ssdk(['status', 'h3sig/signed', ...server()]);
    expect(shown.out).toMatch(/refused: version 2 of h3sig\/signed is not signed/);

    // 2. Signed with the attacker's own key, through `ssdk deploy`.
    const v3 = await ssdk(['deploy', evil, ...server(), '--partitions', '1', '--signing-key', join(dir, 'attacker.nk')]);
    expect(v3.code, v3.err).toBe(0);
    await until('the operator to refuse version 3', () => /refusing version 3 of h3sig\/signed: .*is signed by \w{8}…\w{4}, which is not a trusted key/.test(op.log()), 60_000, () => op.log());

    // 3. The deployer's real signature of version 1 (it travels on NATS), attached to other code.
    const registry = await openDeploymentRegistry({ connectionString: control.connectionString, schema: control.schema });
    const sniffed = (await registry.version('h3sig', 'signed', 1))!.signature!;
    await registry.close();
    expect(sniffed.key).toBe(publicKeyOf(deployerSeed));
    expect((await publishPlan(evil, { signature: sniffed })).version).toBe(4);
    await until('the operator to refuse version 4', () => op.log().includes("refusing version 4 of h3sig/signed: version 4 of h3sig/signed does not match its signature: its services file and functions are not the signed ones"), 60_000, () => op.log());

    // All along, version 1 went on: no record was shouted by the attacker's code.
    await produce(file, ['b']);
    await until('b to be shouted', async () => (await shouted(file)).length === 2);
    expect(await shouted(file)).toEqual(['A', 'B']);
    expect(op.log()).toContain('keeps running version 1');

    // 4. The deployer signs a redeploy: the operator moves to it.
    await writeFile(file, SERVICES('signed', "s.toUpperCase() + '!'", NATIVE));
    const v5 = await ssdk(['deploy', file, ...server(), '--partitions', '1', '--signing-key', join(dir, 'deployer.nk')]);
    expect(v5.code, v5.err).toBe(0);
    await until('the operator to run version 5', () => /redeployed \(version 1 → 5, plan [0-9a-f]{12}(, artifacts [0-9a-f]{12})?\); restarting on it/.test(op.log()), 60_000, () => op.log());
    await produce(file, ['c']);
    await until('c to be shouted', async () => (await shouted(file)).length === 3);
    expect(await shouted(file)).toEqual(['A', 'B', 'C!']);
    await until('status to forget the refusal', async () => (await statusOf('h3sig/signed')).operators[0]!.state !== 'refused');
  }, 240_000);

  it('operator - a redeploy that turns sandboxed code native is refused without a trusted signature, even where no key is trusted', async () => {
    const file = join(dir, 'native.yaml');
    await writeFile(file, SERVICES('native', 's.toUpperCase()'));
    expect((await publishPlan(file)).version).toBe(1);
    await writeFile(file, SERVICES('native', "'NATIVE ' + s", 'config: {isolation: native}\n'));
    expect((await publishPlan(file)).version).toBe(2);

    // No SSDK_TRUSTED_KEYS, the plan decides isolation.
    const op = operator('native', { SSDK_ISOLATION: 'plan', SSDK_TRUSTED_KEYS: '' });
    await until('the operator to refuse version 2', () => op.log().includes('refusing version 2 of h3sig/native: version 2 of h3sig/native runs `shout.shout` natively (isolation: native), which version 1 ran sandboxed or did not have'), 60_000, () => op.log());
    await until('status to show the refusal', async () => (await statusOf('h3sig/native')).operators[0]!.state === 'refused');
    await produce(file, ['x']);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await shouted(file)).toEqual([]);

    // The deployer's signature says so: with its key trusted, the native version runs.
    const trusting = operator('native', { SSDK_ISOLATION: 'plan', SSDK_TRUSTED_KEYS: publicKeyOf(deployerSeed) });
    const v3 = await ssdk(['deploy', file, ...server(), '--partitions', '1', '--signing-key', join(dir, 'deployer.nk')]);
    expect(v3.code, v3.err).toBe(0);
    await until('the trusting operator to run the signed native version', async () => (await shouted(file)).length === 1, 60_000);
    expect(await shouted(file)).toEqual(['NATIVE x']);
    expect(trusting.log()).not.toContain('refusing version 3');
    // The keyless operator still refuses: only a trusted signature grants native code.
    await until('the keyless operator to refuse version 3', () => op.log().includes('refusing version 3 of h3sig/native'), 60_000, () => op.log());
    expect((await ssdk(['undeploy', 'h3sig/native', '--purge', ...server()])).code).toBe(0);
  }, 240_000);
});
