import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOperator } from '@nats-io/nkeys';
import type { PhysicalPlan } from '@ssdk/plan';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkDeploymentTrust,
  nativeSteps,
  PlanNotTrustedError,
  publicKeyOf,
  signingSeedFromEnv,
  signStatement,
  stackSigningKey,
  STATEMENT_VERSION,
  trustedKeysFrom,
  type DeploymentFacts,
  type DeploymentStatement,
} from './plan-signing.ts';

const seedOf = () => new TextDecoder().decode(createOperator().getSeed());
const deployer = seedOf();
const attacker = seedOf();
const DEPLOYER = publicKeyOf(deployer);

/** The two fields of a plan the trust check reads: step ids and their isolation. */
const planOf = (steps: Record<string, 'wasm' | 'native'>) =>
  ({ operators: [{ id: 'svc.unit', steps: Object.entries(steps).map(([id, isolation]) => ({ id, settings: { isolation } })) }] }) as unknown as PhysicalPlan;

const statementOf = (plan: PhysicalPlan, over: Partial<DeploymentStatement> = {}): DeploymentStatement => ({
  statementVersion: STATEMENT_VERSION,
  dataflow: 'ns/flow',
  bundle: 'b1',
  artifacts: 'a1',
  native: nativeSteps(plan),
  signedAt: 1_000,
  ...over,
});

const facts = (plan: PhysicalPlan, over: Partial<DeploymentFacts> = {}): DeploymentFacts => ({ dataflow: 'ns/flow', version: 2, bundle: 'b1', artifacts: 'a1', plan, ...over });
const refusal = (f: () => void): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(PlanNotTrustedError);
    return (err as Error).message;
  }
  return 'accepted';
};

const sandboxed = planOf({ 'svc.f': 'wasm' });
const native = planOf({ 'svc.f': 'native' });
const first = { version: 1, plan: sandboxed };

describe('signed deployments', () => {
  it('runs a deployment signed by a trusted key that matches what is stored', () => {
    const signature = signStatement(deployer, statementOf(sandboxed));
    expect(refusal(() => checkDeploymentTrust(facts(sandboxed, { signature }), { trustedKeys: [DEPLOYER], first }))).toBe('accepted');
  });

  it('refuses an unsigned deployment when keys are trusted', () => {
    expect(refusal(() => checkDeploymentTrust(facts(sandboxed), { trustedKeys: [DEPLOYER], first }))).toMatch(/version 2 of ns\/flow is not signed: this operator runs only plans signed by a trusted key/);
  });

  it('refuses a signature by a key that is not trusted', () => {
    const signature = signStatement(attacker, statementOf(sandboxed));
    expect(refusal(() => checkDeploymentTrust(facts(sandboxed, { signature }), { trustedKeys: [DEPLOYER], first }))).toMatch(/is signed by \w{8}…\w{4}, which is not a trusted key/);
  });

  it('refuses a statement changed after signing, and a signature moved to other code', () => {
    const signature = signStatement(deployer, statementOf(sandboxed));
    const forged = { ...signature, statement: { ...signature.statement, artifacts: 'evil' } };
    expect(refusal(() => checkDeploymentTrust(facts(sandboxed, { artifacts: 'evil', signature: forged }), { trustedKeys: [DEPLOYER], first }))).toMatch(/signature does not verify/);
    expect(refusal(() => checkDeploymentTrust(facts(sandboxed, { artifacts: 'evil', signature }), { trustedKeys: [DEPLOYER], first }))).toMatch(/plan and compiled functions are not the signed ones/);
    expect(refusal(() => checkDeploymentTrust(facts(sandboxed, { bundle: 'evil', signature }), { trustedKeys: [DEPLOYER], first }))).toMatch(/services file and functions are not the signed ones/);
    expect(refusal(() => checkDeploymentTrust(facts(sandboxed, { dataflow: 'ns/other', signature }), { trustedKeys: [DEPLOYER], first }))).toMatch(/it is signed for ns\/flow/);
  });

  it('refuses an old signature sent again to roll a dataflow back', () => {
    const old = signStatement(deployer, statementOf(sandboxed, { signedAt: 1_000 }));
    const current = signStatement(deployer, statementOf(sandboxed, { bundle: 'b2', signedAt: 2_000 }));
    expect(refusal(() => checkDeploymentTrust(facts(sandboxed, { version: 3, signature: old }), { trustedKeys: [DEPLOYER], first, replaces: { version: 2, signature: current } }))).toMatch(/before version 2 it replaces/);
  });

  it('refuses a redeploy that turns sandboxed code native, unless a trusted signature names the step', () => {
    // No keys at all: signatures are not required, native code still is guarded.
    expect(refusal(() => checkDeploymentTrust(facts(native), { trustedKeys: [], first }))).toMatch(/runs `svc.f` natively .* needs a deployment signed by a trusted key/);
    // A new step that is native is new native code too.
    expect(refusal(() => checkDeploymentTrust(facts(planOf({ 'svc.f': 'wasm', 'svc.g': 'native' })), { trustedKeys: [], first }))).toMatch(/runs `svc.g` natively/);
    // A signature by a key nobody trusts grants nothing.
    const byAttacker = signStatement(attacker, statementOf(native));
    expect(refusal(() => checkDeploymentTrust(facts(native, { signature: byAttacker }), { trustedKeys: [], first }))).toMatch(/runs `svc.f` natively/);
    // Signed by a trusted key, with the step in its statement: the deployer said so.
    const granted = signStatement(deployer, statementOf(native));
    expect(refusal(() => checkDeploymentTrust(facts(native, { signature: granted }), { trustedKeys: [DEPLOYER], first }))).toBe('accepted');
    // A statement that leaves the native step out does not match the plan.
    const silent = signStatement(deployer, statementOf(native, { native: [] }));
    expect(refusal(() => checkDeploymentTrust(facts(native, { signature: silent }), { trustedKeys: [DEPLOYER], first }))).toMatch(/native steps \(svc.f\) are not the signed ones \(none\)/);
    // The operator's own --native/--sandbox decides instead of the plan: nothing to guard.
    expect(refusal(() => checkDeploymentTrust(facts(native), { trustedKeys: [], first, planDecidesIsolation: false }))).toBe('accepted');
    // Native since the first version: not a switch.
    expect(refusal(() => checkDeploymentTrust(facts(native), { trustedKeys: [], first: { version: 1, plan: native } }))).toBe('accepted');
    expect(refusal(() => checkDeploymentTrust(facts(native, { version: 1 }), { trustedKeys: [] }))).toBe('accepted');
    // A history without its first version grants no native step.
    expect(refusal(() => checkDeploymentTrust(facts(native), { trustedKeys: [] }))).toMatch(/runs `svc.f` natively/);
  });
});

describe('keys', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('a stack key is made once, mode 0600, and read after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-keys-'));
    dirs.push(dir);
    const path = join(dir, 'state', 'signing-key.nk');
    const a = await stackSigningKey(path);
    const b = await stackSigningKey(path);
    expect(b).toEqual(a);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(a.publicKey).toMatch(/^O[A-Z2-7]{55}$/);
    expect((await readFile(path, 'utf8')).trim()).toBe(a.seed);
  });

  it('the seed comes by environment or file; trusted keys are checked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-keys-'));
    dirs.push(dir);
    const file = join(dir, 'deployer.nk');
    await writeFile(file, `# deployer\n${deployer}\n`, { mode: 0o600 });
    expect(await signingSeedFromEnv({ SSDK_SIGNING_KEY_FILE: file })).toBe(deployer);
    expect(await signingSeedFromEnv({ SSDK_SIGNING_KEY: ` ${deployer}\n` })).toBe(deployer);
    expect(await signingSeedFromEnv({})).toBeUndefined();
    await writeFile(file, 'not a seed\n');
    await expect(signingSeedFromEnv({ SSDK_SIGNING_KEY_FILE: file })).rejects.toThrow(/holds no nkey seed/);
    // A seed that is not one: the message never repeats it.
    expect(() => signStatement('SOTHISISNOTASEED', statementOf(sandboxed))).toThrow(/not an nkey seed/);
    expect(trustedKeysFrom({ SSDK_TRUSTED_KEYS: `${DEPLOYER}, ${DEPLOYER}` }, [DEPLOYER])).toEqual([DEPLOYER]);
    expect(() => trustedKeysFrom({ SSDK_TRUSTED_KEYS: 'OABC' })).toThrow(/SSDK_TRUSTED_KEYS: `OABC` is not a public nkey/);
  });
});
