/**
 * Signed deployments. Whoever can publish on NATS can ask the planner to deploy; only whoever
 * holds the deployer's signing key can make an operator run code. `ssdk deploy` signs a small
 * statement — the dataflow, the hash of its bundle, the hash of the artifacts' manifest
 * (`deploymentHash`, which covers the plan and every compiled function), the steps that run
 * natively, and when it was signed — with an ed25519 nkey seed (`SSDK_SIGNING_KEY`, or the file
 * `SSDK_SIGNING_KEY_FILE`, never argv). The planner keeps the signature with the version;
 * operators given trusted public keys (`SSDK_TRUSTED_KEYS`, `--trusted-key`) run a version only
 * when its statement is signed by one of them and matches what they fetched.
 *
 * Native code is trusted code, so turning it on is guarded even without keys: a version that
 * runs a step natively that the dataflow's first version did not run natively needs a statement
 * that names the step, signed by a trusted key.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createOperator, fromPublic, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { canonicalJson, type PhysicalPlan } from '@ssdk/plan';

export const STATEMENT_VERSION = 1;

/** What the deployer vouches for. */
export interface DeploymentStatement {
  statementVersion: typeof STATEMENT_VERSION;
  /** `NS/NAME`. */
  dataflow: string;
  /** `bundleHash` of the services file and functions sent to the planner. */
  bundle: string;
  /** `deploymentHash` of the artifacts' manifest, when the deployment ships artifacts. */
  artifacts?: string;
  /** Step ids the plan runs natively (`isolation: native`), sorted. */
  native: string[];
  /** Epoch ms: a version signed before the one it replaces is refused (no rollback by replay). */
  signedAt: number;
}

export interface DeploymentSignature {
  statement: DeploymentStatement;
  /** The signer's public nkey. */
  key: string;
  /** ed25519 signature of the statement's canonical JSON, base64. */
  signature: string;
}

/** A deployment an operator (or the planner) will not run, and why. */
export class PlanNotTrustedError extends Error {
  override name = 'PlanNotTrustedError';
  readonly code = 'plan-not-trusted';
  readonly domain = 'user';
  /** The deployed version refused, when the check was of one (an operator waits for the next). */
  readonly refused: { dataflow: string; version: number; hash: string; artifacts?: string; subjectPrefix: string } | undefined;
  constructor(message: string, refused?: PlanNotTrustedError['refused']) {
    super(message);
    this.refused = refused;
  }
}

const encoder = new TextEncoder();

/** The step ids a plan runs natively, sorted. */
export function nativeSteps(plan: PhysicalPlan): string[] {
  return plan.operators.flatMap((op) => op.steps.filter((s) => s.settings.isolation === 'native').map((s) => s.id)).sort();
}

/** Signs a statement with an nkey seed. */
export function signStatement(seed: string, statement: DeploymentStatement): DeploymentSignature {
  const kp = keyPairOfSeed(seed);
  try {
    return { statement, key: kp.getPublicKey(), signature: Buffer.from(kp.sign(encoder.encode(canonicalJson(statement)))).toString('base64') };
  } finally {
    kp.clear();
  }
}

function keyPairOfSeed(seed: string): KeyPair {
  try {
    return fromSeed(encoder.encode(seed.trim()));
  } catch {
    // Never the seed itself in the message.
    throw new PlanNotTrustedError('the signing key is not an nkey seed (a line starting with `S`, as `ssdk keygen` or `nk -gen operator` writes it)');
  }
}

/** A public nkey, checked; throws naming the key (public keys are not secret). */
export function checkPublicKey(key: string, origin: string): string {
  const k = key.trim();
  try {
    fromPublic(k);
  } catch {
    throw new PlanNotTrustedError(`${origin}: \`${k}\` is not a public nkey (56 characters, starting with O, A, U or N)`);
  }
  return k;
}

/** Whether `sig` is a valid signature of its own statement by its own key (not whether the key is trusted). */
export function signatureHolds(sig: DeploymentSignature): boolean {
  try {
    return fromPublic(sig.key).verify(encoder.encode(canonicalJson(sig.statement)), new Uint8Array(Buffer.from(sig.signature, 'base64')));
  } catch {
    return false;
  }
}

// ---- keys from the environment ----------------------------------------------------------------

/** The deployer's seed: `SSDK_SIGNING_KEY` (the seed), else the file `SSDK_SIGNING_KEY_FILE`; undefined when neither is set. */
export async function signingSeedFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const inline = env['SSDK_SIGNING_KEY'];
  if (inline && inline.trim() !== '') return inline.trim();
  const file = env['SSDK_SIGNING_KEY_FILE'];
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PlanNotTrustedError(`SSDK_SIGNING_KEY_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // The first line that looks like a seed (a file may carry comments, as nsc's do).
  const seed = text.split(/\r?\n/).map((l) => l.trim()).find((l) => /^S[A-Z2-7]{20,}$/.test(l));
  if (!seed) throw new PlanNotTrustedError(`SSDK_SIGNING_KEY_FILE: ${file} holds no nkey seed`);
  return seed;
}

/** Trusted public keys: `SSDK_TRUSTED_KEYS` (separated by commas or spaces) plus `extra` (flags). */
export function trustedKeysFrom(env: NodeJS.ProcessEnv = process.env, extra: readonly string[] = []): string[] {
  const fromEnv = (env['SSDK_TRUSTED_KEYS'] ?? '').split(/[\s,]+/).filter((k) => k !== '').map((k) => checkPublicKey(k, 'SSDK_TRUSTED_KEYS'));
  return [...new Set([...fromEnv, ...extra.map((k) => checkPublicKey(k, '--trusted-key'))])];
}

/**
 * The signing key file of a stack (`ssdk up`): made on first use (mode 0600), its seed read
 * after. Returns the seed and its public key.
 */
export async function stackSigningKey(path: string): Promise<{ seed: string; publicKey: string }> {
  let seed: string;
  try {
    seed = (await readFile(path, 'utf8')).trim();
  } catch {
    seed = newSigningSeed();
    await mkdir(dirname(path), { recursive: true });
    // `wx`: two stacks starting at once do not overwrite each other's key.
    try {
      await writeFile(path, `${seed}\n`, { mode: 0o600, flag: 'wx' });
    } catch {
      seed = (await readFile(path, 'utf8')).trim();
    }
  }
  await chmod(path, 0o600);
  return { seed, publicKey: publicKeyOf(seed) };
}

/** A new signing key: an nkey seed (ed25519, an operator key, as `nk -gen operator` makes). */
export function newSigningSeed(): string {
  const kp = createOperator();
  try {
    return new TextDecoder().decode(kp.getSeed());
  } finally {
    kp.clear();
  }
}

/** The public nkey of a seed. */
export function publicKeyOf(seed: string): string {
  const kp = keyPairOfSeed(seed);
  try {
    return kp.getPublicKey();
  } finally {
    kp.clear();
  }
}

// ---- checking a deployment --------------------------------------------------------------------

export interface DeploymentFacts {
  /** `NS/NAME`. */
  dataflow: string;
  version: number;
  /** `bundleHash` of the stored bundle. */
  bundle: string;
  /** `deploymentHash` of the stored artifacts, when it has them. */
  artifacts?: string;
  plan: PhysicalPlan;
  signature?: DeploymentSignature;
}

export interface TrustOptions {
  /** Public nkeys whose signature a deployment must carry; empty: signatures are not required. */
  trustedKeys: readonly string[];
  /** The dataflow's first stored version (or the version itself when it is the first). */
  first?: { version: number; plan: PhysicalPlan };
  /** The version this one replaces, when it is known and signed: a statement older than it is a replay. */
  replaces?: { version: number; signature?: DeploymentSignature };
  /** Whether the plan's isolation decides (not `--native`/`--sandbox` on the operator). @default true */
  planDecidesIsolation?: boolean;
}

/**
 * Throws `PlanNotTrustedError` with the reason when a deployment must not run here: unsigned or
 * signed by an untrusted key when keys are trusted, a statement that does not match what is
 * stored, an older signature than the version it replaces, or native steps that the first version
 * did not have without a trusted statement naming them.
 */
export function checkDeploymentTrust(d: DeploymentFacts, o: TrustOptions): void {
  const what = `version ${d.version} of ${d.dataflow}`;
  const trusted = verifiedStatement(d, o.trustedKeys, what);
  if (o.trustedKeys.length > 0 && !trusted) {
    throw new PlanNotTrustedError(`${what} is not signed: this operator runs only plans signed by a trusted key (${o.trustedKeys.map(shortKey).join(', ')}); deploy it with SSDK_SIGNING_KEY or SSDK_SIGNING_KEY_FILE set`);
  }
  if (trusted && o.replaces?.signature && o.replaces.version < d.version && trusted.signedAt < o.replaces.signature.statement.signedAt) {
    throw new PlanNotTrustedError(`${what} was signed at ${new Date(trusted.signedAt).toISOString()}, before version ${o.replaces.version} it replaces (${new Date(o.replaces.signature.statement.signedAt).toISOString()}): an old signed deployment sent again; deploy it anew to roll back`);
  }
  if (o.planDecidesIsolation === false) return;
  // The first version's native steps were chosen when the dataflow was created; a missing first version grants none.
  const before = new Set(d.version <= 1 ? nativeSteps(d.plan) : o.first ? nativeSteps(o.first.plan) : []);
  const turned = nativeSteps(d.plan).filter((s) => !before.has(s));
  if (turned.length === 0) return;
  const granted = new Set(trusted?.native ?? []);
  const ungranted = turned.filter((s) => !granted.has(s));
  if (ungranted.length > 0) {
    throw new PlanNotTrustedError(
      `${what} runs ${ungranted.map((s) => `\`${s}\``).join(', ')} natively (isolation: native), which version ${o.first?.version ?? 1} ran sandboxed or did not have: ` +
        `native code runs with the operator's rights, so it needs a deployment signed by a trusted key (SSDK_SIGNING_KEY on the deployer, SSDK_TRUSTED_KEYS on the operators)`,
    );
  }
}

/** The statement of a deployment's signature when it is valid, by a trusted key, and matches the deployment; throws when a signature is there but wrong. */
function verifiedStatement(d: DeploymentFacts, trustedKeys: readonly string[], what: string): DeploymentStatement | undefined {
  const sig = d.signature;
  if (!sig) return undefined;
  if (!trustedKeys.includes(sig.key)) {
    if (trustedKeys.length === 0) return undefined;
    throw new PlanNotTrustedError(`${what} is signed by ${shortKey(sig.key)}, which is not a trusted key (trusted: ${trustedKeys.map(shortKey).join(', ')})`);
  }
  if (!signatureHolds(sig)) throw new PlanNotTrustedError(`${what}: its signature does not verify with ${shortKey(sig.key)} (the statement was changed after signing)`);
  const s = sig.statement;
  const mismatch =
    s.statementVersion !== STATEMENT_VERSION ? `statement version ${String(s.statementVersion)}, this ssdk reads ${STATEMENT_VERSION}`
    : s.dataflow !== d.dataflow ? `it is signed for ${s.dataflow}`
    : s.bundle !== d.bundle ? 'its services file and functions are not the signed ones'
    : (s.artifacts ?? null) !== (d.artifacts ?? null) ? 'its plan and compiled functions are not the signed ones'
    : canonicalJson(s.native) !== canonicalJson(nativeSteps(d.plan)) ? `its native steps (${nativeSteps(d.plan).join(', ') || 'none'}) are not the signed ones (${s.native.join(', ') || 'none'})`
    : undefined;
  if (mismatch) throw new PlanNotTrustedError(`${what} does not match its signature: ${mismatch}`);
  return s;
}

/** A public key as logs show it: enough to tell keys apart. */
export function shortKey(key: string): string {
  return `${key.slice(0, 8)}…${key.slice(-4)}`;
}
