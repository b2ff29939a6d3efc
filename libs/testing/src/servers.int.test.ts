import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TestServerUnavailableError } from './errors.ts';
import { LOCAL_NATS_URL, readNatsInfo, testNats } from './nats.ts';
import { pgExec } from './pg-wire.ts';
import { testPostgres } from './postgres.ts';

const closedPort = 'postgres://postgres@127.0.0.1:1/test';

describe('testing - servers for integration tests', () => {
  it('testing - testPostgres gives each call its own schema and cleanup drops it', async () => {
    const a = await testPostgres();
    const b = await testPostgres({ prefix: 'ssdk_other' });
    try {
      expect(a.source).toBe(process.env.DATABASE_URL ? 'env' : 'local');
      expect(a.schema).not.toBe(b.schema);
      expect(a.schema).toMatch(/^ssdk_test_[a-z0-9_]+$/);
      expect(b.schema).toMatch(/^ssdk_other_/);
      await pgExec(a.connectionString, [`CREATE TABLE "${a.schema}".t (x int)`]);
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
    await expect(pgExec(a.connectionString, [`CREATE TABLE "${a.schema}".t (x int)`])).rejects.toMatchObject({ code: '3F000' });
    await a.cleanup(); // idempotent
  });

  it('testing - testPostgres prefers DATABASE_URL and says when it does not answer', async () => {
    const env = { DATABASE_URL: closedPort };
    await expect(testPostgres({ env })).rejects.toThrow(/DATABASE_URL is set but PostgreSQL does not answer there: .*ECONNREFUSED/);
    const local = await testPostgres({ env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' } });
    expect(local.source).toBe('env');
    await local.cleanup();
  });

  it('testing - testPostgres says how to start PostgreSQL when nothing answers', async () => {
    const failing = testPostgres({ env: {}, localUrl: closedPort });
    await expect(failing).rejects.toBeInstanceOf(TestServerUnavailableError);
    // Without Docker, the testcontainers attempt fails cleanly and is listed.
    await expect(failing).rejects.toThrow(/127\.0\.0\.1:1[\s\S]*testcontainers[\s\S]*pg_ctlcluster --skip-systemctl-redirect/);
    await expect(testPostgres({ env: {}, localUrl: closedPort, containers: false })).rejects.not.toThrow(/testcontainers \(/);
  });

  it('testing - testNats reuses the local JetStream server with a unique prefix', async () => {
    const a = await testNats();
    const b = await testNats();
    expect(a.url).toBe(process.env.NATS_URL ?? LOCAL_NATS_URL);
    expect(a.prefix).not.toBe(b.prefix);
    expect(a.prefix).toMatch(/^ssdk_test_[a-z0-9_]+$/);
    expect((await readNatsInfo(a.url)).jetstream).toBe(true);
    await a.cleanup();
  });

  it('testing - testNats reports a NATS_URL that does not answer and says how to start NATS', async () => {
    await expect(testNats({ env: { NATS_URL: 'nats://127.0.0.1:1' } })).rejects.toThrow(/NATS_URL is set but no NATS JetStream server answers/);
    await expect(testNats({ env: {}, localUrl: 'nats://127.0.0.1:1' })).rejects.toThrow(/start-stop-daemon --start --oknodo[\s\S]*-js/);
  });

  it('testing - readNatsInfo tells a NATS server from another one', async () => {
    const server = createServer((socket) => socket.end('HELLO there\r\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      await expect(readNatsInfo(`nats://127.0.0.1:${port}`)).rejects.toThrow(/is not a NATS server/);
    } finally {
      server.close();
    }
  });

  it('testing - the optional testcontainers modules load on this Node', async () => {
    const pg = await import('@testcontainers/postgresql');
    const nats = await import('@testcontainers/nats');
    expect(typeof pg.PostgreSqlContainer).toBe('function');
    expect(typeof new nats.NatsContainer().withJetStream).toBe('function');
  });
});
