/**
 * The distributed commands take the stack's settings by its one rule (@ssdk/settings): a flag,
 * else the environment, else the default; a bad value is a usage error (exit 2, a hint, no stack)
 * that names the flag or the variable it came from.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ParsedCommand } from './args.ts';
import { bufferIo } from './io.ts';
import { main } from './main.ts';
import { stackSettings } from './distributed.ts';
import { controlSchemaOf, postgresUrlOf } from './distributed-control.ts';

const FILE = new URL('../../../examples/word-count/services.yaml', import.meta.url).pathname;
const VARS = ['SSDK_PARTITIONS', 'SSDK_SUBJECT_PREFIX', 'SSDK_CONTROL_SCHEMA', 'NATS_URL', 'DATABASE_URL'] as const;
const saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const k of VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('stack settings of the CLI', () => {
  it('cli - flags win over the environment; the control schema follows the prefix; SSDK_PARTITIONS is a plan option', () => {
    process.env['SSDK_SUBJECT_PREFIX'] = 'h3env';
    process.env['SSDK_PARTITIONS'] = '3';
    process.env['NATS_URL'] = 'nats://h3env:4222';
    delete process.env['SSDK_CONTROL_SCHEMA'];
    const cmd = (values: ParsedCommand['values']): ParsedCommand => ({ values, positionals: [], help: false });
    expect(stackSettings(cmd({}), 'produce')).toMatchObject({ subjectPrefix: 'h3env', partitions: 3, natsUrl: 'nats://h3env:4222' });
    expect(stackSettings(cmd({ 'subject-prefix': 'h3flag', partitions: '5', nats: 'nats://h3flag:4222' }), 'produce')).toMatchObject({ subjectPrefix: 'h3flag', partitions: 5, natsUrl: 'nats://h3flag:4222' });
    expect(controlSchemaOf({})).toMatch(/^ssdk_control_h3env__/);
    expect(controlSchemaOf({}, 'ssdk')).toBe('ssdk_control');
    expect(controlSchemaOf({ 'control-schema': 'ctl_h3' })).toBe('ctl_h3');
    expect(postgresUrlOf({}, { DATABASE_URL: 'postgres://h3@db/x' })).toBe('postgres://h3@db/x');
  });

  it('cli - a bad setting from a flag or the environment: exit 2, named, a hint, no stack', async () => {
    const flag = bufferIo();
    expect(await main(['produce', 'sentences', '--file', '/dev/null', '--partitions', '0', FILE], flag)).toBe(2);
    expect(flag.stderr()).toContain('ssdk produce: error: --partitions takes a whole number of 1 or more, got `0`');
    expect(flag.stderr()).toContain('hint: run `ssdk produce --help`');

    process.env['SSDK_PARTITIONS'] = 'four';
    const env = bufferIo();
    expect(await main(['produce', 'sentences', '--file', '/dev/null', FILE], env)).toBe(2);
    expect(env.stderr()).toContain('SSDK_PARTITIONS takes a whole number of 1 or more, got `four`');
    expect(env.stderr()).not.toMatch(/\n\s+at /);

    delete process.env['SSDK_PARTITIONS'];
    process.env['SSDK_SUBJECT_PREFIX'] = 'h3 bad';
    const prefix = bufferIo();
    expect(await main(['operator', FILE, '--operator', 'count-words.split-sentence'], prefix)).toBe(2);
    expect(prefix.stderr()).toContain('SSDK_SUBJECT_PREFIX must be dot-separated tokens');
  });
});
