import { describe, expect, it } from 'vitest';
import { parseConnectionString, pgExec, PgWireError, Scram } from './pg-wire.ts';
import { LOCAL_POSTGRES_URL } from './postgres.ts';

describe('testing - minimal PostgreSQL wire client', () => {
  it('testing - parses connection strings', () => {
    expect(parseConnectionString('postgres://u:p%40ss@db.local:5433/app?sslmode=require')).toEqual({
      host: 'db.local',
      port: 5433,
      user: 'u',
      password: 'p@ss',
      database: 'app',
      sslmode: 'require',
    });
    expect(parseConnectionString('postgresql://postgres@127.0.0.1/test')).toMatchObject({ port: 5432, password: undefined, sslmode: 'disable' });
    expect(parseConnectionString('postgres://me@localhost/db?host=/var/run/postgresql')).toMatchObject({ host: '/var/run/postgresql', database: 'db' });
    expect(() => parseConnectionString('mysql://x@y/z')).toThrow(PgWireError);
    expect(() => parseConnectionString('not a url')).toThrow(PgWireError);
  });

  it('testing - computes SCRAM-SHA-256 proofs as RFC 7677 does', () => {
    // The RFC's example exchange (user "user", password "pencil").
    const scram = new Scram('pencil', 'rOprNGfwEbeRWgbNEkqO', 'user');
    expect(scram.clientFirst()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const final = scram.clientFinal('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    expect(final).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(() => scram.verifyServer('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).not.toThrow();
    expect(() => scram.verifyServer('v=AAAA')).toThrow(/signature/);
  });

  it('testing - runs statements and reports server errors with their SQLSTATE', async () => {
    await pgExec(LOCAL_POSTGRES_URL, ['SELECT 1', "SELECT 'two'"]);
    await expect(pgExec(LOCAL_POSTGRES_URL, ['SELECT * FROM no_such_table_here'])).rejects.toMatchObject({ code: '42P01' });
    await expect(pgExec('postgres://postgres@127.0.0.1:5432/no_such_db_here', ['SELECT 1'])).rejects.toMatchObject({ code: '3D000' });
    await expect(pgExec('postgres://postgres@127.0.0.1:1/test', ['SELECT 1'])).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
