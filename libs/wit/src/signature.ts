/** What a step's function takes and returns, as far as the file and the type checker know. */
import { kebabCase, type Dataflow, type FunctionSignature, type OperatorKind, type Step, type TypeRef } from '@ssdk/spec';
import type { DataflowGraph } from '@ssdk/plan';

export interface StepSignature {
  operator: OperatorKind;
  /** The record value the function receives (unknown when nothing tells). */
  input: TypeRef;
  /** What the function returns, as its operator needs it (a list for flat-map, the key for assign-key). */
  returns: TypeRef;
}

const UNKNOWN: TypeRef = { kind: 'unknown' };

export function declaredSignature(step: Step, df: Dataflow): FunctionSignature | undefined {
  if (step.fn.signature) return step.fn.signature;
  if (step.fn.source.kind !== 'uses') return undefined;
  const ref = step.fn.source.ref;
  if (Object.hasOwn(df.functions, ref)) return df.functions[ref]!.signature;
  return Object.values(df.functions).find((f) => kebabCase(f.name) === kebabCase(ref))?.signature;
}

export function stepSignature(step: Step, df: Dataflow, graph: DataflowGraph): StepSignature {
  const declared = declaredSignature(step, df);
  const types = graph.stepTypes.get(step);
  const input = declared?.params[0]?.type ?? types?.input.value ?? UNKNOWN;
  if (declared && declared.returns.kind !== 'unknown') return { operator: step.operator, input: step.operator === 'flush' ? UNKNOWN : input, returns: declared.returns };
  const known = types?.output && types.output.value.kind !== 'unknown' ? types.output : undefined;
  const out = known ?? (types?.output ? { ...types.output, value: downstreamType(step, df, graph) ?? types.output.value } : undefined);
  let returns: TypeRef;
  switch (step.operator) {
    case 'filter':
      returns = { kind: 'primitive', name: 'bool' };
      break;
    case 'map':
      returns = out?.value ?? input;
      break;
    case 'filter-map':
      returns = { kind: 'option', value: out?.value ?? input };
      break;
    case 'flat-map':
      returns = { kind: 'list', items: out?.value ?? input };
      break;
    case 'assign-key':
      returns = out?.key ?? { kind: 'primitive', name: 'string' };
      break;
    case 'assign-timestamp':
      returns = { kind: 'number' };
      break;
    case 'update-state':
      returns = { kind: 'void' };
      break;
    case 'flush':
      returns = out?.value ?? UNKNOWN;
      break;
    default: {
      const never: never = step.operator;
      returns = never;
    }
  }
  return { operator: step.operator, input: step.operator === 'flush' ? UNKNOWN : input, returns };
}

/**
 * A `uses:` function without a declared signature: what the records must be after it, read from
 * the next step's declared input, or from the sink topics when it is the last step.
 */
function downstreamType(step: Step, df: Dataflow, graph: DataflowGraph): TypeRef | undefined {
  for (const node of graph.services) {
    const p = node.pipeline;
    const branches = [...p.sources.map((b) => b.steps), [...p.trunk], ...p.sinks.map((b) => b.steps)];
    for (const [bi, sites] of branches.entries()) {
      const i = sites.findIndex((s) => s.step === step);
      if (i < 0) continue;
      const next = sites[i + 1];
      if (next) return declaredSignature(next.step, df)?.params[0]?.type;
      const isSinkBranch = bi > p.sources.length;
      const sinks = isSinkBranch ? [p.sinks[bi - p.sources.length - 1]!.sink] : p.trunk.includes(sites[i]!) ? p.sinks.filter((b) => b.steps.length === 0).map((b) => b.sink) : [];
      const topicTypes = sinks.map((s) => df.topics[s.topic]?.value.type).filter((t): t is TypeRef => t !== undefined);
      const first = topicTypes[0];
      if (first && topicTypes.every((t) => JSON.stringify(strip(t)) === JSON.stringify(strip(first)))) return first;
      return undefined;
    }
  }
  return undefined;
}

function strip(t: TypeRef): unknown {
  return JSON.parse(JSON.stringify(t, (k, v: unknown) => (k === 'pos' ? undefined : v)));
}
