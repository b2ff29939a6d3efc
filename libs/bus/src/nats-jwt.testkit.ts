/**
 * Decentralized NATS auth for tests: an operator, an account with JetStream and users, as JWTs
 * signed with nkeys — what `nsc` makes, written out here because neither `nsc` nor a JWT
 * library is installable on these machines. The JWT layout is nats' v2 (`ed25519-nkey`): the
 * server checks each signature against the issuer's public key, so a user issued by an account
 * the operator did not sign is refused.
 *
 * @example
 * const op = natsOperator();
 * const server = new PrivateNatsServer('x', { config: op.serverConfig });
 * writeFileSync(file, op.userCreds('app'), { mode: 0o600 });   // NATS_CREDS=file
 */
import { createHash } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';

type KeyPair = ReturnType<typeof nkeys.createUser>;

export interface NatsOperator {
  /** nats-server configuration: operator mode, memory resolver preloaded with the account. */
  serverConfig: string;
  /** A creds file's text for a new user of the account (its JWT and seed). */
  userCreds(name: string): string;
  /** A creds file's text for a user of an account this operator never signed. */
  strangerCreds(name: string): string;
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

/** Encodes and signs claims as nats-server expects them (jti: a hash of the claims, as nsc does). */
function jwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const claims: Record<string, unknown> = { jti: '', iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } };
  claims['jti'] = createHash('sha256').update(JSON.stringify(claims)).digest('base64url').toUpperCase();
  const head = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${b64url(issuer.sign(new TextEncoder().encode(head)))}`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const JETSTREAM = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };

function account(operator: KeyPair, name: string, limits: Record<string, unknown>): { key: KeyPair; jwt: string } {
  const key = nkeys.createAccount();
  return { key, jwt: jwt(operator, key.getPublicKey(), name, { type: 'account', limits }) };
}

function creds(accountKey: KeyPair, name: string): string {
  const user = nkeys.createUser();
  const token = jwt(accountKey, user.getPublicKey(), name, { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  return [
    '-----BEGIN NATS USER JWT-----',
    token,
    '------END NATS USER JWT------',
    '',
    '-----BEGIN USER NKEY SEED-----',
    new TextDecoder().decode(user.getSeed()),
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
}

export function natsOperator(): NatsOperator {
  const operator = nkeys.createOperator();
  const operatorJwt = jwt(operator, operator.getPublicKey(), 'ssdk-test-operator', { type: 'operator' });
  const acct = account(operator, 'ssdk-test', { ...UNLIMITED, ...JETSTREAM });
  // JetStream needs a system account in operator mode (its internal subscriptions live there).
  const system = account(operator, 'SYS', UNLIMITED);
  const stranger = account(nkeys.createOperator(), 'ssdk-test', { ...UNLIMITED, ...JETSTREAM });
  return {
    serverConfig: [
      `operator: ${operatorJwt}`,
      `system_account: ${system.key.getPublicKey()}`,
      'resolver: MEMORY',
      `resolver_preload: { ${acct.key.getPublicKey()}: ${acct.jwt}, ${system.key.getPublicKey()}: ${system.jwt} }`,
      '',
    ].join('\n'),
    userCreds: (name) => creds(acct.key, name),
    strangerCreds: (name) => creds(stranger.key, name),
  };
}
