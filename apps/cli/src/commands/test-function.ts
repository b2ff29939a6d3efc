/**
 * `ssdk test FILE --function NAME --value JSON [--key K] [--state STATE=JSON]...`: one function
 * called on one record, with the state it reads seeded — SDF's `sdf test function`. It prints
 * what the function returned (one JSON value per line) and the state it changed; a throw is the
 * reason and exit 1. The function runs natively (trusted), the chain executor's semantics.
 */
import { MemoryState, runChain, type ChainStep, type Key } from '@ssdk/engine';
import { checkFunctionCode, loadNativeStep } from '@ssdk/functions';
import { checkDataflow, planServicesFile, type PlanStep } from '@ssdk/plan';
import { readFile } from 'node:fs/promises';
import { loadPackageFile, looksLikePackageFile, packageId, type Step } from '@ssdk/spec';
import { UsageError, type ParsedCommand } from '../args.ts';
import { printDiagnostics } from '../diagnostics.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export async function runTestFunction(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const file = cmd.positionals[0]!;
  const name = cmd.values['function'] as string;
  if (await isPackage(file)) return testPackageFunction(cmd, io, file, name);
  const planned = await planServicesFile(file, { partitions: 1, checkCode: checkFunctionCode });
  if (!planned.plan || !planned.dataflow) {
    printDiagnostics(io, planned.diagnostics);
    return EXIT_USER_ERROR;
  }
  const candidates = planned.plan.operators.flatMap((op) => op.steps.map((ps) => ({ op, ps })));
  const found = candidates.filter(({ ps }) => ps.id === name || ps.id.endsWith(`.${name}`));
  if (found.length !== 1) {
    throw new UsageError(
      found.length === 0
        ? `no function \`${name}\` in ${file}: it has ${candidates.map(({ ps }) => `\`${ps.id}\``).join(', ')}`
        : `\`${name}\` names ${found.length} functions: give one of ${found.map(({ ps }) => `\`${ps.id}\``).join(', ')}`,
      'test',
    );
  }
  const { op, ps } = found[0]!;
  if (ps.operator === 'flush') throw new UsageError(`\`${ps.id}\` is a window's flush: test it with a case file (\`ssdk test ${file}\`), which fills a window`, 'test');
  return callOnce(cmd, io, file, ps.id, ps.operator, modelStep(planned.dataflow, ps), op.states.map((s) => s.name), ps.params);
}

async function isPackage(file: string): Promise<boolean> {
  try {
    return looksLikePackageFile(await readFile(file, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * `ssdk test sdf-package.yaml --function NAME`: a package's function, as a step that `uses:` it;
 * the states it declares are the ones `--state` may seed.
 */
async function testPackageFunction(cmd: ParsedCommand, io: CliIo, file: string, name: string): Promise<number> {
  const { pkg, diagnostics } = await loadPackageFile(file);
  const fn = pkg.functions[name];
  if (fn === undefined) {
    printDiagnostics(io, diagnostics);
    const names = Object.keys(pkg.functions);
    throw new UsageError(`no function \`${name}\` in package ${file}: it has ${names.map((n) => `\`${n}\``).join(', ') || 'none'}`, 'test');
  }
  // Only this function's problems stop it (another function still in Rust does not).
  const own = diagnostics.filter((d) => d.severity === 'error' && (d.code !== 'rust-function' || d.pos.line === fn.pos.line));
  if (own.length > 0) {
    printDiagnostics(io, own);
    return EXIT_USER_ERROR;
  }
  if (fn.operator === 'flush') throw new UsageError(`\`${name}\` is a window's flush: test it from a dataflow that imports it`, 'test');
  const refPos = fn.pos;
  const step: Step = {
    operator: fn.operator,
    fn: fn.inline
      ? { name, source: fn.inline, signature: fn.signature, pos: fn.pos }
      : { name, source: { kind: 'uses', ref: name, refPos, module: fn.module!, pkg: { id: packageId(pkg), name } }, signature: fn.signature, pos: fn.pos },
    params: {},
    dependencies: [],
    settings: {},
    pos: fn.pos,
  };
  return callOnce(cmd, io, file, name, fn.operator, step, fn.states.map((s) => s.name), {});
}

async function callOnce(
  cmd: ParsedCommand,
  io: CliIo,
  file: string,
  id: string,
  operator: string,
  model: Step,
  names: string[],
  params: Record<string, string>,
): Promise<number> {
  const value = parseJson(cmd.values['value'], '--value');
  if (value === undefined) throw new UsageError('--function needs --value JSON: the record the function is called with', 'test');
  const key = typeof cmd.values['key'] === 'string' ? (parseJson(cmd.values['key'], '--key', true) as Key) : null;
  const state = new MemoryState();
  const seeded = Array.isArray(cmd.values['state']) ? cmd.values['state'] : typeof cmd.values['state'] === 'string' ? [cmd.values['state']] : [];
  for (const spec of seeded) {
    const eq = spec.indexOf('=');
    const stateName = spec.slice(0, eq);
    if (eq < 1 || !names.includes(stateName)) throw new UsageError(`--state ${spec}: write STATE={"key": value, …} for one of ${names.map((n) => `\`${n}\``).join(', ') || '(no state)'}`, 'test');
    const entries = parseJson(spec.slice(eq + 1), `--state ${stateName}`);
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) throw new UsageError(`--state ${stateName}: the entries are a JSON object of key → value`, 'test');
    for (const [k, v] of Object.entries(entries)) state.load(stateName, k, v);
  }
  const step: ChainStep = {
    id,
    operator: operator as ChainStep['operator'],
    fn: (await loadNativeStep(id, model, file)).fn,
    params,
    states: names,
  };
  const result = runChain([step], [{ key, value, timestamp: Date.now() }], { state });
  for (const f of result.failures) io.err(`${f.operator}: ${f.reason}\n`);
  for (const o of result.outputs) io.out(`${JSON.stringify(o.key === key ? o.value : { key: o.key, value: o.value })}\n`);
  for (const c of state.takeChanges()) io.err(`state ${c.state} ${JSON.stringify(c.key)}: ${c.value === undefined ? 'deleted' : JSON.stringify(c.value)}\n`);
  return result.failures.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

function modelStep(df: Parameters<typeof checkDataflow>[0], ps: PlanStep): Step {
  for (const s of checkDataflow(df).graph.services) {
    const p = s.pipeline;
    for (const site of [...p.sources.flatMap((b) => b.steps), ...p.trunk, ...p.sinks.flatMap((b) => b.steps)]) if (site.id === ps.id) return site.step;
  }
  throw new Error(`plan step \`${ps.id}\` is not in the services file`);
}

/** A JSON value; `lenient`: text that is not JSON is itself (a key written bare). */
function parseJson(text: unknown, flag: string, lenient = false): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (lenient) return text;
    throw new UsageError(`${flag} is not valid JSON: ${text} (a string needs quotes: '"river"')`, 'test');
  }
}
