import { describe, expect, it } from 'vitest';
import { compileStackSettings, controlSchemaFor, localPostgresUrl, SettingsError, subjectPrefixOf } from './stack.ts';

describe('stack settings', () => {
  it('settings - flags win over the environment, which wins over the defaults', () => {
    const env = { NATS_URL: 'nats://env:4222', DATABASE_URL: 'postgres://env/db', SSDK_SUBJECT_PREFIX: 'acme.prod', SSDK_CONTROL_SCHEMA: 'ctl_env', SSDK_PARTITIONS: '4' };
    expect(compileStackSettings({}, env)).toEqual({ natsUrl: 'nats://env:4222', databaseUrl: 'postgres://env/db', subjectPrefix: 'acme.prod', controlSchema: 'ctl_env', partitions: 4 });
    expect(compileStackSettings({ natsUrl: 'nats://flag:4222', databaseUrl: 'postgres://flag/db', subjectPrefix: 'flag', controlSchema: 'ctl_flag', partitions: '2' }, env)).toEqual({
      natsUrl: 'nats://flag:4222',
      databaseUrl: 'postgres://flag/db',
      subjectPrefix: 'flag',
      controlSchema: 'ctl_flag',
      partitions: 2,
    });
  });

  it('settings - defaults: local NATS, the local PostgreSQL as psql finds it, prefix ssdk, its control schema, partitions left to the plan', () => {
    const s = compileStackSettings({}, { PGHOST: 'db.local', PGPORT: '6432', PGUSER: 'ann', PGDATABASE: 'flows' });
    expect(s).toEqual({ natsUrl: 'nats://127.0.0.1:4222', databaseUrl: 'postgres://ann@db.local:6432/flows', subjectPrefix: 'ssdk', controlSchema: 'ssdk_control' });
    expect(s).not.toHaveProperty('partitions');
    // An empty variable is unset (`VAR= cmd`).
    expect(compileStackSettings({}, { SSDK_SUBJECT_PREFIX: '', NATS_URL: '' })).toMatchObject({ subjectPrefix: 'ssdk', natsUrl: 'nats://127.0.0.1:4222' });
    expect(localPostgresUrl({ PGUSER: 'a b' })).toBe('postgres://a%20b@127.0.0.1:5432/a%20b');
  });

  it('settings - the control schema follows the subject prefix unless given', () => {
    expect(compileStackSettings({ subjectPrefix: 'h3.x' }, {}).controlSchema).toBe(controlSchemaFor('h3.x'));
    expect(controlSchemaFor('h3.x')).toMatch(/^ssdk_control_h3_x__[0-9a-f]{10}$/);
    expect(controlSchemaFor('h3.x')).not.toBe(controlSchemaFor('h3-x'));
  });

  it('settings - a bad value names where it came from', () => {
    expect(() => compileStackSettings({}, { SSDK_SUBJECT_PREFIX: 'a b' })).toThrow(/SSDK_SUBJECT_PREFIX must be dot-separated tokens.*`a b`/);
    expect(() => subjectPrefixOf('a..b', {})).toThrow(/the subject prefix must be/);
    expect(() => compileStackSettings({}, { SSDK_PARTITIONS: 'four' })).toThrow(/SSDK_PARTITIONS takes a whole number of 1 or more, got `four`/);
    expect(() => compileStackSettings({ partitions: '0' }, {})).toThrow(/--partitions takes a whole number/);
    expect(() => compileStackSettings({ partitions: '0' }, {})).toThrow(SettingsError);
  });
});
