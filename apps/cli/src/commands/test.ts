import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { endsOnItsOwn } from '@ssdk/connectors';
import { planServicesFile } from '@ssdk/plan';
import { allSteps, inlineConnectors, loadServicesFile, type Dataflow } from '@ssdk/spec';
import { memoryCheckpointStore, type IsolationChoice } from '@ssdk/runtime';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { codeWaitingNote, countBySeverity, plural, printDiagnostics } from '../diagnostics.ts';
import { collectedStates, collectOutputs, collectStates, embeddedPlanOptions, feed, isolationFlag, openSession, SessionError, type Session, type SessionOptions } from '../embedded-session.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import { paint, type CliIo } from '../io.ts';
import { canonical, checkCaseNames, compareValues, loadTestFile, TestFileError, type Mismatch, type TestCase } from '../test-cases.ts';
import { runTestFunction } from './test-function.ts';

export const testSpec: CommandSpec = {
  name: 'test',
  summary: "Run a dataflow's test cases on the embedded runtime: inputs in, expected outputs and state checked.",
  usage: 'ssdk test FILE [--cases PATH] [--filter TEXT] [--native | --sandbox]  |  ssdk test FILE --function NAME --value JSON [--key K] [--state STATE=JSON]...',
  options: {
    cases: { type: 'string', valueName: 'PATH', description: 'the test file (default: <services file name>.test.yaml beside it)' },
    filter: { type: 'string', valueName: 'TEXT', description: 'run only the cases whose name contains TEXT' },
    function: { type: 'string', valueName: 'NAME', description: 'call one function (`<service>.<function>` or its name) on --value, natively, and print what it returns and the state it changes' },
    value: { type: 'string', valueName: 'JSON', description: 'with --function: the record value' },
    key: { type: 'string', valueName: 'K', description: 'with --function: the record key (JSON, or bare text)' },
    state: { type: 'string', multiple: true, valueName: 'STATE=JSON', description: 'with --function: seed a state with {"key": value, …} (repeatable)' },
    native: { type: 'boolean', description: 'run every function natively in V8 (trusted code; fastest): no WebAssembly sandbox, no build' },
    sandbox: { type: 'boolean', description: 'run every function as a WebAssembly component, `isolation: native` ones too (default: as the file says)' },
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: [
    'ssdk test examples/word-count/services.yaml',
    'ssdk test examples/word-count/services.test.yaml   # the same: a test file runs against the services file beside it',
    'ssdk test dataflow.yaml --cases tests/windows.test.yaml --filter late',
    `ssdk test examples/word-count/services.yaml --function add-to-total --value '"river"' --key river --state 'word-totals={"river": 2}'`,
  ],
};

/** Exit 0 when every case passes, 1 when one fails, 2 when the files themselves are wrong. */
export async function runTest(cmd: ParsedCommand, io: CliIo): Promise<number> {
  if (typeof cmd.values['function'] === 'string') return runTestFunction(cmd, io);
  const { file, casesPath } = testFiles(cmd.positionals[0]!, typeof cmd.values['cases'] === 'string' ? cmd.values['cases'] : undefined);
  const filter = typeof cmd.values['filter'] === 'string' ? cmd.values['filter'] : undefined;
  const isolation = isolationFlag(cmd, 'test');
  const all = await loadTestFile(casesPath);
  const cases = all.filter((c) => !filter || c.name.includes(filter));
  // A filter that matches nothing would pass with "0 passed": a typo must not look like a green run.
  if (filter !== undefined && cases.length === 0) {
    throw new UsageError(`no case of ${casesPath} has \`${filter}\` in its name; its cases: ${all.map((c) => `\`${c.name}\``).join(', ')}`, 'test');
  }
  // Build progress shows once (the first case builds; later ones find the component cached).
  let onBuild: ((line: string) => void) | undefined = (line) => void (/^(building|built) /.test(line) && io.err(`${line}\n`));
  const { dataflow } = await loadServicesFile(file);
  // The names the cases use, against the plan the cases run (a file with errors: the first case's session reports those).
  const { plan } = await planServicesFile(file, embeddedPlanOptions());
  if (plan) checkCaseNames(cases, plan, collectedStates(plan).map((s) => s.name));
  const sql = usesSql(dataflow);
  const connectors = testedConnectors(dataflow, casesPath, cases, io);
  let failed = 0;
  for (const c of cases) {
    const started = performance.now();
    let mismatches: Mismatch[];
    try {
      mismatches = await runCase(file, c, isolation, onBuild, sql, connectors);
      onBuild = undefined;
    } catch (err) {
      if (err instanceof SessionError) {
        printDiagnostics(io, err.diagnostics);
        io.err(`${file}: ${plural(countBySeverity(err.diagnostics).errors, 'error')}: no test was run${codeWaitingNote(err.left)}\n`);
        return EXIT_USER_ERROR;
      }
      throw err;
    }
    const ms = Math.round(performance.now() - started);
    if (mismatches.length === 0) {
      io.out(`${paint(io, 'green', '✓')} ${c.name} (${ms} ms)\n`);
      continue;
    }
    failed++;
    io.out(`${paint(io, 'red', '✗')} ${c.name} (${ms} ms)\n`);
    for (const m of mismatches) {
      io.out(`    ${m.what}: ${m.lines[0]}\n`);
      for (const l of m.lines.slice(1)) io.out(`    ${l}\n`);
    }
  }
  io.out(`${cases.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
}

/**
 * The services file and the test file a `ssdk test FILE` means. FILE may be the test file itself
 * (`services.test.yaml`, as a test runner is given its tests): its services file is the one
 * beside it without `.test`. Else the test file is FILE's own (`defaultCasesPath`) or `--cases`.
 */
export function testFiles(given: string, cases: string | undefined): { file: string; casesPath: string } {
  const testFile = cases === undefined ? /^(.*)\.test\.ya?ml$/.exec(given) : null;
  if (!testFile) return { file: given, casesPath: cases ?? defaultCasesPath(given) };
  const file = [`${testFile[1]}.yaml`, `${testFile[1]}.yml`].find((f) => existsSync(f));
  if (file === undefined) {
    throw new UsageError(`${given} is a test file, and no ${basename(testFile[1]!)}.yaml is beside it: name its services file, \`ssdk test SERVICES.yaml --cases ${given}\``, 'test');
  }
  return { file, casesPath: given };
}

export function defaultCasesPath(servicesFile: string): string {
  const name = basename(servicesFile).replace(/\.(ya?ml)$/, '');
  const candidate = join(dirname(servicesFile), `${name}.test.yaml`);
  return existsSync(candidate) ? candidate : join(dirname(servicesFile), `${name}.test.yml`);
}

/**
 * Whether a function of the file calls `ctx.sql`: its queries read state tables, which only a
 * database has, so its cases run on PGlite (a fresh one per case) rather than in memory.
 */
function usesSql(dataflow: Dataflow): boolean {
  return allSteps(dataflow).some((step) => {
    const code = step.fn.source.code;
    return code !== undefined && /\bctx\s*\.\s*sql\s*\(/.test(code);
  });
}

/**
 * The inline connectors a case runs: the sources that end by themselves (a nexmark-source: its
 * events are the same every run), beside the case's inputs, in every case. The others reach
 * outside the test (a webhook, a broker, a database, an HTTP endpoint): not run, and said so once —
 * a source's topic takes the cases' inputs, a sink's topic is what the cases check. A case with
 * no inputs needs a source that runs: else the file is wrong (nothing would feed it).
 */
function testedConnectors(dataflow: Dataflow, casesPath: string, cases: readonly TestCase[], io: CliIo): SessionOptions['connectors'] {
  const all = inlineConnectors(dataflow);
  for (const c of all.filter((c) => !endsOnItsOwn(c))) {
    const source = c.type.endsWith('-source');
    io.err(`note: \`ssdk test\` does not run the inline connector \`${c.name}\` (${c.type}): it reaches outside the test; ${source ? `the cases' inputs feed topic \`${c.topic}\`` : `the cases check topic \`${c.topic}\``}\n`);
  }
  const runs = all.some(endsOnItsOwn);
  const unfed = cases.find((c) => c.inputs.length === 0);
  if (unfed && !runs) throw new TestFileError(`${casesPath}: case \`${unfed.name}\` has no inputs, and no inline source of this dataflow feeds it by itself (a nexmark-source): give it \`inputs\``);
  // Quiet but for a connector that stops on an error (the case's outputs then say what is missing).
  return runs ? { only: endsOnItsOwn, log: (line) => void (/\] stopped: /.test(line) && io.err(`${line}\n`)) } : undefined;
}

async function runCase(file: string, c: TestCase, isolation: IsolationChoice, onBuild?: (line: string) => void, sql = false, connectors?: SessionOptions['connectors']): Promise<Mismatch[]> {
  // Every case starts from nothing: fresh topics, fresh state.
  // In memory: a case never sees another's state, and needs no database start-up.
  const scratch = sql ? await mkdtemp(join(tmpdir(), 'ssdk-test-')) : undefined;
  const checkpoints: SessionOptions['checkpoints'] =
    scratch === undefined ? { kind: 'memory', store: memoryCheckpointStore() } : { kind: 'pglite', stateDir: scratch, fresh: true };
  let session: Session;
  try {
    session = await openSession({ file, checkpoints, isolation, ...(scratch ? { stateDir: scratch } : {}), ...(onBuild ? { onBuild } : {}), ...(connectors ? { connectors } : {}) });
  } catch (err) {
    if (scratch) await rm(scratch, { recursive: true, force: true });
    throw err;
  }
  try {
    await feed(session, c.inputs);
    // A finite inline source publishes beside the inputs: all of it comes in before the end.
    await session.finiteSourcesDone();
    if (c.end) {
      await session.df.endInput();
      await session.df.ended();
    } else {
      await session.df.idle();
    }
    const outputs = await collectOutputs(session);
    const mismatches: Mismatch[] = [];
    // The names were checked against the plan before the first case (`checkCaseNames`).
    for (const [topic, e] of c.expect) {
      const actual = (outputs.get(topic) ?? (await session.df.read(topic))).map((r) => r.value);
      const m = compareValues(`topic ${topic}`, e.values, actual, e.ordered);
      if (m) mismatches.push(m);
    }
    for (const [topic, records] of outputs) {
      if (topic.endsWith('.dead-letter') && !c.expect.has(topic)) {
        mismatches.push({
          what: `topic ${topic}`,
          lines: [`${plural(records.length, 'record')} dead-lettered, none expected:`, ...records.slice(0, 5).map((r) => `  + ${canonical(r.value)}`)],
        });
      }
    }
    if (c.state.size > 0) {
      const states = await collectStates(session);
      for (const [name, expected] of c.state) {
        const m = compareValues(`state ${name}`, Object.entries(expected), Object.entries(states.get(name) ?? {}), false);
        if (m) mismatches.push(m);
      }
    }
    return mismatches;
  } finally {
    await session.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
