/**
 * `ssdk consume` on NATS: a quiet topic is not a finished one. `--timeout` fails (exit 1, naming
 * the partitions) when the end of input has not come on every partition; a stop on idle says
 * which partitions had not ended. (The Docker acceptance read a sink with --until-idle while a
 * killed replica's partitions waited for their takeover: it could stop early and exit 0.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '@ssdk/bus';
import { testNats } from '@ssdk/testing';
import { readJsonLines, ssdk } from './distributed.testkit.ts';

const FILE = 'examples/word-count/services.yaml';
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('ssdk consume until the end of input', () => {
  it('consume - --timeout fails naming the partitions without an end, succeeds once every partition ended; an idle stop says what had not ended', async () => {
    const nats = await testNats({ prefix: 'consume_end' });
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-consume-'));
    cleanups.push(
      async () => (await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix })).destroy(),
      () => rm(dir, { recursive: true, force: true }),
    );
    const server = ['--nats', nats.url, '--subject-prefix', nats.prefix, '--partitions', '3'];
    // Three records round-robin over partitions 0, 1, 2; no end yet.
    await writeFile(join(dir, 'in.jsonl'), ['"one"', '"two"', '"three"'].join('\n') + '\n');
    const produced = await ssdk(['produce', 'sentences', '--file', join(dir, 'in.jsonl'), ...server, FILE]);
    expect(produced.code, produced.err).toBe(0);
    const out = join(dir, 'out.jsonl');

    const noEnd = await ssdk(['consume', 'sentences', '--output', out, '--timeout', '1s', ...server, FILE]);
    expect(noEnd.code).toBe(1);
    expect(noEnd.err).toMatch(/partitions 0, 1, 2 of sentences had not delivered the end of input after 1s/);
    expect(noEnd.err).toMatch(/hint: .*ssdk status/);
    // What it read stays written.
    expect((await readJsonLines(out)).sort()).toEqual(['one', 'three', 'two']);

    const idle = await ssdk(['consume', 'sentences', '--output', out, '--until-idle', '--idle-timeout', '300ms', ...server, FILE]);
    expect(idle.code, idle.err).toBe(0);
    expect(idle.err).toMatch(/stopped after 300ms without a message; partitions 0, 1, 2 of sentences had not delivered the end of input/);

    const ended = await ssdk(['produce', 'sentences', '--end', ...server, FILE]);
    expect(ended.code, ended.err).toBe(0);
    const whole = await ssdk(['consume', 'sentences', '--output', out, '--timeout', '30s', ...server, FILE]);
    expect(whole.code, whole.err).toBe(0);
    expect(whole.err).not.toMatch(/had not delivered/);
    expect((await readJsonLines(out)).sort()).toEqual(['one', 'three', 'two']);

    // Planned with another partition count than the stack's: said at once, with the flag to pass.
    const otherCount = await ssdk(['consume', 'sentences', '--timeout', '30s', '--nats', nats.url, '--subject-prefix', nats.prefix, '--partitions', '8', FILE]);
    expect(otherCount.code).toBe(2);
    expect(otherCount.err).toMatch(/topic `sentences` has 3 partitions on NATS, and this command planned 8: pass --partitions 3/);

    const bad = await ssdk(['consume', 'sentences', '--timeout', 'soon', ...server, FILE]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--timeout takes a duration such as 10m or 90s, got `soon`/);
  });
});
