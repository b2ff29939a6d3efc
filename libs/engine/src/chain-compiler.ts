/**
 * Compiled chains: a unit's steps as one function of their own, made once per chain with
 * `new Function`, that does what the interpreter (`runFrom` in chain.ts) does for those steps.
 *
 * Why: the interpreter calls every user function through one call site (`step.fn(...)`) and
 * chooses each step's case per record. That call site sees every function of every chain, so V8
 * never inlines a user's function (isCountable, keyByWord...) and each call is a full call. Here
 * each step's function is a constant of its own chain's code: the call site sees one function,
 * the operator's case is chosen when the code is made, and a flat-map's items go straight on into
 * the code for the steps after it.
 *
 * Semantics are the interpreter's, rule by rule (the reasons, `mine`/`own`, what a failure
 * carries): the checks and the records come from chain.ts's own helpers (`ChainRuntime`), and
 * chain.test.ts runs a table of steps and inputs through both and compares. What is not covered
 * here (an operator this file does not know) stays with the interpreter.
 */
import type { ChainFailure, ChainOutput, ChainStep, EngineRecord, Key } from './chain.ts';

/** What the generated code calls: chain.ts's records and rules, so each is written once. */
export interface ChainRuntime {
  /** The chain's record class: `new Derived(key, value, timestamp, headers, input)`. */
  Derived: new (key: Key | null, value: unknown, timestamp: number, headers: Record<string, string> | undefined, input: number) => EngineRecord;
  /** A failing record as the step saw it. */
  asRecord(r: EngineRecord): EngineRecord;
  /** A throw's dead-letter reason: the error, and where the step's code threw it when known (`failureReason`). */
  failureReason(step: ChainStep, error: unknown): string;
  /** The record with a key-value step's result (a step with `setsKey`); in place when `mine`. */
  withResult(step: ChainStep, record: EngineRecord, mine: boolean, result: unknown, owner?: (result: unknown, given: unknown) => unknown): EngineRecord;
  /** Whether an owned input not yet the chain's own takes a map's result in place (and is marked so). */
  takesResult(record: EngineRecord): boolean;
  isKey(v: unknown): v is Key;
  /** The contract errors, by the rule they break. */
  notBoolean(result: unknown): Error;
  mapReturnedNothing(): Error;
  notArray(result: unknown): Error;
  notKey(result: unknown): Error;
  notTime(result: unknown): Error;
  flushPerRecord(): Error;
  /** An assigned time in whole milliseconds (the number given when it is whole). */
  wholeMs(t: number): number;
  /** An owner of one step's results: each as a value of the record's own (own-result.ts). */
  resultOwner(): (result: unknown, given: unknown) => unknown;
}

/**
 * Runs one input record through the chain (what `runFrom(steps, 0, record, mine, input, ...)`
 * does): outputs and failures are pushed to the arrays given; no outputs are kept without them.
 */
export type CompiledChain = (
  record: EngineRecord,
  input: number,
  ctx: { current: EngineRecord; step: ChainStep | undefined; made: number },
  outputs: ChainOutput[] | undefined,
  failures: ChainFailure[],
  own: boolean,
  mine: boolean,
) => void;

const COVERED = new Set<string>(['filter', 'map', 'filter-map', 'flat-map', 'assign-key', 'assign-timestamp', 'update-state', 'flush']);

// Each chain's code is a source of its own (this number in it): V8 keeps type feedback per
// function it compiles, and code shared by two chains would see both chains' functions again.
let chainsMade = 0;

/**
 * The chain's steps as one function, or undefined when this setting refuses to make code from
 * strings (`--disallow-code-generation-from-strings`, a CSP) or a step is one this file does not
 * cover (an unknown operator, no function): the caller then runs the interpreter.
 */
export function compileChain(steps: readonly ChainStep[], runtime: ChainRuntime, makeFunction: FunctionConstructor = Function): CompiledChain | undefined {
  // A step without a function fails each record with the interpreter's own TypeError (`step.fn is not a function`).
  if (steps.length === 0 || !steps.every((s) => COVERED.has(s.operator) && typeof s.fn === 'function')) return undefined;
  const source = chainSource(steps, ++chainsMade);
  let factory: (steps: readonly ChainStep[], runtime: ChainRuntime) => CompiledChain;
  try {
    factory = new makeFunction('steps', 'runtime', source) as unknown as typeof factory;
  } catch (error) {
    // Refused (an EvalError); anything else is a fault of this file's and must not go unseen.
    if ((error as Error | undefined)?.name === 'EvalError') return undefined;
    throw error;
  }
  return factory(steps, runtime);
}

/**
 * The factory's body. One function per place records start from: `from0` for the chain's inputs
 * and `fromN` for the items of a flat-map at step N-1. `mine` (the record is the chain's own: a
 * step may change it in place) is known when the code is made after a map or inside `fromN`;
 * otherwise the code asks, as the interpreter does.
 */
function chainSource(steps: readonly ChainStep[], serial: number): string {
  const lines: string[] = [];
  lines.push(`// ssdk chain #${serial}: ${steps.map((s) => s.id.replace(/[^\w.+-]/g, '_')).join(' > ')}`);
  lines.push(`'use strict';`);
  lines.push(`const { Derived, asRecord, failureReason, withResult, takesResult, isKey, notBoolean, mapReturnedNothing, notArray, notKey, notTime, flushPerRecord, wholeMs, resultOwner } = runtime;`);
  steps.forEach((_s, i) => lines.push(`const step${i} = steps[${i}], fn${i} = step${i}.fn, id${i} = step${i}.id, own${i} = resultOwner();`));
  const starts = [0, ...steps.flatMap((s, i) => (s.operator === 'flat-map' ? [i + 1] : []))];
  for (const at of starts) lines.push(...fromSource(steps, at));
  lines.push(`return from0;`);
  // Names the code in profiles and stack traces (it has no file of its own).
  lines.push(`//# sourceURL=ssdk-chain-${serial}.js`);
  return lines.join('\n');
}

function fromSource(steps: readonly ChainStep[], at: number): string[] {
  const top = at === 0;
  const out: string[] = [];
  // Only the chain's inputs can be owned, and they are never the chain's own at first; a
  // flat-map's items are always the chain's own.
  // The chain's inputs are its own from the start when handed over (`ChainOptions.handOver`).
  out.push(top ? `function from0(current, input, ctx, outputs, failures, own, mine) {` : `function from${at}(current, input, ctx, outputs, failures) {`);
  let mineKnown = !top;
  for (let s = at; s < steps.length; s++) {
    const step = steps[s]!;
    const fn = `fn${s}`;
    out.push(`  ctx.current = current;`, `  ctx.step = step${s};`, `  try {`);
    out.push(step.operator === 'assign-timestamp' ? `    const result = ${fn}(current.value, current.timestamp, ctx);` : `    const result = ${fn}(current.value, ctx);`);
    const withResult = (): string[] => {
      const lines = step.setsKey
        ? [`    current = withResult(step${s}, current, ${mineKnown ? 'true' : 'mine || (own && takesResult(current))'}, result, own${s});`]
        : mineKnown
          ? [`    current.value = own${s}(result, current.value);`]
          : [`    if (mine || (own && takesResult(current))) current.value = own${s}(result, current.value);`, `    else current = new Derived(current.key, own${s}(result, current.value), current.timestamp, current.headers, -1);`];
      if (!mineKnown) lines.push(`    mine = true;`);
      mineKnown = true;
      return lines;
    };
    switch (step.operator) {
      case 'filter':
        out.push(`    if (typeof result !== 'boolean') throw notBoolean(result);`, `    if (!result) return;`);
        break;
      case 'map':
        out.push(`    if (result === undefined) throw mapReturnedNothing();`, ...withResult());
        break;
      case 'filter-map':
        out.push(`    if (result === undefined || result === null) return;`, ...withResult());
        break;
      case 'flat-map': {
        // Every item is checked before any continues: a bad item fails the record as a whole.
        const item = step.setsKey ? `withResult(step${s}, current, false, result[i], own${s})` : `new Derived(current.key, own${s}(result[i], current.value), current.timestamp, current.headers, -1)`;
        out.push(
          `    if (!Array.isArray(result)) throw notArray(result);`,
          `    const items = new Array(result.length);`,
          `    for (let i = 0; i < result.length; i++) items[i] = ${item};`,
          `    for (let i = 0; i < items.length; i++) from${s + 1}(items[i], input, ctx, outputs, failures);`,
          `    return;`,
          `  } catch (error) {`,
          ...failed(s),
          `  }`,
          `}`,
        );
        return out;
      }
      case 'assign-key':
      case 'assign-timestamp': {
        const [check, field, value, made] =
          step.operator === 'assign-key'
            ? ['!isKey(result)', 'key', 'result', 'new Derived(result, current.value, current.timestamp, current.headers, -1)']
            : [`typeof result !== 'number' || !Number.isFinite(result)`, 'timestamp', 'wholeMs(result)', 'new Derived(current.key, current.value, wholeMs(result), current.headers, -1)'];
        out.push(`    if (${check}) throw ${step.operator === 'assign-key' ? 'notKey' : 'notTime'}(result);`);
        if (mineKnown) out.push(`    current.${field} = ${value};`);
        else out.push(`    if (mine || own) current.${field} = ${value};`, `    else {`, `      current = ${made};`, `      mine = true;`, `    }`);
        break;
      }
      case 'update-state':
        // A side effect on the current key's state; the record goes on unchanged.
        break;
      case 'flush':
        out.push(`    throw flushPerRecord();`);
        break;
    }
    out.push(`  } catch (error) {`, ...failed(s), `  }`);
  }
  out.push(`  if (!outputs) return;`);
  if (mineKnown) out.push(`  current.input = input;`, `  outputs[ctx.made++] = current;`);
  else out.push(`  if (mine || own) {`, `    current.input = input;`, `    outputs[ctx.made++] = current;`, `  } else outputs[ctx.made++] = new Derived(current.key, current.value, current.timestamp, current.headers, input);`);
  out.push(`}`);
  return out;
}

function failed(s: number): string[] {
  return [`    failures.push({ input, operator: id${s}, reason: failureReason(step${s}, error), error, record: asRecord(current) });`, `    return;`];
}
