// The bus against NATS servers that ask who is connecting: user/password, token, nkey and
// mutual TLS, each on a private nats-server with its own configuration (certificates made with
// openssl in the server's folder). Each test also connects without the credential and expects
// the refusal, so a client that ignored the option would fail it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { PrivateNatsServer } from '@ssdk/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { BusAuthError, BusConfigError } from './errors.ts';
import { createNatsBus } from './nats.ts';
import { connectControl } from './nats-control.ts';
import { openArtifactStore } from './nats-artifacts.ts';
import { natsOperator } from './nats-jwt.testkit.ts';

const servers: PrivateNatsServer[] = [];
function serverWith(config: string | ((dir: string) => string)): PrivateNatsServer {
  const server = new PrivateNatsServer('ssdk-bus-auth', { config });
  servers.push(server);
  return server;
}

afterAll(async () => {
  for (const s of servers) await s.dispose();
});

/** Connects, creates a topic, publishes and reads one message back: the credential really works. */
async function roundTrip(options: Parameters<typeof createNatsBus>[0]): Promise<string> {
  const bus = await createNatsBus({ ...options, subjectPrefix: 'ssdk_auth', env: {}, retryTimeoutMs: 2_000 });
  try {
    await bus.ensureTopic({ name: 'events', partitions: 1 });
    await bus.publish('events', 0, [{ data: new TextEncoder().encode('hello'), msgId: 'a' }]);
    const reader = bus.read('events', 0);
    const [m] = await reader.fetch(1, 5_000);
    await reader.close();
    return new TextDecoder().decode(m!.data);
  } finally {
    await bus.destroy();
  }
}

async function refusal(options: Parameters<typeof createNatsBus>[0]): Promise<Error> {
  try {
    const bus = await createNatsBus({ ...options, env: {}, connectTimeoutMs: 3_000 });
    await bus.close();
  } catch (err) {
    return err as Error;
  }
  throw new Error('the server accepted the connection');
}

describe('bus - nats authentication', () => {
  it('bus - user and password: refused without them (BusAuthError, no secret in the message), works with them', async () => {
    const server = serverWith('authorization { users: [ { user: app, password: "s3cret-pw" } ] }\n');
    await server.start();
    const anonymous = await refusal({ servers: server.url });
    expect(anonymous).toBeInstanceOf(BusAuthError);
    expect(anonymous.message).toMatch(/refused the connection \(.*authorization violation.*\).*NATS_USER/i);
    const wrong = await refusal({ servers: server.url, user: 'app', password: 'wrong-one' });
    expect(wrong).toBeInstanceOf(BusAuthError);
    expect(wrong.message).not.toContain('wrong-one');
    // A password in the URL works too, and is hidden in messages.
    const inUrl = await refusal({ servers: `nats://app:bad-in-url@127.0.0.1:${server.port}` });
    expect(inUrl.message).toContain('nats://app:***@127.0.0.1');
    expect(inUrl.message).not.toContain('bad-in-url');
    expect(await roundTrip({ servers: server.url, user: 'app', password: 's3cret-pw' })).toBe('hello');
    // From the environment, as the nats CLI reads it.
    const bus = await createNatsBus({ servers: server.url, env: { NATS_USER: 'app', NATS_PASSWORD: 's3cret-pw' } });
    await bus.close();
    const control = await connectControl({ servers: server.url, user: 'app', password: 's3cret-pw' });
    await control.close();
    await expect(connectControl({ servers: server.url, connectTimeoutMs: 3_000 })).rejects.toBeInstanceOf(BusAuthError);
  });

  it('bus - the artifact store connects as the bus does: refused without the credentials, stores and fetches with them (options or NATS_* environment)', async () => {
    const server = serverWith('authorization { users: [ { user: deployer, password: "art-pw" } ] }\n');
    await server.start();
    const refused = await openArtifactStore({ servers: server.url, subjectPrefix: 'ssdk_auth_art', env: {} }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(refused).toBeInstanceOf(BusAuthError);
    expect(refused!.message).not.toContain('art-pw');
    const bytes = new TextEncoder().encode('a compiled function');
    const store = await openArtifactStore({ servers: server.url, subjectPrefix: 'ssdk_auth_art', user: 'deployer', password: 'art-pw', env: {} });
    const hash = await store.put(bytes);
    await store.close();
    // An operator gets them from its environment, never its command line.
    const fromEnv = await openArtifactStore({ servers: server.url, subjectPrefix: 'ssdk_auth_art', env: { NATS_USER: 'deployer', NATS_PASSWORD: 'art-pw' } });
    expect(new TextDecoder().decode(await fromEnv.get(hash))).toBe('a compiled function');
    await fromEnv.close();
  });

  it('bus - token and nkey', async () => {
    const user = nkeys.createUser();
    const server = serverWith(`authorization { users: [ { nkey: ${user.getPublicKey()} } ] }\n`);
    const seedFile = join(server.dir, 'user.nk');
    writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()), { mode: 0o600 });
    await server.start();
    expect(await refusal({ servers: server.url })).toBeInstanceOf(BusAuthError);
    const other = join(server.dir, 'other.nk');
    writeFileSync(other, new TextDecoder().decode(nkeys.createUser().getSeed()));
    expect(await refusal({ servers: server.url, nkeyFile: other })).toBeInstanceOf(BusAuthError);
    expect(await roundTrip({ servers: server.url, nkeyFile: seedFile })).toBe('hello');
    await expect(createNatsBus({ servers: server.url, nkeyFile: join(server.dir, 'missing.nk'), env: {} })).rejects.toThrow(/cannot read the NATS nkey seed file .*missing\.nk \(ENOENT\)/);

    const tokenServer = serverWith('authorization { token: "t0ken-value" }\n');
    await tokenServer.start();
    const noToken = await refusal({ servers: tokenServer.url });
    expect(noToken).toBeInstanceOf(BusAuthError);
    expect(await roundTrip({ servers: tokenServer.url, token: 't0ken-value' })).toBe('hello');
  });

  it('bus - mutual TLS: a client without the CA or without its certificate is refused', async () => {
    const server = serverWith((dir) =>
      [
        'tls {',
        `  cert_file: "${join(dir, 'server.pem')}"`,
        `  key_file: "${join(dir, 'server.key')}"`,
        `  ca_file: "${join(dir, 'ca.pem')}"`,
        '  verify: true',
        '}',
        '',
      ].join('\n'),
    );
    const dir = server.dir;
    makeCertificates(dir);
    await server.start();
    const ca = join(dir, 'ca.pem');
    const noClientCert = await refusal({ servers: server.url, caFile: ca });
    expect(noClientCert.message).toMatch(/over TLS: .*NATS_CERT/);
    const noCa = await refusal({ servers: server.url, certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') });
    expect(noCa).toBeInstanceOf(BusAuthError);
    expect(noCa.message).toMatch(/TLS with the NATS server at .* failed: .*(certificate|signed)/i);
    expect(await roundTrip({ servers: server.url, caFile: ca, certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') })).toBe('hello');
    // From the environment, with the nats CLI's names.
    const bus = await createNatsBus({ servers: server.url, env: { NATS_CA: ca, NATS_CERT: join(dir, 'client.pem'), NATS_KEY: join(dir, 'client.key') } });
    await bus.close();
  });

  it('bus - creds file (JWT, operator mode): a user of the trusted account gets in, a stranger account and no creds are refused', async () => {
    const operator = natsOperator();
    const server = serverWith(operator.serverConfig);
    await server.start();
    const good = join(server.dir, 'app.creds');
    writeFileSync(good, operator.userCreds('app'), { mode: 0o600 });
    const strangerText = operator.strangerCreds('intruder');
    const stranger = join(server.dir, 'intruder.creds');
    writeFileSync(stranger, strangerText, { mode: 0o600 });
    expect(await refusal({ servers: server.url })).toBeInstanceOf(BusAuthError);
    const refused = await refusal({ servers: server.url, credsFile: stranger });
    expect(refused).toBeInstanceOf(BusAuthError);
    expect(refused.message).toMatch(/refused the connection/);
    // Neither the seed nor the JWT of the refused creds shows in the message.
    for (const secret of strangerText.split('\n').filter((l) => l.length > 40)) expect(refused.message).not.toContain(secret);
    expect(await roundTrip({ servers: server.url, credsFile: good })).toBe('hello');
    // From the environment, as the nats CLI reads it.
    const bus = await createNatsBus({ servers: server.url, env: { NATS_CREDS: good } });
    await bus.close();
  });

  it('bus - credentials that cannot go together are refused before connecting', async () => {
    await expect(createNatsBus({ env: { NATS_TOKEN: 'x', NATS_USER: 'a', NATS_PASSWORD: 'b' } })).rejects.toThrow(BusConfigError);
    await expect(createNatsBus({ env: { NATS_TOKEN: 'x', NATS_USER: 'a', NATS_PASSWORD: 'b' } })).rejects.toThrow(/one way to authenticate, got user\/password and token/);
    await expect(createNatsBus({ env: { NATS_CERT: '/x.pem' } })).rejects.toThrow(/needs its key/);
  });
});

function makeCertificates(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=ssdk test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const name of ['server', 'client']) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', `${name}.pem`);
  }
}
