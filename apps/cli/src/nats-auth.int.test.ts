// The CLI against a NATS server that wants credentials: a refusal is exit 1 with one line that
// names the server without its password and says how to give credentials (no stack trace); the
// --nats-user flag with NATS_PASSWORD from the environment gets through to the server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsOperator } from '@ssdk/bus/testkit';
import { PrivateNatsServer } from '@ssdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const server = new PrivateNatsServer('ssdk-cli-auth', { config: 'authorization { users: [ { user: app, password: "right-pw" } ] }\n' });

beforeAll(() => server.start());
afterAll(() => server.dispose());

async function ssdk(args: string[]): Promise<{ code: number; err: string }> {
  const io = bufferIo();
  const code = await main(args, io);
  return { code, err: io.stderr() };
}

describe('cli - NATS credentials', () => {
  it('cli - a refused connection is exit 1, the server named with its password hidden, no stack trace', async () => {
    const url = `nats://app:wrong-pw@127.0.0.1:${server.port}`;
    const { code, err } = await ssdk(['status', '--nats', url, '--subject-prefix', 'ssdk_cli_auth']);
    expect(code).toBe(1);
    expect(err).toContain(`ssdk status: failed: the NATS server at nats://app:***@127.0.0.1:${server.port} refused the connection`);
    expect(err).toMatch(/NATS_USER \+ NATS_PASSWORD/);
    expect(err).not.toContain('wrong-pw');
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('cli - --nats-user with NATS_PASSWORD from the environment reaches the server (no planner: that is the next error)', async () => {
    const saved = { user: process.env['NATS_USER'], password: process.env['NATS_PASSWORD'] };
    process.env['NATS_PASSWORD'] = 'right-pw';
    try {
      const { code, err } = await ssdk(['status', '--nats', server.url, '--nats-user', 'app', '--subject-prefix', 'ssdk_cli_auth']);
      expect(code).toBe(1);
      expect(err).toContain('no planner answers on ssdk_cli_auth.planner.status');
      expect(err).not.toContain('refused');
    } finally {
      for (const [k, v] of [['NATS_USER', saved.user], ['NATS_PASSWORD', saved.password]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('cli - NATS_CREDS of an account the server does not trust: exit 1, no stack trace, neither seed nor JWT printed', async () => {
    const operator = natsOperator();
    const jwtServer = new PrivateNatsServer('ssdk-cli-creds', { config: operator.serverConfig });
    await jwtServer.start();
    const saved = process.env['NATS_CREDS'];
    try {
      const creds = operator.strangerCreds('intruder');
      const file = join(jwtServer.dir, 'intruder.creds');
      writeFileSync(file, creds, { mode: 0o600 });
      process.env['NATS_CREDS'] = file;
      const { code, err } = await ssdk(['status', '--nats', jwtServer.url, '--subject-prefix', 'ssdk_h6_creds']);
      expect(code).toBe(1);
      expect(err).toContain(`ssdk status: failed: the NATS server at ${jwtServer.url} refused the connection`);
      expect(err).not.toMatch(/\n\s+at /);
      for (const secret of creds.split('\n').filter((l) => l.length > 40)) expect(err).not.toContain(secret);
      // The same CLI with creds the operator issued gets through (no planner: that is the next error).
      writeFileSync(file, operator.userCreds('app'), { mode: 0o600 });
      const ok = await ssdk(['status', '--nats', jwtServer.url, '--subject-prefix', 'ssdk_h6_creds']);
      expect(ok.code).toBe(1);
      expect(ok.err).toContain('no planner answers on ssdk_h6_creds.planner.status');
    } finally {
      if (saved === undefined) delete process.env['NATS_CREDS'];
      else process.env['NATS_CREDS'] = saved;
      await jwtServer.dispose();
    }
  });
});
