import { describe, expect, it } from 'vitest';
import { compileOperatorOptions } from './operator.ts';

describe('operator - options compiled in one place', () => {
  it('operator - flags win over the environment, which wins over the defaults', () => {
    const env = { DATABASE_URL: 'postgres://env', SSDK_SUBJECT_PREFIX: 'envp', SSDK_LEASE_TTL_MS: '8000', SSDK_ISOLATION: 'native' };
    const fromEnv = compileOperatorOptions({}, env);
    expect(fromEnv).toMatchObject({ databaseUrl: 'postgres://env', subjectPrefix: 'envp', leaseTtlMs: 8000, heartbeatMs: 2000, isolation: 'native', natsUrl: 'nats://127.0.0.1:4222', batchMessages: 256, fuse: false });
    expect(compileOperatorOptions({ subjectPrefix: 'flag', databaseUrl: 'postgres://flag', isolation: 'sandbox' }, env)).toMatchObject({ subjectPrefix: 'flag', databaseUrl: 'postgres://flag', isolation: 'sandbox' });
    expect(compileOperatorOptions({}, { DATABASE_URL: 'x' }).subjectPrefix).toBe('ssdk');
  });

  it('operator - a missing database, a heartbeat not shorter than the lease and a bad isolation are refused', () => {
    expect(() => compileOperatorOptions({}, {})).toThrow(/DATABASE_URL/);
    expect(() => compileOperatorOptions({ databaseUrl: 'x', leaseTtlMs: 1000, heartbeatMs: 1000 }, {})).toThrow(/shorter than the lease/);
    expect(() => compileOperatorOptions({ databaseUrl: 'x' }, { SSDK_ISOLATION: 'maybe' })).toThrow(/SSDK_ISOLATION/);
    expect(() => compileOperatorOptions({ databaseUrl: 'x' }, { SSDK_LEASE_TTL_MS: '-1' })).toThrow(/SSDK_LEASE_TTL_MS/);
  });
});
