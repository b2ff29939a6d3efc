/**
 * `ssdk redrive SERVICE FILE` on NATS JetStream: the dead letters of a service go back to their
 * own records' topic and partition, once; the counts are printed; a bad `--since` or an unknown
 * service is a usage error (exit 2). The same with the plan of a deployed dataflow
 * (`--dataflow NS/NAME`), and for an embedded run's stored dead letters (`--embedded`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, encodeRecords } from '@ssdk/records';
import { openDeploymentRegistry } from '@ssdk/control-plane';
import { testNats, testPostgres, writeServicesFile } from '@ssdk/testing';
import { sinceOf } from './commands/redrive.ts';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const SERVICES = `apiVersion: 0.5.0
meta: {name: h1-redrive-cli, namespace: test, version: 0.1.0}
topics:
  words: {schema: {value: {type: string}}}
  kept: {schema: {value: {type: string}}}
services:
  keep:
    sources: [{type: topic, id: words}]
    transforms:
      - operator: map
        run: |
          function same(w: string): string {
            return w;
          }
    sinks: [{type: topic, id: kept}]
`;

const cleanups: Array<() => Promise<void>> = [];

const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('cli - redrive', () => {
  it('cli - ssdk redrive sends the dead letters back to their records\' topic and partition, once, and says how many', async () => {
    const nats = await testNats({ prefix: 'h1_redrive_cli' });
    const { file } = await writeServicesFile(SERVICES);
    const { plan } = await planOrThrow(file, { subjectPrefix: nats.prefix, partitions: 2 });
    const name = (id: string) => plan.topics.find((t) => t.id === id)!.name;
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    cleanups.push(async () => {
      await bus.destroy();
      await bus.close();
    });
    for (const t of plan.topics) await bus.ensureTopic({ name: t.name, partitions: t.partitions, subject: t.subject });
    // Two dead letters as the operator writes them: one record of words/1 (a value), one line that was not a record (raw).
    const dead = [
      { reason: 'keep.same threw: nope', operator: 'keep.same', input: { topic: 'words', partition: 1, seq: 7, index: 0 }, key: 'k', value: 'hello', timestamp: 5_000 },
      { reason: 'in.jsonl:2: not valid JSON', operator: 'keep.same', input: { topic: 'words', partition: 0, seq: 3, index: 1 }, raw: '{"oops', timestamp: 6_000 },
    ];
    await bus.publish(name('keep.dead-letter'), 0, [{ data: encodeRecords(dead.map((d) => ({ key: null, value: JSON.stringify(d), timestamp: d.timestamp }))) }]);
    const args = ['redrive', 'keep', file, '--nats', nats.url, '--subject-prefix', nats.prefix, '--partitions', '2'];
    const io = bufferIo();
    expect(await main(args, io)).toBe(0);
    expect(io.stdout()).toBe('redrove 2 of 2 dead letters of keep (2 to words)\n');
    const again = bufferIo();
    expect(await main(args, again)).toBe(0);
    expect(again.stdout()).toBe('redrove 0 of 0 dead letters of keep\n');
    const read = async (p: number) => {
      const reader = bus.read(name('words'), p);
      const got = await reader.fetch(100, 500);
      await reader.close();
      return got.flatMap((m) => {
        const f = decodeFrame(m.data);
        return f.kind === 'data' ? f.records.map((r) => ({ key: r.key ? new TextDecoder().decode(r.key) : null, value: new TextDecoder().decode(r.value), timestamp: r.timestamp })) : [];
      });
    };
    // The key as the topic's key codec writes it (JSON text, as `ssdk produce` does).
    expect(await read(1)).toEqual([{ key: '"k"', value: '"hello"', timestamp: 5_000 }]);
    expect(await read(0)).toEqual([{ key: null, value: '{"oops', timestamp: 6_000 }]);

    const bad = bufferIo();
    expect(await main(['redrive', 'nope', file, '--nats', nats.url, '--subject-prefix', nats.prefix], bad)).toBe(2);
    expect(bad.stderr()).toContain('has no service `nope`: its services are `keep`');
  }, 60_000);

  it('cli - ssdk redrive --dataflow NS/NAME reads the plan the planner stored: no services file', async () => {
    const nats = await testNats({ prefix: 'h2_redrive_df' });
    const pg = await testPostgres();
    cleanups.push(() => pg.cleanup());
    const { file } = await writeServicesFile(SERVICES);
    const { plan } = await planOrThrow(file, { subjectPrefix: nats.prefix, partitions: 2 });
    // A deployed dataflow as the planner records it (its control schema: the test's own).
    const registry = await openDeploymentRegistry({ connectionString: pg.connectionString, schema: pg.schema });
    await registry.save({ namespace: 'test', name: 'h1-redrive-cli', version: 1, status: 'deployed', hash: 'h', layoutFingerprint: 'f', layout: {}, plan, bundle: { servicesFile: 'services.yaml', files: { 'services.yaml': SERVICES } }, stateSchema: 'unused', deployedAt: Date.now() });
    await registry.close();
    const name = (id: string) => plan.topics.find((t) => t.id === id)!.name;
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    cleanups.push(async () => {
      await bus.destroy();
      await bus.close();
    });
    for (const t of plan.topics) await bus.ensureTopic({ name: t.name, partitions: t.partitions, subject: t.subject });
    const dead = { reason: 'keep.same threw: nope', operator: 'keep.same', input: { topic: 'words', partition: 1, seq: 2, index: 0 }, value: 'again', timestamp: 7_000 };
    await bus.publish(name('keep.dead-letter'), 1, [{ data: encodeRecords([{ key: null, value: JSON.stringify(dead), timestamp: 7_000 }]) }]);
    // No --subject-prefix and no --partitions: the deployed plan has its own.
    const args = ['redrive', 'keep', '--dataflow', 'test/h1-redrive-cli', '--nats', nats.url, '--postgres', pg.connectionString, '--control-schema', pg.schema];
    const io = bufferIo();
    expect(await main(args, io), io.stderr()).toBe(0);
    expect(io.stdout()).toBe('redrove 1 of 1 dead letter of keep (1 to words)\n');
    const again = bufferIo();
    expect(await main(args, again)).toBe(0);
    expect(again.stdout()).toBe('redrove 0 of 0 dead letters of keep\n');
    const reader = bus.read(name('words'), 1);
    const got = (await reader.fetch(100, 500)).flatMap((m) => {
      const f = decodeFrame(m.data);
      return f.kind === 'data' ? f.records.map((r) => new TextDecoder().decode(r.value)) : [];
    });
    await reader.close();
    expect(got).toEqual(['"again"']);

    const unknown = bufferIo();
    expect(await main(['redrive', 'keep', '--dataflow', 'test/nothing-here', '--nats', nats.url, '--postgres', pg.connectionString, '--control-schema', pg.schema], unknown)).toBe(2);
    expect(unknown.stderr()).toContain('no dataflow `test/nothing-here` is deployed');
    const both = bufferIo();
    expect(await main(['redrive', 'keep', file, '--dataflow', 'test/h1-redrive-cli'], both)).toBe(2);
    expect(both.stderr()).toContain('give FILE or --dataflow NS/NAME, not both');
  }, 60_000);

  it('cli - ssdk redrive --embedded sends an embedded run\'s dead letters back through the fixed function, once, and appends what they made', async () => {
    const withBroken = (broken: string[]) => SERVICES.replace('return w;', `if ((${JSON.stringify(broken)} as string[]).includes(w)) throw new Error('cannot keep ' + w);\n            return w;`);
    const { dir, file } = await writeServicesFile(withBroken(['boom', 'bang']));
    await writeFile(join(dir, 'in.jsonl'), ['a', 'boom', 'b', 'bang'].map((w) => JSON.stringify(w)).join('\n') + '\n');
    const out = join(dir, 'out');
    const state = ['--state-dir', join(dir, 'state'), '--native'];
    const run = bufferIo();
    expect(await main(['run', file, '-i', `words=${join(dir, 'in.jsonl')}`, '-o', out, '--until-idle', ...state], run), run.stderr()).toBe(0);
    expect(await lines(join(out, 'kept.jsonl'))).toEqual(['"a"', '"b"']);
    expect(await lines(join(out, 'keep.dead-letter.jsonl'))).toHaveLength(2);

    // The fix (a half fix redriven twice is the runtime's test): both go through, once.
    await writeFile(file, withBroken([]));
    const first = bufferIo();
    expect(await main(['redrive', 'keep', file, '--embedded', '-o', out, ...state], first), first.stderr()).toBe(0);
    expect(first.stdout()).toBe('redrove 2 of 2 dead letters of keep (2 to words)\n');
    expect(first.stderr()).toContain('appended kept (2) to');
    const again = bufferIo();
    expect(await main(['redrive', 'keep', file, '--embedded', '-o', out, ...state], again)).toBe(0);
    expect(again.stdout()).toBe('redrove 0 of 0 dead letters of keep\n');
    expect(await lines(join(out, 'kept.jsonl'))).toEqual(['"a"', '"b"', '"boom"', '"bang"']);
    expect(await lines(join(out, 'keep.dead-letter.jsonl'))).toHaveLength(2);

    const flags = bufferIo();
    expect(await main(['redrive', 'keep', file, '-o', out], flags)).toBe(2);
    expect(flags.stderr()).toContain('--output-dir is for --embedded');
  }, 120_000);

  it('cli - --since takes a duration back from now or a time', () => {
    expect(sinceOf('1h', 10_000_000)).toBe(10_000_000 - 3_600_000);
    expect(sinceOf('2026-12-06T10:00:00Z', 0)).toBe(Date.parse('2026-12-06T10:00:00Z'));
    expect(sinceOf(undefined, 0)).toBeUndefined();
    expect(() => sinceOf('yesterday-ish', 0)).toThrow('--since takes a duration such as 1h or 30m');
  });
});
