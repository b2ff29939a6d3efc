/**
 * The planner service in-process on real servers, through its NATS subjects: requests are
 * serialized (two deploys at once make one version), heartbeats make processes alive in status
 * (and a final one makes them gone, their counts kept), bad requests get error replies with the
 * user's domain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectControl, createNatsBus, RemoteError, type ControlConnection } from '@ssdk/bus';
import { heartbeatSubject, openDeploymentRegistry, plannerSubject, readBundle, type DataflowStatus, type DeployReply, type Heartbeat, type ListedDataflow } from '@ssdk/control-plane';
import { planDataflow } from '@ssdk/plan';
import { encodeRecords } from '@ssdk/records';
import { parseServicesFile } from '@ssdk/spec';
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

  describe('a redeploy never strands the records between units', () => {
    // Word count without its filter: the splitter keys the words itself and `add-to-total` reads
    // them from the splitter's topic; `count-words.is-countable.out` is not in the plan any more.
    const withoutFilter = (text: string) => text.replace(/\n      - operator: filter\n[\s\S]*?\n\n    partition:/, '\n\n    partition:');
    const recoded = (text: string) => text.replace('word.length >= 3', 'word.length >= 4');

    /** Word count under a name of its own (its own streams and state schema), deployed as version 1. */
    async function deployed(name: string) {
      const bundle = await readBundle(FILE);
      const text = bundle.files[bundle.servicesFile]!.replace('name: word-count', `name: ${name}`);
      const request = (edit: (t: string) => string = (t) => t) => ({ bundle: { ...bundle, files: { ...bundle.files, [bundle.servicesFile]: edit(text) } }, displayPath: 'services.yaml', partitions: 1 });
      expect(await ask<DeployReply>('deploy', request())).toMatchObject({ version: 1 });
      const parsed = parseServicesFile(text, FILE);
      const plan = planDataflow(parsed.dataflow, { partitions: 1, subjectPrefix: nats.prefix }).plan!;
      const topicName = (id: string) => plan.topics.find((t) => t.id === id)!.name;
      const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
      const store = await openPostgresStore({ connectionString: control.connectionString, schema: (await ask<DataflowStatus[]>('status', { dataflow: `examples/${name}` }))[0]!.stateSchema });
      return {
        request,
        send: (topic: string, messages: number) => bus.publish(topicName(topic), 0, Array.from({ length: messages }, (_, i) => ({ data: encodeRecords([{ key: null, value: new TextEncoder().encode(`"w${i}"`), timestamp: 1_000 + i }]) }))),
        commit: (operator: string, channels: Record<string, number>) => store.commit({ writes: [], offsets: [{ operator, partition: 0, seq: Math.max(...Object.values(channels)), meta: { channels } }] }),
        close: async () => {
          await ask('undeploy', { dataflow: `examples/${name}`, purge: true });
          await store.close();
          await bus.close();
        },
      };
    }

    it('planner - a redeploy that drops an internal topic holding unread messages is refused, naming it; drained, it proceeds', async () => {
      const df = await deployed('wc-dropped');
      try {
        await df.send('count-words.is-countable.out', 3);
        const refused = ask<DeployReply>('deploy', df.request(withoutFilter));
        await expect(refused).rejects.toMatchObject({ domain: 'user', code: 'records-between-versions' });
        const message = (await refused.catch((e: Error) => e.message)) as string;
        expect(message).toContain('refusing to redeploy examples/wc-dropped');
        expect(message).toContain('`count-words.is-countable.out`: no unit of the new plan reads it; 3 messages in it not yet read by `count-words.add-to-total` would never be processed');
        expect(message).toContain('hint: stop the producers and let the stack drain (`ssdk status` shows lag 0), then deploy again; or deploy with --reset-state');
        expect((await ask<DataflowStatus[]>('status', { dataflow: 'examples/wc-dropped' }))[0]!.version).toBe(1);

        // Read and committed, but a sentence not yet split may still reach it: in doubt, refused.
        await df.commit('count-words.add-to-total', { 'count-words.is-countable.out/0': 3 });
        await df.send('sentences', 1);
        await expect(ask<DeployReply>('deploy', df.request(withoutFilter))).rejects.toMatchObject({
          message: expect.stringContaining('0 messages in it not yet read by `count-words.add-to-total` would never be processed; 1 message not yet read by the units before it (`count-words.split-sentence` 1) may still reach it'),
        });

        await df.commit('count-words.split-sentence', { 'sentences/0': 1 });
        expect(await ask<DeployReply>('deploy', df.request(withoutFilter))).toMatchObject({ outcome: 'updated', version: 2 });
      } finally {
        await df.close();
      }
    }, 60_000);

    it('planner - a topic read by another unit in the new plan is refused while that unit would read processed messages again, draining or not', async () => {
      const df = await deployed('wc-reread');
      try {
        await df.send('count-words.split-sentence.out', 2);
        await df.commit('count-words.is-countable', { 'count-words.split-sentence.out/0': 2 });
        const refused = ask<DeployReply>('deploy', df.request(withoutFilter));
        await expect(refused).rejects.toMatchObject({ domain: 'user', code: 'records-between-versions' });
        const message = (await refused.catch((e: Error) => e.message)) as string;
        expect(message).toContain("`count-words.split-sentence.out`: the new plan's `count-words.add-to-total` would read it from its own position (none: the first message), not `count-words.is-countable`'s: 2 messages,");
        expect(message).toContain('2 of them already processed by `count-words.is-countable` (they would count twice) and 0 not yet read by it');
        expect(message).toContain('only --reset-state starts over');
        expect(await ask<DeployReply>('deploy', { ...df.request(withoutFilter), resetState: true })).toMatchObject({ outcome: 'reset', version: 2 });
      } finally {
        await df.close();
      }
    }, 60_000);

    it('planner - a redeploy that keeps every unit reading its topics goes on over unread messages', async () => {
      const df = await deployed('wc-kept');
      try {
        await df.send('count-words.split-sentence.out', 2);
        await df.send('count-words.is-countable.out', 2);
        await df.send('sentences', 2);
        expect(await ask<DeployReply>('deploy', df.request(recoded))).toMatchObject({ outcome: 'updated', version: 2 });
      } finally {
        await df.close();
      }
    }, 60_000);
  });
});
