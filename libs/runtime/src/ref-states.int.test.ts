/**
 * The replica of another unit's committed state (ref-states in the distributed runtime), on a
 * real PostgreSQL: loaded whole at open, following commits, dropping deleted keys on a reload.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, encodeFrame, encodeRecordFrames, readUtf8 } from '@ssdk/records';
import { openPostgresStore, type StateStore } from '@ssdk/state';
import { testNats, testPostgres } from '@ssdk/testing';
import { ensurePlanTopics, runOperator } from './operator.ts';
import { RefStateReplica } from './ref-states.ts';
import { cleanupsAfterAll, natsBusOf } from './dataflow.testkit.ts';

const cleanups = cleanupsAfterAll();

async function store(): Promise<StateStore> {
  const pg = await testPostgres();
  const s = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
  cleanups.push(() => pg.cleanup(), () => s.close());
  await s.migrate([{ table: 'totals', keyType: 'string', windowed: false, value: { kind: 'json' } }]);
  return s;
}

const put = (s: StateStore, key: string, value: unknown) => s.commit({ writes: [{ table: 'totals', key, partition: 0, value }], offsets: [] });

describe('runtime - ref-state replica', () => {
  it('runtime - reads what the owner committed before it opened, then what it commits later', async () => {
    const s = await store();
    await put(s, 'river', 3);
    const refs = await RefStateReplica.open(s, ['totals'], { refreshMs: 60_000 });
    cleanups.push(() => refs.close());
    expect(refs.lookup('totals', 'river')).toBe(3);
    expect(refs.lookup('totals', 'harbor')).toBeUndefined();
    expect(refs.lookup('other', 'river')).toBeUndefined();

    await put(s, 'river', 4);
    await put(s, 'harbor', 1);
    expect(refs.lookup('totals', 'river')).toBe(3); // not refreshed yet: the last committed value seen
    await refs.refresh();
    expect(refs.lookup('totals', 'river')).toBe(4);
    expect(refs.lookup('totals', 'harbor')).toBe(1);
  });

  it('runtime - follows commits in the background, and a whole reload drops deleted keys', async () => {
    const s = await store();
    await put(s, 'bridge', 1);
    await put(s, 'fog', 2);
    const refs = await RefStateReplica.open(s, ['totals'], { refreshMs: 20, fullEveryMs: 0 });
    cleanups.push(() => refs.close());
    await put(s, 'bridge', 5);
    await s.commit({ writes: [{ table: 'totals', key: 'fog', partition: 0, value: undefined }], offsets: [] });
    const deadline = Date.now() + 10_000;
    while ((refs.lookup('totals', 'bridge') !== 5 || refs.lookup('totals', 'fog') !== undefined) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(refs.lookup('totals', 'bridge')).toBe(5);
    expect(refs.lookup('totals', 'fog')).toBeUndefined();
  });
});

describe('runtime - ref-states across operator services (NATS JetStream + PostgreSQL)', () => {
  it('runtime - word-probe: the probe service reads the counting service\'s committed counts: output and state equal golden', async () => {
    const repo = new URL('../../../', import.meta.url).pathname;
    const dir = `${repo}examples/word-probe/`;
    const file = `${dir}services.yaml`;
    const nats = await testNats();
    const pg = await testPostgres();
    const partitions = 2;
    cleanups.push(() => pg.cleanup());
    const bus = await natsBusOf(nats, cleanups);
    const { plan } = await planOrThrow(file, { subjectPrefix: nats.prefix, partitions });
    const topic = (id: string) => plan.topics.find((t) => t.id === id)!;
    await ensurePlanTopics(bus, plan, ['sentences', 'probes', 'word-counts']);
    const produce = async (id: string, lines: string, ends: boolean) => {
      const records = lines.trim().split('\n').map((l) => JSON.parse(l) as { value: string; timestamp: number });
      const t = topic(id);
      await bus.publish(t.name, 0, encodeRecordFrames(records.map((r) => ({ key: null, value: r.value, timestamp: r.timestamp })), 900_000).map((data) => ({ data })));
      if (ends) for (let p = 0; p < t.partitions; p++) await bus.publish(t.name, p, [{ data: encodeFrame({ kind: 'end' }) }]);
    };
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    // Native: the point is the state read across processes, not the sandbox (tested elsewhere).
    const run = (op: string) =>
      runOperator({ file, operatorId: op, natsUrl: nats.url, databaseUrl: pg.connectionString, schema: pg.schema, subjectPrefix: nats.prefix, partitions, signal: abort.signal, telemetry: false, isolation: 'native' });
    const counting = plan.operators.filter((o) => o.id.startsWith('count-words.')).map((o) => run(o.id));
    const probing = plan.operators.filter((o) => o.id.startsWith('lookup-word.')).map((o) => run(o.id));
    expect(counting.length).toBeGreaterThan(0);
    expect(probing.length).toBeGreaterThan(0);

    // The counts are committed before a probe is sent (as the example's test case drains them
    // first); the probe service's replica follows them within its refresh (250 ms).
    await produce('sentences', await readFile(`${dir}input/sentences.jsonl`, 'utf8'), true);
    expect((await Promise.all(counting)).map((r) => r.ended)).toEqual(counting.map(() => true));
    await new Promise((r) => setTimeout(r, 1_500));
    await produce('probes', await readFile(`${dir}input/probes.jsonl`, 'utf8'), true);
    expect((await Promise.all(probing)).map((r) => r.ended)).toEqual(probing.map(() => true));

    const out: unknown[] = [];
    for (let p = 0; p < topic('word-counts').partitions; p++) {
      const reader = bus.read(topic('word-counts').name, p);
      for (const m of await reader.fetch(1_000, 1_000)) {
        const f = decodeFrame(m.data);
        if (f.kind === 'data') for (const r of f.records) out.push(JSON.parse(readUtf8(r.value)));
      }
      await reader.close();
    }
    const golden = (await readFile(`${dir}expected/word-counts.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    const order = (a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
    expect(out.sort(order)).toEqual(golden.sort(order));
    expect(out.some((r) => (r as { count: number }).count > 0)).toBe(true);

    const table = plan.operators.flatMap((o) => o.states).find((s) => s.name === 'count-per-word' && s.access === 'read-write')!.table;
    const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
    cleanups.push(() => store.close());
    const state = Object.fromEntries((await store.scan(table)).map((e) => [e.key, e.value]));
    expect(state).toEqual(JSON.parse(await readFile(`${dir}expected/state/count-per-word.json`, 'utf8')));
  }, 120_000);
});
