import { afterEach, describe, expect, it } from 'vitest';
import { UnitMetrics, type PartitionEvent, type UnitState } from './metrics.ts';
import { compileOperatorOptions, OperatorConfigError, runOperator } from './operator.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['DATABASE_URL', 'SSDK_SUBJECT_PREFIX', 'SSDK_HOME']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('operator - options compiled in one place', () => {
  it('operator - flags win over the environment, which wins over the defaults', () => {
    const env = { DATABASE_URL: 'postgres://env', SSDK_SUBJECT_PREFIX: 'envp', SSDK_LEASE_TTL_MS: '8000', SSDK_ISOLATION: 'native' };
    const fromEnv = compileOperatorOptions({}, env);
    expect(fromEnv).toMatchObject({ databaseUrl: 'postgres://env', subjectPrefix: 'envp', leaseTtlMs: 8000, heartbeatMs: 2000, isolation: 'native', natsUrl: 'nats://127.0.0.1:4222', batchMessages: 256, fuse: false });
    expect(compileOperatorOptions({ subjectPrefix: 'flag', databaseUrl: 'postgres://flag', isolation: 'sandbox' }, env)).toMatchObject({ subjectPrefix: 'flag', databaseUrl: 'postgres://flag', isolation: 'sandbox' });
    expect(compileOperatorOptions({}, { DATABASE_URL: 'x' }).subjectPrefix).toBe('ssdk');
  });

  it('operator - the stack settings follow the stack\'s one rule: no DATABASE_URL is the local server, SSDK_PARTITIONS a plan option', () => {
    expect(compileOperatorOptions({}, { PGHOST: 'db.h3', PGUSER: 'h3', PGDATABASE: 'flows' }).databaseUrl).toBe('postgres://h3@db.h3:5432/flows');
    expect(compileOperatorOptions({}, { SSDK_PARTITIONS: '3' }).partitions).toBe(3);
    expect(compileOperatorOptions({ partitions: 5 }, { SSDK_PARTITIONS: '3' }).partitions).toBe(5);
    expect(compileOperatorOptions({}, {})).not.toHaveProperty('partitions');
    expect(() => compileOperatorOptions({}, { SSDK_PARTITIONS: '0' })).toThrow(OperatorConfigError);
    expect(() => compileOperatorOptions({}, { SSDK_SUBJECT_PREFIX: 'a b' })).toThrow(/SSDK_SUBJECT_PREFIX must be dot-separated/);
  });

  it('operator - a heartbeat not shorter than the lease and a bad isolation are refused', () => {
    expect(() => compileOperatorOptions({ databaseUrl: 'x', leaseTtlMs: 1000, heartbeatMs: 1000 }, {})).toThrow(/shorter than the lease/);
    expect(() => compileOperatorOptions({ databaseUrl: 'x' }, { SSDK_ISOLATION: 'maybe' })).toThrow(/SSDK_ISOLATION/);
    expect(() => compileOperatorOptions({ databaseUrl: 'x' }, { SSDK_LEASE_TTL_MS: '-1' })).toThrow(/SSDK_LEASE_TTL_MS/);
  });

  it('operator - runOperator reads no environment itself: the front door passes it (`env`), or the options say everything', async () => {
    // In the process environment, but not handed over: not a default.
    process.env['DATABASE_URL'] = 'postgres://from-process-env';
    process.env['SSDK_SUBJECT_PREFIX'] = 'not a prefix';
    expect(compileOperatorOptions({}, {})).toMatchObject({ subjectPrefix: 'ssdk' });
    expect(compileOperatorOptions({}, {}).databaseUrl).not.toContain('from-process-env');
    const signal = new AbortController().signal;
    // Past the settings, the missing file is the error: the bad prefix was not read.
    await expect(runOperator({ file: '/nonexistent/h8/services.yaml', operatorId: 'a.b', signal })).rejects.toThrow(/nonexistent/);
    // Handed over by the front door: the settings come from it.
    await expect(runOperator({ file: '/nonexistent/h8/services.yaml', operatorId: 'a.b', signal, env: { SSDK_SUBJECT_PREFIX: 'not a prefix' } })).rejects.toThrow(/SSDK_SUBJECT_PREFIX must be dot-separated/);
    // SSDK_HOME and SSDK_COMPONENT_CACHE are compiled with the rest, from the env given.
    expect(compileOperatorOptions({}, { DATABASE_URL: 'x', SSDK_HOME: '/srv/h8', SSDK_COMPONENT_CACHE: '/var/cache/h8' })).toMatchObject({ home: '/srv/h8', componentCache: '/var/cache/h8' });
    expect(compileOperatorOptions({}, { DATABASE_URL: 'x' })).not.toHaveProperty('home');
  });

  it('operator - a unit tells each change of its lifecycle state once, with the reason for failing', () => {
    const m = new UnitMetrics('a.b');
    const seen: Array<[UnitState, string | undefined]> = [];
    const stop = m.onState((s, reason) => seen.push([s, reason]));
    m.setState('running');
    m.setState('running');
    m.failing('PostgreSQL is away', 200);
    // A restart does not make a failing unit running; progress does.
    m.setState('running');
    m.recovered();
    m.setState('stopping');
    stop();
    m.setState('stopped');
    expect(seen).toEqual([['running', undefined], ['failing', 'PostgreSQL is away'], ['running', undefined], ['stopping', undefined]]);
    expect(m.state).toBe('stopped');
    expect(m.snapshot().state).toBe('stopped');
  });

  it('operator - a replica tells each change of its partitions as a typed event: sorted, none for an empty change but a rebalance', () => {
    const m = new UnitMetrics('a.b');
    const seen: PartitionEvent[] = [];
    const stop = m.onPartitions((e) => seen.push(e));
    m.partitions({ kind: 'taken', member: 'r1', partitions: [3, 1], of: 4 });
    m.partitions({ kind: 'lost', member: 'r1', partitions: [], of: 4, reason: 'not renewed' });
    m.partitions({ kind: 'rebalanced', member: 'r1', partitions: [], of: 4, reason: 'started' });
    stop();
    m.partitions({ kind: 'released', member: 'r1', partitions: [1], of: 4 });
    expect(seen).toEqual([
      { kind: 'taken', member: 'r1', partitions: [1, 3], of: 4 },
      { kind: 'rebalanced', member: 'r1', partitions: [], of: 4, reason: 'started' },
    ]);
  });
});
