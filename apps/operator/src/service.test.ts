import { describe, expect, it } from 'vitest';
import { operatorConfig, OperatorUsageError } from './service.ts';

describe('operator service config', () => {
  it('operator - flags win over the environment', () => {
    const env = { SSDK_FILE: 'env.yaml', SSDK_OPERATOR: 'a.b', NATS_URL: 'nats://env:4222', DATABASE_URL: 'postgres://env/db', SSDK_PARTITIONS: '2' };
    expect(operatorConfig({ operator: 'c.d', nats: 'nats://flag:4222' }, env)).toEqual({
      file: 'env.yaml',
      operatorId: 'c.d',
      natsUrl: 'nats://flag:4222',
      databaseUrl: 'postgres://env/db',
      partitions: 2,
    });
  });

  it('operator - a missing file, operator or a bad partition count is the user\'s mistake', () => {
    expect(() => operatorConfig({ operator: 'x' }, {})).toThrow(OperatorUsageError);
    expect(() => operatorConfig({ file: 'f.yaml' }, {})).toThrow(/--operator ID/);
    expect(() => operatorConfig({ file: 'f.yaml', operator: 'x', partitions: '0' }, {})).toThrow(/--partitions/);
  });
});
