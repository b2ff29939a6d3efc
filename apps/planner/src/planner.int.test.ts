/**
 * The planner service in-process on real servers, through its NATS subjects: requests are
 * serialized (two deploys at once make one version), heartbeats make processes alive in status
 * (and a final one makes them gone, their counts kept), bad requests get error replies with the
 * user's domain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectControl, createNatsBus, RemoteError, type ControlConnection } from '@ssdk/bus';
import { heartbeatSubject, openDeploymentRegistry, plannerSubject, readBundle, type DataflowStatus, type DeployReply, type Heartbeat, type ListedDataflow } from '@ssdk/control-plane';
import { FencedError, openPostgresStore } from '@ssdk/state';
import { testNats, testPostgres, type TestNats, type TestPostgres } from '@ssdk/testing';
import { startPlanner, type Planner } from './planner.ts';

const FILE = new URL('../../../examples/word-count/services.yaml', import.meta.url).pathname;
let nats: TestNats;
let control: TestPostgres;
let state: TestPostgres;
let planner: Planner;
let client: ControlConnection;

beforeAll(async () => {
  nats = await testNats({ prefix: 'ssdk_planner' });
  control = await testPostgres({ prefix: 'ssdk_planner' });
  state = await testPostgres({ prefix: 'ssdk_planner_state' });
  planner = await startPlanner({ natsUrl: nats.url, databaseUrl: control.connectionString, subjectPrefix: nats.prefix, controlSchema: control.schema });
  client = await connectControl({ servers: nats.url });
}, 30_000);

afterAll(async () => {
  await client?.close();
  await planner?.stop();
  await (await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix })).destroy();
  await control.cleanup();
  await state.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ask = <T>(verb: 'deploy' | 'status' | 'undeploy' | 'list', body: unknown) => client.request<T>(plannerSubject(nats.prefix, verb), body, { timeoutMs: 30_000 });

describe('planner service', () => {
  it('planner - concurrent deploys of one dataflow are serialized: one version, then unchanged', async () => {
    const bundle = await readBundle(FILE);
    const request = { bundle, displayPath: 'services.yaml', partitions: 1, schema: state.schema };
    const replies = await Promise.all([ask<DeployReply>('deploy', request), ask<DeployReply>('deploy', request)]);
    expect(replies.map((r) => r.outcome).sort()).toEqual(['created', 'unchanged']);
    expect(replies.map((r) => r.version)).toEqual([1, 1]);
    const listed = await ask<ListedDataflow[]>('list', {});
    expect(listed).toMatchObject([{ dataflow: 'examples/word-count', version: 1, operators: 5 }]);
  }, 30_000);

  it('planner - a deploy with resetOffsets forgets what every operator read and the streams it read, and keeps the state', async () => {
    const bundle = await readBundle(FILE);
    const request = { bundle, displayPath: 'services.yaml', partitions: 1, schema: state.schema };
    await ask<DeployReply>('deploy', request);
    const store = await openPostgresStore({ connectionString: state.connectionString, schema: state.schema });
    try {
      const op = 'count-words.add-to-total';
      await store.commit({
        writes: [{ table: 'count_words_word_totals', key: 'river', partition: 0, value: 3 }],
        offsets: [
          { operator: op, partition: 0, seq: 41, meta: { channels: { 'count-words.split-sentence.out/0': 41 }, ended: true } },
          { operator: `${op}#streams`, partition: 0, seq: 0, meta: { streams: { x: 'then' } } },
        ],
      });
      const reply = await ask<DeployReply>('deploy', { ...request, resetOffsets: true });
      expect(reply.changes).toContain('reset the offsets of 5 operators (state kept)');
      expect((await store.offsets(op)).get(0)).toMatchObject({ seq: 0, meta: { channels: {} } });
      expect((await store.offsets(`${op}#streams`)).get(0)).toMatchObject({ meta: { streams: {} } });
      expect((await store.get('count_words_word_totals', ['river'])).get('river')).toBe(3);
    } finally {
      await store.close();
    }
  }, 30_000);

  it('planner - planners sharing the control tables take turns per dataflow; one that lost its turn cannot save', async () => {
    // Another planner (its registry) holds word-count's deploy lease.
    const other = await openDeploymentRegistry({ connectionString: control.connectionString, schema: control.schema });
    try {
      let release!: () => void;
      let holding = false;
      const held = other.exclusive('examples', 'word-count', async () => {
        holding = true;
        await new Promise<void>((r) => (release = r));
      });
      while (!holding) await sleep(20);
      const bundle = await readBundle(FILE);
      const files = { ...bundle.files, [bundle.servicesFile]: bundle.files[bundle.servicesFile]!.replace('word.length >= 3', 'word.length >= 4') };
      let replied = false;
      const deploy = ask<DeployReply>('deploy', { bundle: { ...bundle, files }, displayPath: 'services.yaml', partitions: 1, schema: state.schema }).finally(() => (replied = true));
      await sleep(1_000);
      expect(replied).toBe(false);
      release();
      await held;
      expect(await deploy).toMatchObject({ outcome: 'updated', version: 2 });

      // A holder whose lease ran out (paused, cut off) is refused when it saves at last.
      const current = (await other.get('examples', 'word-count'))!;
      await other.exclusive(
        'examples',
        'word-count',
        async (stale) => {
          await sleep(600);
          await other.exclusive('examples', 'word-count', async () => {}, { waitMs: 5_000 });
          await expect(other.save({ ...current, version: 99 }, stale)).rejects.toBeInstanceOf(FencedError);
        },
        { ttlMs: 300 },
      );
      expect((await other.get('examples', 'word-count'))!.version).toBe(2);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('planner - heartbeats make processes alive with their counts; a final heartbeat makes them gone', async () => {
    const beat = (final: boolean, recordsIn: number): Heartbeat => ({
      dataflow: 'examples/word-count',
      operator: 'count-words.split-sentence',
      process: 'test-host:1:a',
      pid: 4242,
      host: 'test-host',
      startedAt: Date.now(),
      sentAt: Date.now(),
      intervalMs: 2_000,
      ...(final ? { final } : {}),
      metrics: { operator: 'count-words.split-sentence', state: final ? 'ended' : 'running', recordsIn, recordsOut: recordsIn * 2, failed: 0, late: 0, batches: 1, commits: 1, watermark: 1_736_154_000_000, batchLatencyMs: { p50: 1, p99: 1, max: 1 } },
    });
    const split = async () => (await ask<DataflowStatus[]>('status', { dataflow: 'examples/word-count' }))[0]!.operators.find((o) => o.id === 'count-words.split-sentence')!;
    client.publish(heartbeatSubject(nats.prefix), beat(false, 10));
    await expect.poll(split, { timeout: 5_000 }).toMatchObject({ processes: 1, pids: [4242], recordsIn: 10, recordsOut: 20, watermark: 1_736_154_000_000, state: 'running' });
    client.publish(heartbeatSubject(nats.prefix), beat(true, 12));
    await expect.poll(split, { timeout: 5_000 }).toMatchObject({ processes: 0, recordsIn: 12, state: 'ended' });
  }, 30_000);

  it('planner - bad requests get error replies in the user\'s domain, naming what is wrong', async () => {
    const noBundle = ask('deploy', { displayPath: 'x.yaml' });
    await expect(noBundle).rejects.toBeInstanceOf(RemoteError);
    await expect(noBundle).rejects.toMatchObject({ domain: 'user', message: expect.stringContaining('{servicesFile, files}') });
    const escape = ask('deploy', { bundle: { servicesFile: 's.yaml', files: { 's.yaml': '', '../etc/passwd': 'x' } } });
    await expect(escape).rejects.toMatchObject({ domain: 'user', message: expect.stringContaining('not a relative path inside') });
    await expect(ask('undeploy', { dataflow: 'nope' })).rejects.toMatchObject({ domain: 'user', code: 'bad-dataflow' });
    await expect(ask('status', { dataflow: 'examples/nope' })).rejects.toMatchObject({ domain: 'user', code: 'unknown-dataflow', message: expect.stringContaining('deployed are examples/word-count') });
  }, 30_000);
});
