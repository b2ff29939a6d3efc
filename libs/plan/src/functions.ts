/** Seed `functions:` lookup and a step's effective signature. */
import { kebabCase, type Dataflow, type FunctionSignature, type Step } from '@ssdk/spec';

export type SeedFunction = Dataflow['functions'][string];

/** Seed dialect: steps bind to `functions:` entries, which the planner can check. */
export function usesSeedFunctions(df: Dataflow): boolean {
  return df.dialect === 'seed' || Object.keys(df.functions).length > 0;
}

/** The seed function `ref` names: exact, then by kebab-case (`splitSentence` finds `split-sentence`). */
export function lookupFunction(df: Dataflow, ref: string): SeedFunction | undefined {
  if (Object.hasOwn(df.functions, ref)) return df.functions[ref];
  const kebab = kebabCase(ref);
  return Object.values(df.functions).find((f) => kebabCase(f.name) === kebab);
}

/** What the step's function takes and returns: its own signature, else its seed declaration's. */
export function signatureOf(step: Step, df: Dataflow): FunctionSignature | undefined {
  // Rust bodies are reported as functions to port; their Rust-typed signatures are not checked.
  if (step.fn.source.kind === 'inline' && step.fn.source.lang === 'rust') return undefined;
  if (step.fn.signature) return step.fn.signature;
  return step.fn.source.kind === 'uses' ? lookupFunction(df, step.fn.source.ref)?.signature : undefined;
}
