/**
 * What the control-plane commands share (`planner`, `deploy`, `status`, `undeploy`, `state`,
 * `up`): talking to the planner over NATS request/reply, the control schema flag, checking the
 * functions' code before a deploy, and starting the planner as a process of its own (apps are services, never imported: `ssdk planner` runs
 * the planner app's entry point).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { connectControl, describeServers, NoResponderError, openArtifactStore, RemoteError } from '@ssdk/bus';
import { checkFunctionCode, FUNCTION_DIAGNOSTICS } from '@ssdk/functions';
import { checkServicesFile, planOrThrow, planServicesFile, type CodeLeft } from '@ssdk/plan';
import { compileStackSettings } from '@ssdk/settings';
import { bundleHash, deploymentHash, plannerSubject, publishArtifacts, readBundle, type DeploymentArtifacts, type DeploymentBundle, type PlannerVerb } from '@ssdk/control-plane';
import { nativeSteps, signStatement, STATEMENT_VERSION, type DeploymentSignature, type IsolationChoice } from '@ssdk/runtime';
import type { Dataflow, Diagnostic } from '@ssdk/spec';
import { UsageError, type OptionSpec } from './args.ts';
import { printDiagnostics, printErrorSummary } from './diagnostics.ts';
import { EXIT_USER_ERROR } from './exit-codes.ts';
import { plannerArgs } from './installation.ts';
import type { CliIo } from './io.ts';
import type { ServerFlags } from './distributed.ts';
import { stateDir } from './state-dir.ts';


export const controlSchemaOption: Record<string, OptionSpec> = {
  'control-schema': { type: 'string', valueName: 'NAME', description: 'PostgreSQL schema of the deployed plans (default: $SSDK_CONTROL_SCHEMA, else ssdk_control — one of its own under another subject prefix)' },
};

export const postgresOption: Record<string, OptionSpec> = {
  postgres: { type: 'string', valueName: 'URL', description: 'PostgreSQL server (default: $DATABASE_URL, else the local server as psql finds it: $PGHOST, $PGPORT, $PGUSER, $PGDATABASE)' },
};

/**
 * The PostgreSQL server: `--postgres`, else `DATABASE_URL`, else the local server the way
 * `psql` with no arguments finds it (the stack's one rule, @ssdk/settings).
 */
export function postgresUrlOf(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): string {
  const flag = values['postgres'];
  return typeof flag === 'string' ? flag : compileStackSettings({}, env).databaseUrl;
}

/** A deployed dataflow named by `--dataflow NS/NAME`, else `$SSDK_DATAFLOW` (how an operator container is told). */
export function deployedDataflowOf(values: Record<string, unknown>): string | undefined {
  return typeof values['dataflow'] === 'string' ? values['dataflow'] : process.env['SSDK_DATAFLOW'];
}

/** `--control-schema`, else $SSDK_CONTROL_SCHEMA, else the subject prefix's own (`ssdk_control` for `ssdk`; @ssdk/settings). */
export function controlSchemaOf(values: Record<string, unknown>, subjectPrefix?: string): string {
  const v = values['control-schema'];
  return compileStackSettings({ controlSchema: typeof v === 'string' ? v : undefined, subjectPrefix }, process.env).controlSchema;
}

/**
 * The deployer's signature of a deploy (`signStatement`): the dataflow, its bundle and artifacts,
 * the steps it runs natively, now. Operators that trust the seed's public key run it.
 */
export async function signDeploy(seed: string, file: string, flags: ServerFlags, bundle: DeploymentBundle, artifacts: DeploymentArtifacts | undefined): Promise<DeploymentSignature> {
  const { plan } = await planOrThrow(file, { subjectPrefix: flags.subjectPrefix, ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}) });
  return signStatement(seed, {
    statementVersion: STATEMENT_VERSION,
    dataflow: `${plan.dataflow.namespace}/${plan.dataflow.name}`,
    bundle: bundleHash(bundle),
    ...(artifacts ? { artifacts: deploymentHash(artifacts) } : {}),
    native: nativeSteps(plan),
    signedAt: Date.now(),
  });
}

/** No planner answered: a failure outside the user's input, with what to do. */
export class NoPlannerError extends Error {
  override name = 'NoPlannerError';
  readonly code = 'no-planner';
  readonly domain = 'external';
}

/** One request to the planner of `subjectPrefix`. */
export async function askPlanner<T>(natsUrl: string, subjectPrefix: string, verb: PlannerVerb, body: unknown, timeoutMs = 60_000): Promise<T> {
  const control = await connectControl({ servers: natsUrl, name: `ssdk ${verb}` });
  try {
    return await control.request<T>(plannerSubject(subjectPrefix, verb), body, { timeoutMs });
  } catch (err) {
    if (err instanceof NoResponderError) {
      throw new NoPlannerError(`no planner answers on ${err.subject} (NATS ${describeServers(natsUrl)}): start one with \`ssdk planner\` (or \`ssdk up FILE\`, or docker compose up planner)`);
    }
    throw err;
  } finally {
    await control.close();
  }
}

/**
 * A refusal of the planner about the user's input: diagnostics of a bad services file are
 * printed as `ssdk validate` prints them; other refusals as one error. Returns the exit code,
 * or undefined when `err` is not such a refusal. `codeWaiting`: the functions `checkFunctions`
 * left for when the file's errors are fixed (the planner checks no code).
 */
export function reportPlannerRefusal(err: unknown, io: CliIo, command: string, o: CodeLeft = {}): number | undefined {
  if (!(err instanceof RemoteError) || err.domain !== 'user') return undefined;
  const diagnostics = (err.details as { diagnostics?: Diagnostic[] } | undefined)?.diagnostics;
  if (diagnostics) {
    printDiagnostics(io, diagnostics);
    const file = err.message.slice(0, err.message.lastIndexOf(':'));
    printErrorSummary(io, file, diagnostics, o);
    return EXIT_USER_ERROR;
  }
  io.err(`ssdk ${command}: error: ${err.message}\n`);
  return EXIT_USER_ERROR;
}

export interface PlannerProcessOptions {
  natsUrl: string;
  databaseUrl: string;
  subjectPrefix: string;
  controlSchema?: string;
  stdio?: StdioOptions;
}

/** Starts the planner app as a child process. */
export function spawnPlanner(o: PlannerProcessOptions): ChildProcess {
  return spawn(process.execPath, plannerArgs(), {
    stdio: o.stdio ?? 'inherit',
    env: {
      ...withoutSigningKey(process.env),
      NATS_URL: o.natsUrl,
      DATABASE_URL: o.databaseUrl,
      SSDK_SUBJECT_PREFIX: o.subjectPrefix,
      ...(o.controlSchema ? { SSDK_CONTROL_SCHEMA: o.controlSchema } : {}),
    },
  });
}

/** The environment without the deployer's signing key: the planner and operators never hold it. */
export function withoutSigningKey(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { SSDK_SIGNING_KEY: _seed, SSDK_SIGNING_KEY_FILE: _file, ...rest } = env;
  return rest;
}

/** Asks `list` until a planner answers (true) or `timeoutMs` passes (false). */
export async function waitForPlanner(natsUrl: string, subjectPrefix: string, timeoutMs: number, gaveUp?: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await askPlanner(natsUrl, subjectPrefix, 'list', {}, 2_000);
      return true;
    } catch (err) {
      if (!(err instanceof NoPlannerError) && !/no reply|cannot connect/i.test((err as Error).message)) throw err;
    }
    if (Date.now() > deadline || gaveUp?.()) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The services file and its functions, as the planner receives them; a missing file is the user's mistake. */
export async function readServicesBundle(file: string, command: string): Promise<DeploymentBundle> {
  try {
    return await readBundle(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`services file \`${file}\` does not exist`, command);
    if (code === 'EISDIR') throw new UsageError(`\`${file}\` is a folder: give its services file (e.g. ${file.replace(/\/$/, '')}/services.yaml)`, command);
    throw err;
  }
}

/**
 * The check `deploy` and `up` make before they deploy: the functions' code type-checks, by the
 * compiler, without running any of it (a module's top-level code never runs on the deploying
 * machine). Prints what does not (with the file's own errors) and returns the exit code; else the
 * parsed dataflow, or, when the file itself has errors (the planner reports those, as `ssdk
 * validate` would), the functions its errors left unchecked.
 */
export async function checkFunctions(file: string, io: CliIo): Promise<{ dataflow?: Dataflow; left?: CodeLeft } | number> {
  const checked = await checkServicesFile(file, { checkCode: checkFunctionCode });
  const hasErrors = checked.diagnostics.some((d) => d.severity === 'error');
  const codeErrors = checked.diagnostics.some((d) => d.severity === 'error' && Object.hasOwn(FUNCTION_DIAGNOSTICS, d.code));
  const left: CodeLeft = { codeWaiting: checked.codeWaiting, codeCut: checked.codeCut };
  if (!codeErrors) return hasErrors ? { left } : { dataflow: checked.dataflow };
  printDiagnostics(io, checked.diagnostics);
  printErrorSummary(io, file, checked.diagnostics, left);
  return EXIT_USER_ERROR;
}

/**
 * What `deploy` and `up` ship before they ask the planner: the plan (made here as the planner
 * will make it) and every function built, in the NATS object store; operators run from them.
 * Undefined when the file does not plan (the planner reports why, as `ssdk validate` would).
 */
export async function shipArtifacts(
  file: string,
  dataflow: Dataflow,
  flags: ServerFlags,
  o: { isolation?: IsolationChoice; componentCache?: string; onBuild?: (line: string) => void } = {},
): Promise<DeploymentArtifacts | undefined> {
  const planned = await planServicesFile(file, { subjectPrefix: flags.subjectPrefix, ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}), checkCode: checkFunctionCode });
  if (!planned.plan) return undefined;
  const store = await openArtifactStore({ servers: flags.natsUrl, subjectPrefix: flags.subjectPrefix, name: 'ssdk deploy' });
  try {
    const componentCache = o.componentCache ?? process.env['SSDK_COMPONENT_CACHE'];
    return await publishArtifacts({
      plan: planned.plan,
      dataflow,
      file,
      store,
      stateDir: stateDir(file),
      ...(componentCache ? { componentCache } : {}),
      ...(o.isolation ? { isolation: o.isolation } : {}),
      ...(o.onBuild ? { onBuild: o.onBuild } : {}),
    });
  } finally {
    await store.close();
  }
}
