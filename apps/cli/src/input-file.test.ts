/**
 * Inputs that go on: a bad line of `ssdk run --input` or `ssdk produce --file` (not JSON, not
 * UTF-8, the wrong type, too large for a message) is dead-lettered with its file and line, and
 * the rest of the file is processed; producing a file again duplicates nothing.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { decodeFrame, UNREADABLE_HEADER } from '@ssdk/records';
import { testNats } from '@ssdk/testing';
import { readJsonLines, ssdk } from './distributed.testkit.ts';

const PAGE_VIEWS = join(import.meta.dirname, '../../../examples/page-views/services.yaml');

const view = (i: number, page: unknown) => JSON.stringify({ value: { page, user: `u${i}`, agent: 'x' }, timestamp: 1_736_172_001_000 + i * 1_000 });

/** Good lines 1, 3, 7; bad 2 (not JSON), 4 (not UTF-8), 5 (page is a number); 6 blank. */
const LINES: Buffer[] = [
  Buffer.from(view(1, '/')),
  Buffer.from('{"value": {"page": "/a"'),
  Buffer.from(view(2, '/')),
  Buffer.concat([Buffer.from('{"value":{"page":"/'), Buffer.from([0xff, 0xfe]), Buffer.from('","user":"u","agent":"x"},"timestamp":1736172003500}')]),
  Buffer.from(view(4, 7)),
  Buffer.from(''),
  Buffer.from(view(5, '/b')),
];

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function inputFile(lines: Buffer[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-input-file-'));
  const file = join(dir, 'views.jsonl');
  await writeFile(file, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
  return file;
}

describe('cli - inputs that go on', () => {
  it('cli - ssdk run --input: each bad line is dead-lettered with its file and line, the rest is processed', async () => {
    const file = await inputFile(LINES);
    const out = join(file, '..', 'out');
    const r = await ssdk(['run', PAGE_VIEWS, '--input', `page-views=${file}`, '--records', '--output-dir', out, '--until-idle', '--native', '--ephemeral']);
    expect(r.err).toContain('6 records in');
    expect(r.code).toBe(0);
    // records in = out + dead letters: 3 views counted, 3 lines dead-lettered.
    expect(await readJsonLines(join(out, 'views-per-page.jsonl'))).toEqual([[{ page: '/', views: 2 }, { page: '/b', views: 1 }]]);
    const dead = (await readJsonLines(join(out, 'count-page-views.dead-letter.jsonl'))) as Array<{ reason: string; input: { seq: number; index: number } }>;
    expect(dead.map((d) => d.reason)).toEqual([
      expect.stringMatching(new RegExp(`^${file}:2: not valid JSON \\(`)),
      `${file}:4: not UTF-8 text`,
      `${file}:5: record does not match topic \`page-views\`: page: expected string, got the number 7`,
    ]);
    // Each names its own record: the message and its place in it.
    expect(dead.map((d) => [d.input.seq, d.input.index])).toEqual([
      [1, 1],
      [1, 3],
      [1, 4],
    ]);
  });

  it('cli - ssdk produce: a bad line and a record too large for a message midway, the rest is published; producing again duplicates nothing', async () => {
    const big = Buffer.from(view(3, `/${'x'.repeat(2_000_000)}`));
    const file = await inputFile([...LINES.slice(0, 3), big, ...LINES.slice(3)]);
    const nats = await testNats({ prefix: 'h6_produce' });
    const server = ['--nats', nats.url, '--subject-prefix', nats.prefix];
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
    cleanups.push(async () => {
      await bus.destroy();
      await bus.close();
    });
    const produce = () => ssdk(['produce', 'page-views', '--file', file, '--records', '--batch', '2', '--partitions', '1', ...server, PAGE_VIEWS]);
    const first = await produce();
    expect(first.err).toContain('produced 7 records');
    expect(first.err).toContain('4 of them are bad lines');
    expect(first.code).toBe(0);
    expect((await produce()).code).toBe(0);

    const reader = bus.read('page-views', 0);
    const records = [];
    let messages = 0;
    for (let got = await reader.fetch(1_000, 500); got.length > 0; got = await reader.fetch(1_000, 500)) {
      messages += got.length;
      for (const m of got) {
        const f = decodeFrame(m.data);
        if (f.kind === 'data') records.push(...f.records);
      }
    }
    await reader.close();
    // Every line once, in order (the second produce was dropped as duplicates), the bad ones marked.
    expect(records).toHaveLength(7);
    expect(messages).toBe(4);
    const lineOf = (h: string | undefined) => (h === undefined ? undefined : h.startsWith(`${file}:`) ? Number(h.slice(file.length + 1).split(':')[0]) : h);
    expect(records.map((r) => lineOf(r.headers?.[UNREADABLE_HEADER]))).toEqual([undefined, 2, undefined, 4, 5, 6, undefined]);
    expect(records[3]!.headers![UNREADABLE_HEADER]).toMatch(/:4: a record of 2000\d+ bytes, over the message limit of \d+ bytes \(NATS max_payload\)/);
    expect(records[3]!.value.length).toBe(1024);
  });
});
