/**
 * The control plane on real servers: a planner process (`apps/planner`, started as `ssdk
 * planner` starts it) and the client commands against it — deploy, status, a redeploy that is a
 * no-op, a compatible one that bumps the version, one that would strand messages between units
 * (refused, exit 2), one that changes a state's type (refused, exit 2, unless --reset-state),
 * state queries, undeploy and --purge. Each run has its own subject prefix (so its own planner),
 * control schema and state schema.
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { openDeploymentRegistry, type DataflowStatus } from '@ssdk/control-plane';
import { openPostgresStore } from '@ssdk/state';
import type { TestNats, TestPostgres } from '@ssdk/testing';
import { ssdk, TestPlanner } from './distributed.testkit.ts';

let stack: TestPlanner;
let nats: TestNats;
let control: TestPostgres;
let state: TestPostgres;
let file: string;

beforeAll(async () => {
  stack = await TestPlanner.start('ssdk_ctl');
  ({ nats, control, state } = stack);
  await cp('examples/word-count/services.yaml', join(stack.dir, 'services.yaml'));
  file = join(stack.dir, 'services.yaml');
}, 60_000);

afterAll(() => stack?.stop());

const server = () => stack.server();
const deploy = (f: string, ...more: string[]) => ssdk(['deploy', f, ...server(), ...more]);
async function status(): Promise<DataflowStatus> {
  const r = await ssdk(['status', 'examples/word-count', '--json', ...server()]);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as DataflowStatus[])[0]!;
}
const edit = async (from: string | RegExp, to: string) => writeFile(file, (await readFile(file, 'utf8')).replace(from, to));

describe('control plane (planner + deploy/status/undeploy/state)', () => {
  it('planner - deploy creates the plan, streams and tables; redeploys are checked against the state layout', async () => {
    const first = await deploy(file, '--partitions', '1', '--schema', state.schema);
    expect(first.code, first.err + stack.log).toBe(0);
    expect(first.out).toContain('examples/word-count: deployed — version 1');

    // The plan is stored, with its hash, fingerprint and bundle.
    const registry = await openDeploymentRegistry({ connectionString: control.connectionString, schema: control.schema });
    const stored = await registry.get('examples', 'word-count');
    await registry.close();
    expect(stored).toMatchObject({ version: 1, status: 'deployed', stateSchema: state.schema });
    expect(stored!.plan.operators.map((op) => op.id)).toContain('count-words.add-to-total');
    expect(Object.keys(stored!.bundle.files)).toEqual(['services.yaml']);

    // Streams and tables exist before any operator runs.
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    expect(await bus.topic('words')).toMatchObject({ partitions: 1 });
    await bus.close();
    const store = await openPostgresStore({ connectionString: state.connectionString, schema: state.schema });
    expect((await store.tables()).map((t) => t.table).sort()).toEqual(['count_words_word_totals', 'top_words_window_counts']);
    await store.close();

    let s = await status();
    expect(s).toMatchObject({ dataflow: 'examples/word-count', version: 1, stateSchema: state.schema, partitions: 1 });
    expect(s.operators).toHaveLength(5);
    expect(s.operators.every((op) => op.processes === 0 && op.lag === 0)).toBe(true);
    const table = await ssdk(['status', ...server()]);
    expect(table.out).toMatch(/^count-words\.add-to-total\s+update-state\s+0\s+0\s+0\s+0/m);

    // The same file again: nothing to do.
    const again = await deploy(file, '--partitions', '1');
    expect(again.code).toBe(0);
    expect(again.out).toContain('unchanged');
    expect((await status()).version).toBe(1);

    // Changed code keeps the layout: a new version.
    await edit('word.length >= 3', 'word.length >= 4');
    const recoded = await deploy(file, '--partitions', '1');
    expect(recoded.code, recoded.err).toBe(0);
    expect(recoded.out).toContain('redeployed — version 2');
    s = await status();
    expect(s.version).toBe(2);
    expect(s.hash).not.toBe(stored!.hash);
    expect(s.layoutFingerprint).toBe(stored!.layoutFingerprint);

    // Messages between two units in a topic the new plan drops (the filter removed): refused,
    // exit 2, naming the topic and how many; nothing changes.
    const recodedText = await readFile(file, 'utf8');
    const between = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    await between.publish(stored!.plan.topics.find((t) => t.id === 'count-words.is-countable.out')!.name, 0, [{ data: new Uint8Array([1]) }]);
    await between.close();
    await edit(/\n      - operator: filter\n[\s\S]*?\n\n    partition:/, '\n\n    partition:');
    const stranding = await deploy(file, '--partitions', '1');
    expect(stranding.code).toBe(2);
    expect(stranding.err).toContain('ssdk deploy: error: refusing to redeploy examples/word-count: the new plan does not read these internal topics as version 2 did');
    expect(stranding.err).toContain('`count-words.is-countable.out`: no unit of the new plan reads it; 1 message in it not yet read by `count-words.add-to-total` would never be processed');
    expect(stranding.err).toContain('hint: stop the producers and let the stack drain');
    expect(stranding.err).not.toMatch(/^\s+at /m);
    expect((await status()).version).toBe(2);
    expect((await status()).operators.find((op) => op.id === 'count-words.add-to-total')!.lag).toBe(1);
    await writeFile(file, recodedText);

    // A state's type changed: refused, exit 2, saying which state and how; nothing changes.
    await edit(/(word-totals:\n\s+type: keyed-state\n\s+properties:\n\s+key:\n\s+type: string\n\s+value:\n\s+type: )u32/, '$1u64');
    const refused = await deploy(file, '--partitions', '1');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('ssdk deploy: error: refusing to redeploy examples/word-count: its state layout changed');
    expect(refused.err).toContain('state `count-words/word-totals`: value type u32 → u64');
    expect(refused.err).toContain('--reset-state');
    expect((await status()).version).toBe(2);

    // Other partitions are refused too.
    const wider = await deploy(file, '--partitions', '4');
    expect(wider.code).toBe(2);
    expect(wider.err).toContain('topic `words`: 1 → 4 partitions');

    // --reset-state: the old state schema goes, a new version starts from nothing.
    const before = await openPostgresStore({ connectionString: state.connectionString, schema: state.schema });
    await before.commit({ writes: [{ table: 'count_words_word_totals', key: 'river', partition: 0, value: 7 }], offsets: [{ operator: 'count-words.add-to-total', partition: 0, seq: 5 }] });
    await before.close();
    const reset = await deploy(file, '--partitions', '1', '--reset-state');
    expect(reset.code, reset.err).toBe(0);
    expect(reset.out).toContain('redeployed with its state reset — version 3');
    expect(reset.out).toContain(`dropped schema ${state.schema}`);
    const after = await openPostgresStore({ connectionString: state.connectionString, schema: state.schema });
    expect((await after.get('count_words_word_totals', ['river'])).size).toBe(0);
    expect((await after.offsets('count-words.add-to-total')).size).toBe(0);
    await after.close();
    expect((await status()).version).toBe(3);
  }, 60_000);

  it('planner - a bad services file is reported exactly as `ssdk validate` reports it, exit 2', async () => {
    for (const fixture of ['fixtures/invalid/01-unknown-key-typo.yaml', 'fixtures/invalid/29-unknown-type.yaml']) {
      const validate = await ssdk(['validate', fixture]);
      const deployed = await deploy(fixture);
      expect(validate.code).toBe(2);
      expect(deployed.code).toBe(2);
      expect(deployed.err, fixture).toBe(validate.err);
    }
    const missing = await deploy(join(stack.dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('does not exist');
  }, 30_000);

  it('deploy - functions that do not compile are refused before the planner sees them: FILE:LINE:COL each, exit 2; up too', async () => {
    const broken = join(stack.dir, 'broken', 'services.yaml');
    await mkdir(dirname(broken), { recursive: true });
    const text = (await readFile('examples/word-count/services.yaml', 'utf8')).replace('name: word-count', 'name: broken-count').replace(/return word;/g, 'return word +;');
    await writeFile(broken, text);
    const lines = text.split('\n');
    const at = lines.map((l, i) => (l.includes('word +;') ? `${broken}:${i + 1}:${l.indexOf('+;') + 2}` : undefined)).filter(Boolean);
    expect(at).toHaveLength(2);
    const refused = await deploy(broken);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`${at[0]}: error: count-words.key-by-word: Expression expected (TS1109)`);
    expect(refused.err).toContain(`${at[1]}: error: top-words.key-window-word: Expression expected (TS1109)`);
    expect(refused.err).toContain(`${broken}: 2 errors`);
    expect(stack.log).not.toContain('broken-count');
    // up checks before it starts a planner or builds anything.
    const up = await ssdk(['up', broken, '--postgres', control.connectionString, '--state-dir', join(stack.dir, 'broken', '.ssdk'), ...server()]);
    expect(up.code).toBe(2);
    expect(up.err).toContain(`${at[0]}: error: count-words.key-by-word`);
  }, 30_000);

  it('state - lists states, shows entries and keys, runs read-only SQL', async () => {
    const store = await openPostgresStore({ connectionString: state.connectionString, schema: state.schema });
    await store.commit({ writes: [{ table: 'count_words_word_totals', key: 'river', partition: 0, value: 7 }, { table: 'count_words_word_totals', key: 'stone', partition: 0, value: 2 }], offsets: [] });
    await store.close();
    const pg = ['--postgres', state.connectionString, '--control-schema', control.schema];
    const list = await ssdk(['state', 'examples/word-count', ...pg]);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/word-totals\s+count-words\s+count_words_word_totals\s+string\s+u64\s+false\s+2/);
    const one = await ssdk(['state', 'examples/word-count', 'word-totals', '--key', 'river', '--json', ...pg]);
    expect(one.out).toBe('{"key":"river","value":7}\n');
    const sql = await ssdk(['state', 'examples/word-count', '--sql', 'SELECT key, value FROM count_words_word_totals ORDER BY value DESC', '--json', ...pg]);
    expect(sql.out).toBe('{"key":"river","value":7}\n{"key":"stone","value":2}\n');
    const write = await ssdk(['state', 'examples/word-count', '--sql', 'DELETE FROM count_words_word_totals', ...pg]);
    expect(write.code).toBe(2);
    const unknown = await ssdk(['state', 'examples/word-count', 'nope', ...pg]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('its states are word-totals, window-counts');
  }, 30_000);

  it('planner - undeploy forgets the plan and keeps the state; --purge drops the schema and the streams', async () => {
    const gone = await ssdk(['undeploy', 'examples/word-count', ...server()]);
    expect(gone.code, gone.err).toBe(0);
    expect(gone.out).toContain('examples/word-count: undeployed (was version 3)');
    const none = await ssdk(['status', 'examples/word-count', ...server()]);
    expect(none.code).toBe(2);
    expect(none.err).toContain('no dataflow `examples/word-count` is deployed');
    const store = await openPostgresStore({ connectionString: state.connectionString, schema: state.schema });
    expect((await store.get('count_words_word_totals', ['river'])).get('river')).toBe(7);
    await store.close();

    // Deployed again (its state still there, same layout), then purged.
    expect((await deploy(file, '--partitions', '1', '--schema', state.schema)).code).toBe(0);
    const purged = await ssdk(['undeploy', 'examples/word-count', '--purge', ...server()]);
    expect(purged.code, purged.err).toBe(0);
    expect(purged.out).toContain(`dropped schema ${state.schema}`);
    expect(purged.out).toContain(`deleted stream ${nats.prefix}_sentences`);
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    expect(await bus.topic('words')).toBeUndefined();
    await bus.close();
    const listed = await ssdk(['status', ...server()]);
    expect(listed.out).toContain('no dataflow is deployed');
  }, 60_000);

  it('planner - commands fail clearly when no planner answers (exit 1)', async () => {
    const r = await ssdk(['status', '--nats', nats.url, '--subject-prefix', `${nats.prefix}_nobody`]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no planner answers on ${nats.prefix}_nobody.planner.status`);
    expect(r.err).toContain('ssdk planner');
  });
});
