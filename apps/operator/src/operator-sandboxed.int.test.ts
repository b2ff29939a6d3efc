/**
 * Operator services run their unit sandboxed, as the plan says (issue 5, item 5): every unit of
 * the word-count example as an `ssdk operator` process whose functions run in the dataflow's
 * WebAssembly component, over NATS JetStream and PostgreSQL, on a small bounded stream. The seven
 * processes start at once and share one build (a lock in the state dir, the machine's test
 * component cache); one is stopped with SIGTERM mid-stream and started again. Sinks and state
 * must equal the reference, and every unit must have called its guest: the count comes from the
 * wasm host's chains, which a native unit does not have.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { testNats, testPostgres } from '@ssdk/testing';
import { FILE, generateInput, OperatorProcesses, reference, sorted, until, WordCountStream, type Servers } from './word-count.testkit.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('operator sandboxed (WebAssembly components)', () => {
  it('operator - every word-count unit runs sandboxed from one shared build: sinks and state equal golden', async () => {
    const nats = await testNats();
    const pg = await testPostgres();
    const s: Servers = { natsUrl: nats.url, databaseUrl: pg.connectionString, checkDatabaseUrl: pg.connectionString, schema: pg.schema, prefix: nats.prefix, partitions: 2 };
    const stream = await WordCountStream.open(s);
    const home = await mkdtemp(join(tmpdir(), 'ssdk-operator-sandboxed-'));
    cleanups.push(() => stream.close(), () => pg.cleanup(), () => rm(home, { recursive: true, force: true }));
    // The machine's component cache of the other tests: a cold one costs one build (15–20 s of CPU).
    const cache = process.env['SSDK_COMPONENT_CACHE'] ?? join(tmpdir(), 'ssdk-test-components');
    const input = generateInput(300, 3);
    const golden = reference(input);
    const starts = [...golden.perWindow.keys()];
    const { plan } = await planOrThrow(FILE, { subjectPrefix: s.prefix, partitions: s.partitions });
    const procs = await OperatorProcesses.open(s, { SSDK_ISOLATION: 'plan', SSDK_HOME: home, SSDK_COMPONENT_CACHE: cache });
    cleanups.push(() => procs.killAll());
    const t0 = Date.now();
    for (const op of plan.operators) procs.start(op.id);
    await Promise.all(procs.all.map((p) => p.running));
    const started = Date.now() - t0;

    for (let k = 0; k < starts.length; k++) {
      await stream.produce(input.windows[k]!);
      await stream.waitCounted(starts[k]!, golden.perWindow.get(starts[k]!)!, 120_000);
      if (k === 0) {
        // A graceful stop drains and closes the guest workers (exit 0); the new process loads
        // the component again and resumes where the first one committed.
        const first = procs.all[0]!;
        await procs.kill(first, 'SIGTERM');
        expect(await first.exited).toBe(0);
        await until('the stopped process to say so', () => first.log.some((l) => /: stopped \(\d+ guest calls\)$/.test(l)), 10_000);
        await procs.start(first.unit).running;
      }
    }
    await stream.produce(input.late);
    await stream.end();
    const codes = await Promise.all(procs.all.map((p) => p.exited));
    const logs = () => procs.all.map((p) => `[${p.unit}]\n${p.log.join('\n')}`).join('\n');
    const built = procs.all.flatMap((p) => p.log.filter((l) => / component [0-9a-f]{16} for /.test(l)).map((l) => l.replace(/^.*: (built|cached) component .*\((\d+) ms\)$/, '$1 $2 ms')));
    console.log(`sandboxed operators: ${plan.operators.length} processes running after ${started} ms (components: ${built.join(', ')}), done after ${Date.now() - t0} ms`);
    expect(codes, logs()).toEqual(codes.map(() => 0));

    expect(await stream.read('top-words')).toEqual(golden.topWords);
    expect(sorted(await stream.read('top-words.late-events'))).toEqual(sorted(golden.late));
    expect(sorted(await stream.read('words'))).toEqual(sorted(golden.words));
    expect(await stream.totals()).toEqual(golden.totals);
    expect(await stream.openWindowRows()).toBe(0);

    // Each unit ran in one component, the same for all, found in (or put into) the shared cache.
    const components = procs.all.map((p) => p.log.map((l) => /: running \(.*; functions sandboxed \(component ([0-9a-f]{16})\)\)$/.exec(l)?.[1]).find(Boolean));
    expect(components.every((c) => c !== undefined && c === components[0]), logs()).toBe(true);
    // Its engine (the same for every dataflow) is in the shared cache.
    expect(readdirSync(cache).some((f) => /^[0-9a-f]{16}\.wasm$/.test(f))).toBe(true);
    // And called it: guest calls counted by the wasm host, reported as the unit ends.
    for (const p of procs.all) {
      const calls = Number(p.log.map((l) => /: (?:inputs ended|stopped) \((\d+) guest calls\)$/.exec(l)?.[1]).find(Boolean) ?? 0);
      expect(calls, `${p.unit}\n${p.log.join('\n')}`).toBeGreaterThan(0);
    }
    // Eight processes, at most one compile: the others waited for it and found it cached.
    expect(procs.all.flatMap((p) => p.log.filter((l) => l.includes("building ssdk's WebAssembly engine"))).length, logs()).toBeLessThanOrEqual(1);
  }, 600_000);
});
