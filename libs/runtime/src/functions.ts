/**
 * Where a plan's functions come from. From the services file's sources (`ssdk run`, `ssdk
 * operator FILE`, tests): compiled here, by esbuild and the component build. From a deployment's
 * artifacts (`ssdk operator --dataflow`): `@ssdk/control-plane` fetches them and hands the unit
 * its own functions through `unitOnlyFunctions` — no sources, no planning, no compiler there.
 */
import { loadNativeStep } from '@ssdk/functions';
import { checkDataflow, type PlanOperator, type PlanStep } from '@ssdk/plan';
import type { Dataflow, Step } from '@ssdk/spec';
import { openSandbox, unitRunsSandboxed, type Sandbox, type SandboxOptions } from './sandbox.ts';
import type { FunctionLoader, IsolationChoice, PlanFunctions } from './topology.ts';

/** Compiles a plan's steps (trusted, V8) from the services file they were planned from. */
export function sourceFunctions(file: string, dataflow: Dataflow): FunctionLoader {
  let steps: Map<string, Step> | undefined;
  return async (ps) => {
    steps ??= planSteps(dataflow);
    const step = steps.get(ps.id);
    if (!step) throw new Error(`plan step \`${ps.id}\` is not in ${file}`);
    return loadNativeStep(ps.id, step, file);
  };
}

/** The services file's steps by the ids the plan gives them. */
export function planSteps(df: Dataflow): Map<string, Step> {
  const { graph } = checkDataflow(df);
  const out = new Map<string, Step>();
  for (const s of graph.services) {
    const p = s.pipeline;
    for (const site of [...p.sources.flatMap((b) => b.steps), ...p.trunk, ...p.sinks.flatMap((b) => b.steps)]) out.set(site.id, site.step);
  }
  return out;
}

/** The functions of one operator unit, opened for a process that runs it. */
export interface UnitFunctions {
  functions: PlanFunctions;
  /** The unit's sandbox, when it runs sandboxed: closed with the unit. */
  sandbox?: Sandbox;
}

export interface OpenUnitFunctions {
  op: PlanOperator;
  isolation: IsolationChoice;
  log: (line: string) => void;
  sql?: SandboxOptions['sql'];
}

/** Opens a unit's functions: only the unit's own steps are compiled or served; the other units' refuse to run. */
export type UnitFunctionSource = (o: OpenUnitFunctions) => Promise<UnitFunctions>;

/** A unit's functions built from the services file (the component built or found in the cache). */
export function sourceUnitFunctions(s: { file: string; dataflow: Dataflow; stateDir: string; componentCache?: string }): UnitFunctionSource {
  return async (o) => {
    const sandbox = unitRunsSandboxed(o.op, o.isolation)
      ? await openSandbox({
          dataflow: s.dataflow,
          stateDir: s.stateDir,
          ...(s.componentCache ? { componentCache: s.componentCache } : {}),
          sandboxAll: o.isolation === 'sandbox',
          onBuild: (line) => o.log(`${o.op.id}: ${line}`),
          ...(o.sql ? { sql: o.sql } : {}),
        })
      : undefined;
    return { functions: unitOnlyFunctions(o.op, sourceFunctions(s.file, s.dataflow), sandbox, o.sql), ...(sandbox ? { sandbox } : {}) };
  };
}

/** The unit's own functions; every other unit's refuse to run (they are in the topology for their topics and edges). */
export function unitOnlyFunctions(op: PlanOperator, native: FunctionLoader, sandbox: Sandbox | undefined, sql: OpenUnitFunctions['sql']): PlanFunctions {
  const mine = new Set(op.steps.map((s) => s.id));
  return {
    ...(sql ? { sql } : {}),
    native: async (ps: PlanStep) => (mine.has(ps.id) ? native(ps) : { fn: elsewhere(ps.id) }),
    sandbox: async (unit, steps, log) => (unit.id === op.id ? sandbox?.factory(unit, steps, log) : elsewhere(unit.id)),
  };
}

/** The logic of a unit another process runs: never called here. */
export function elsewhere(id: string): (() => never) & { run: () => never; flush: () => never } {
  const refuse = (): never => {
    throw new Error(`\`${id}\` runs in another operator process, not in this one`);
  };
  return Object.assign(refuse, { run: refuse, flush: refuse });
}
