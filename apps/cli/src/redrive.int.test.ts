/**
 * `ssdk redrive SERVICE FILE` on NATS JetStream: the dead letters of a service go back to their
 * own records' topic and partition, once; the counts are printed; a bad `--since` or an unknown
 * service is a usage error (exit 2).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { planOrThrow } from '@ssdk/plan';
import { decodeFrame, encodeRecords } from '@ssdk/records';
import { testNats } from '@ssdk/testing';
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
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('cli - redrive', () => {
  it('cli - ssdk redrive sends the dead letters back to their records\' topic and partition, once, and says how many', async () => {
    const nats = await testNats({ prefix: 'h1_redrive_cli' });
    const file = join(await mkdtemp(join(tmpdir(), 'ssdk-redrive-cli-')), 'services.yaml');
    await writeFile(file, SERVICES);
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

  it('cli - --since takes a duration back from now or a time', () => {
    expect(sinceOf('1h', 10_000_000)).toBe(10_000_000 - 3_600_000);
    expect(sinceOf('2026-12-06T10:00:00Z', 0)).toBe(Date.parse('2026-12-06T10:00:00Z'));
    expect(sinceOf(undefined, 0)).toBeUndefined();
    expect(() => sinceOf('yesterday-ish', 0)).toThrow('--since takes a duration such as 1h or 30m');
  });
});
