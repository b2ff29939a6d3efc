/**
 * `ssdk up` against a nats-server that requires credentials, given by environment only
 * (NATS_USER / NATS_PASSWORD; the PostgreSQL URL carries a password too): word-count runs end
 * to end and equals its golden output, and no process of the stack (supervisor, planner,
 * operators) has a password on its command line — what `ps` shows. Heavy (five operator processes):
 * `npm run test:acceptance:distributed`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PrivateNatsServer, testPostgres, until } from '@ssdk/testing';
import type { StackFile } from './stack-file.ts';
import { readJsonLines, ssdk, startUp } from './distributed.testkit.ts';

const EXAMPLE = 'examples/word-count';
const FILE = `${EXAMPLE}/services.yaml`;
const NATS_PASSWORD = `nats-secret-${process.pid}`;
// The shared server trusts local connections: the password is not checked, only carried.
const PG_PASSWORD = `pg-secret-${process.pid}`;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const cmdline = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');

describe('ssdk up with NATS credentials', () => {
  it('up - word-count equals golden with credentials from the environment; no password on any command line', async () => {
    const nats = new PrivateNatsServer('ssdk-up-auth', { config: `authorization { users: [ { user: app, password: "${NATS_PASSWORD}" } ] }\n` });
    await nats.start();
    cleanups.push(() => nats.dispose());
    const control = await testPostgres({ prefix: 'ssdk_up_auth' });
    const state = await testPostgres({ prefix: 'ssdk_up_auth_state' });
    cleanups.push(() => control.cleanup(), () => state.cleanup());
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-up-auth-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const databaseUrl = control.connectionString.replace('postgres://postgres@', `postgres://postgres:${PG_PASSWORD}@`);
    expect(databaseUrl).toContain(PG_PASSWORD);

    // This process's own CLI calls (produce, consume, status) read the same environment.
    process.env['NATS_URL'] = nats.url;
    process.env['NATS_USER'] = 'app';
    process.env['NATS_PASSWORD'] = NATS_PASSWORD;
    const prefix = ['--subject-prefix', 'ssdk_up_auth'];
    const stackDir = join(dir, 'stack');
    const { up, log, exit: upExit } = startUp(
      [FILE, '--partitions', '1', ...prefix, '--control-schema', control.schema, '--schema', state.schema, '--state-dir', stackDir, '--grace', '10s'],
      { ...process.env, DATABASE_URL: databaseUrl, SSDK_COMPONENT_CACHE: process.env['SSDK_COMPONENT_CACHE'] ?? join(tmpdir(), 'ssdk-test-components') },
      cleanups,
    );
    const readStack = async () => JSON.parse(await readFile(join(stackDir, 'stack.json'), 'utf8')) as StackFile;
    await until('5 operator processes', async () => Object.keys((await readStack().catch(() => ({ operators: {} }))).operators).length === 5, 180_000, () => log());
    const { planner, operators } = await readStack();
    for (const pid of [up.pid!, planner!, ...Object.values(operators)]) {
      const line = await cmdline(pid);
      expect(line).not.toContain(NATS_PASSWORD);
      expect(line).not.toContain(PG_PASSWORD);
      expect(line).not.toContain('postgres://');
    }

    await until(
      'every operator to hold its leases',
      async () => {
        const r = await ssdk(['status', 'examples/word-count', '--json', ...prefix]);
        if (r.code !== 0) return false;
        const ops = (JSON.parse(r.out) as Array<{ operators: Array<{ processes: number; leases: number }> }>)[0]!.operators;
        return ops.every((o) => o.processes === 1 && o.leases >= 1);
      },
      180_000,
      () => log(),
    );
    const produced = await ssdk(['produce', 'sentences', '--file', `${EXAMPLE}/input/sentences.jsonl`, '--records', '--end', ...prefix, '--partitions', '1', FILE]);
    expect(produced.code, produced.err).toBe(0);
    const consumed = await ssdk(['consume', 'top-words', '--output', join(dir, 'top-words.jsonl'), '--until-idle', '--idle-timeout', '120s', ...prefix, '--partitions', '1', FILE]);
    expect(consumed.code, consumed.err + log()).toBe(0);
    expect(await readJsonLines(join(dir, 'top-words.jsonl'))).toEqual(await readJsonLines(`${EXAMPLE}/expected/top-words.jsonl`));
    expect(log()).not.toContain(NATS_PASSWORD);
    expect(log()).not.toContain(PG_PASSWORD);

    const down = await ssdk(['down', FILE, '--state-dir', stackDir]);
    expect(down.code, down.err).toBe(0);
    expect(await upExit).toBe(0);
  }, 600_000);
});
