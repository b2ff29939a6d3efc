// The state store over TLS to a real PostgreSQL: a private cluster (initdb, on a port the OS finds free) with
// ssl=on, a certificate from a CA made here, and pg_hba refusing every connection without TLS.
// The store connects with libpq's parameters in the URL (sslmode=verify-full, sslrootcert), and
// state, offsets and ctx.sql (under the dataflow's SQL role) work; without TLS, or trusting
// another CA, the connection is refused.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@ssdk/testing';
import { openPostgresDatabase, openPostgresStore } from './postgres.ts';

// Not a fixed port: one in the ephemeral range (32768–60999) can be taken by any outgoing connection.
let PORT = 0;
const BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((d) => existsSync(join(d, 'initdb')));
const dir = mkdtempSync(join(tmpdir(), 'ssdk-h6-pgtls-'));
const data = join(dir, 'data');
// initdb refuses to run as root: the cluster then belongs to the postgres user.
const asRoot = process.getuid?.() === 0;
const pgUser = () => Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
const run = (cmd: string, args: string[]) =>
  execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, { stdio: 'pipe', timeout: 120_000 });

function certificates(): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  for (const ca of ['ca', 'other-ca']) {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=ssdk test ${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`);
  }
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem');
}

beforeAll(async () => {
  if (!BIN) throw new Error('no PostgreSQL server binaries (apt-get install postgresql): this test starts a private cluster');
  certificates();
  if (asRoot) {
    const uid = pgUser();
    for (const f of ['', 'server.key', 'server.pem', 'ca.pem']) chownSync(join(dir, f), uid, uid);
  }
  chmodSync(join(dir, 'server.key'), 0o600);
  PORT = await freePort();
  run(join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [
      `port = ${PORT}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'ssl = on',
      `ssl_cert_file = '${join(dir, 'server.pem')}'`,
      `ssl_key_file = '${join(dir, 'server.key')}'`,
      '',
    ].join('\n'),
  );
  // TLS or nothing: connections without it are rejected.
  writeFileSync(join(data, 'pg_hba.conf'), ['hostssl all all 127.0.0.1/32 trust', 'hostnossl all all 127.0.0.1/32 reject', ''].join('\n'));
  run(join(BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', 'start']);
}, 180_000);

afterAll(() => {
  if (BIN && existsSync(join(data, 'postmaster.pid'))) run(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  rmSync(dir, { recursive: true, force: true });
});

const url = (query: string) => `postgres://postgres@localhost:${PORT}/postgres?${query}`;

describe('state - PostgreSQL over TLS', () => {
  it('state - sslmode=verify-full with the CA: state, offsets and ctx.sql (SQL role) work, over TLS', async () => {
    const connectionString = url(`sslmode=verify-full&sslrootcert=${join(dir, 'ca.pem')}`);
    const store = await openPostgresStore({ connectionString, schema: 'ssdk_h6_tls' });
    try {
      await store.migrate([{ table: 'counts', keyType: 'string', windowed: false, value: { kind: 'json' } }]);
      await store.commit({ writes: [{ table: 'counts', key: 'tls', partition: 0, value: 7 }], offsets: [{ operator: 'count', partition: 0, seq: 3 }] });
      expect(await store.get('counts', ['tls'])).toEqual(new Map([['tls', 7]]));
      expect((await store.offsets('count')).get(0)).toMatchObject({ seq: 3 });
      expect(await store.query('SELECT key, value FROM counts')).toEqual([{ key: 'tls', value: 7 }]);
      // The SQL role holds over TLS too.
      await expect(store.query("SELECT pg_read_file('/etc/passwd')")).rejects.toThrow(/permission denied/);
    } finally {
      await store.destroy();
      await store.close();
    }
    // The server says the session is encrypted.
    const db = openPostgresDatabase({ connectionString });
    try {
      expect(await db.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).toEqual([{ ssl: true }]);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('state - without TLS the server refuses; a server certificate from another CA is refused by the client', async () => {
    const plain = await openPostgresStore({ connectionString: url('sslmode=disable'), schema: 'ssdk_h6_tls_plain', pool: { connectTimeoutMs: 5_000 } });
    await expect(plain.offsets('x')).rejects.toThrow(/pg_hba\.conf rejects connection .*no encryption/);
    await plain.close();
    const wrongCa = await openPostgresStore({ connectionString: url(`sslmode=verify-full&sslrootcert=${join(dir, 'other-ca.pem')}`), schema: 'ssdk_h6_tls_ca', pool: { connectTimeoutMs: 5_000 } });
    await expect(wrongCa.offsets('x')).rejects.toThrow(/self[- ]signed certificate|unable to verify|certificate/i);
    await wrongCa.close();
  }, 120_000);
});
