/**
 * Steps: one operator with its function, inline (`run:`) or by name (`uses:`), its `with:`
 * parameters, dependencies and per-step runtime settings. Shared by every dialect and by every
 * place a step can be written (service, source and sink transforms, partition and window slots).
 */
import { z } from 'zod';
import { isScalar, type Node, type Scalar } from 'yaml';
import type { ParseContext } from './context.ts';
import {
  OPERATOR_KINDS,
  type Dependency,
  type FunctionLang,
  type FunctionRef,
  type OperatorKind,
  type RuntimeSettings,
  type SourcePos,
  type Step,
} from './model.ts';
import { kebabCase } from './names.ts';
import {
  forbidTogether,
  isTextScalar,
  optionalNode,
  readEntries,
  readList,
  readMap,
  requireOneOf,
  type MapView,
} from './reader.ts';
import { GRANTS, settingsShape, text, textLike } from './schemas.ts';
import { toRuntimeSettings } from './settings.ts';
import { detectLanguage } from './signatures/language.ts';
import { portedParams, tsSignatureText } from './signatures/port.ts';
import { readRustFunction } from './signatures/rust.ts';
import { readTsFunction } from './signatures/typescript.ts';
import { listNames, suggestionHint } from './suggest.ts';
import { describeNode, toPlain } from './yaml-nodes.ts';

/** Older names of operators: the preview's 0.1.0 `group-by` and `process`, and `aggregate` for a window's flush. */
export const OPERATOR_ALIASES: Readonly<Record<string, OperatorKind>> = {
  'group-by': 'assign-key',
  process: 'update-state',
  aggregate: 'flush',
};

/** Every operator name a file may write. */
export const OPERATOR_NAMES: readonly string[] = [...OPERATOR_KINDS, ...Object.keys(OPERATOR_ALIASES)];
const KINDS: ReadonlySet<string> = new Set(OPERATOR_KINDS);

/** Operators that need no key and no state: the only ones in `transforms` lists of Stateful DataFlow. */
export const STATELESS_OPERATORS: readonly OperatorKind[] = ['filter', 'map', 'filter-map', 'flat-map'];

export function resolveOperator(name: string): OperatorKind | undefined {
  return KINDS.has(name) ? (name as OperatorKind) : OPERATOR_ALIASES[name];
}

export function reportUnknownOperator(ctx: ParseContext, name: string, where: string, pos: SourcePos): void {
  ctx.diagnostics.error('unknown-operator', `unknown operator \`${name}\` in ${where}`, pos, suggestionHint(name, OPERATOR_NAMES, 'operators'));
}

/**
 * What a step may be where it is written: in a list, the step's `operator` says what it is and
 * must be one of `allowed`; in a slot such as `partition.assign-key`, the slot says it.
 */
export type StepSlot =
  | { readonly allowed: readonly OperatorKind[]; readonly hint?: string }
  | { readonly fixed: OperatorKind };

const STEP_SHAPE = {
  operator: text.optional(),
  run: optionalNode,
  uses: text.optional(),
  with: optionalNode,
  lang: z.enum(['typescript', 'ts', 'rust']).optional(),
  dependencies: optionalNode,
  ...settingsShape,
  /** The preview's names for the capabilities a function needs (`[http]`). */
  adaptors: z.array(z.enum(GRANTS)).optional(),
  capabilities: z.array(z.enum(GRANTS)).optional(),
};

type StepView = MapView<typeof STEP_SHAPE>;

/** Reads one step; `undefined` when it is too broken to be part of the model (it was reported). */
export function parseStep(ctx: ParseContext, input: Node | undefined, where: string, slot: StepSlot): Step | undefined {
  const view = readMap(ctx, input, STEP_SHAPE, where);
  if (view === undefined) return undefined;
  const operator = stepOperator(ctx, view, where, slot);
  if (operator === undefined) return undefined;
  if (!forbidTogether(ctx, view, ['run', 'uses'], where) || !requireOneOf(ctx, view, ['run', 'uses'], where)) {
    return undefined;
  }
  const { values } = view;
  const declaredLang: FunctionLang | undefined = values.lang === undefined ? undefined : values.lang === 'rust' ? 'rust' : 'typescript';
  const fn = stepFunction(ctx, view, where, operator, declaredLang);
  if (fn === undefined) return undefined;
  const lang = fn.source.kind === 'inline' ? fn.source.lang : (declaredLang ?? 'typescript');

  const settings: RuntimeSettings = toRuntimeSettings(values);
  const capabilities = [...(values.adaptors ?? []), ...(values.capabilities ?? [])];
  if (capabilities.length > 0) settings.grants = [...new Set([...(settings.grants ?? []), ...capabilities])];
  // The preview's `http` names no hosts: any host, as there.
  if (capabilities.includes('http')) settings.http = ['*'];
  return {
    operator,
    fn,
    params: parseParams(ctx, view.valueNode('with'), where),
    dependencies: parseDependencies(ctx, view.valueNode('dependencies'), where, lang),
    settings,
    pos: view.pos,
  };
}

/**
 * The step's operator: as written (`operator`, aliases resolved), as its slot says, or, for a
 * seed step calling a declared function, as the function declares.
 */
function stepOperator(ctx: ParseContext, view: StepView, where: string, slot: StepSlot): OperatorKind | undefined {
  const written = view.values.operator;
  let operator: OperatorKind | undefined;
  if (written !== undefined) {
    operator = resolveOperator(written);
    if (operator === undefined) {
      reportUnknownOperator(ctx, written, where, view.valuePos('operator'));
      return undefined;
    }
  }
  const seedFunction = view.values.uses === undefined ? undefined : ctx.functions[view.values.uses];
  if (seedFunction !== undefined && operator !== undefined && seedFunction.operator !== operator) {
    ctx.diagnostics.error(
      'operator-mismatch',
      `operator \`${written ?? operator}\` in ${where} does not match function \`${seedFunction.name}\`, declared as \`${seedFunction.operator}\``,
      view.valuePos('operator'),
      `use \`operator: ${seedFunction.operator}\`, or change the function's \`type\``,
    );
  }

  if ('fixed' in slot) {
    if (operator === undefined || operator === slot.fixed) return slot.fixed;
    ctx.diagnostics.error(
      'operator-not-allowed',
      `${where} must be ${/^[aeiou]/.test(slot.fixed) ? 'an' : 'a'} \`${slot.fixed}\` step, found operator \`${written ?? operator}\``,
      view.valuePos('operator'),
      'remove `operator`: the key the step is written under says what it does',
    );
    return undefined;
  }
  operator ??= seedFunction?.operator;
  if (operator === undefined) {
    if (!view.misspelt.has('operator')) {
      ctx.diagnostics.error('missing-key', `missing key \`operator\` in ${where}`, view.pos, `operators: ${listNames(slot.allowed)}`);
    }
    return undefined;
  }
  if (!slot.allowed.includes(operator)) {
    ctx.diagnostics.error(
      'operator-not-allowed',
      `operator \`${written ?? operator}\` is not allowed in ${where}`,
      view.valuePos('operator'),
      slot.hint ?? `allowed here: ${listNames(slot.allowed)}`,
    );
    return undefined;
  }
  return operator;
}

/** The function a step calls: `uses:` a named one (with a seed declaration's signature), or `run:` inline code. */
function stepFunction(
  ctx: ParseContext,
  view: StepView,
  where: string,
  operator: OperatorKind,
  declaredLang: FunctionLang | undefined,
): FunctionRef | undefined {
  const uses = view.values.uses;
  if (uses !== undefined) {
    const refPos = view.valuePos('uses');
    const fn: FunctionRef = { name: uses, source: { kind: 'uses', ref: uses, refPos }, pos: refPos };
    const declared = ctx.functions[uses];
    if (declared !== undefined) fn.signature = declared.signature;
    return fn;
  }
  const run = view.valueNode('run');
  if (!isTextScalar(run)) {
    ctx.diagnostics.error('invalid-type', `\`run\` in ${where} must be text (the function's code), found ${describeNode(run)}`, view.valuePos('run'));
    return undefined;
  }
  return readRun(ctx, run as Scalar<string>, view.valuePos('run'), operator, where, declaredLang);
}

/** `run:` code (TypeScript, or Rust reported with its port): a step's, or a package function's. */
export function readRun(
  ctx: ParseContext,
  run: Scalar<string>,
  runPos: SourcePos,
  operator: OperatorKind,
  where: string,
  declaredLang: FunctionLang | undefined,
): FunctionRef | undefined {
  const code = run.value;
  return readInlineFunction(ctx, code, run, runPos, detectLanguage(code, declaredLang), operator, where);
}

/**
 * The function of `run:` code. TypeScript is read for its name and signature; Rust (Fluvio's
 * language) is reported once, at the code, with the TypeScript signature to port it to.
 */
function readInlineFunction(
  ctx: ParseContext,
  code: string,
  run: Scalar<string>,
  runPos: SourcePos,
  lang: FunctionLang,
  operator: OperatorKind,
  where: string,
): FunctionRef | undefined {
  const codePos = codeStart(ctx, run);
  if (lang === 'rust') {
    const decl = readRustFunction(code);
    const subject = decl === undefined ? `the function in ${where}` : `function \`${kebabCase(decl.name)}\``;
    const port =
      decl === undefined
        ? 'port it to TypeScript: one `function name(value: T): R { ... }` declaration'
        : `port it to TypeScript: ${tsSignatureText(decl.name, portedParams(decl.signature, operator), decl.signature.returns)}`;
    ctx.diagnostics.error('rust-function', `${subject} is written in Rust; ssdk runs TypeScript functions`, runPos, port);
    const fn: FunctionRef = { name: decl?.name ?? '', source: { kind: 'inline', lang, code, codePos }, pos: runPos };
    if (decl !== undefined) fn.signature = decl.signature;
    return fn;
  }
  const decl = readTsFunction(code, codePos);
  if (decl === undefined) {
    ctx.diagnostics.error(
      'invalid-function',
      `no function declaration in the \`run\` code of ${where}`,
      runPos,
      'write one TypeScript function, such as `function isLong(word: string): boolean { return word.length > 5 }`',
    );
    return undefined;
  }
  return { name: decl.name, source: { kind: 'inline', lang, code, codePos }, signature: decl.signature, pos: runPos };
}

/** Where the code itself starts: a block scalar's (`run: |`) first content line, else the value. */
function codeStart(ctx: ParseContext, run: Scalar<string>): SourcePos {
  const start = run.range?.[0] ?? 0;
  if (run.type !== 'BLOCK_LITERAL' && run.type !== 'BLOCK_FOLDED') {
    return ctx.positions.at(run.type === 'PLAIN' ? start : start + 1);
  }
  const end = run.range?.[1] ?? ctx.source.length;
  let lineStart = ctx.source.indexOf('\n', start) + 1;
  while (lineStart > 0 && lineStart < end) {
    const lineEnd = ctx.source.indexOf('\n', lineStart);
    const line = ctx.source.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
    if (line.trim() !== '') return ctx.positions.at(lineStart + (line.length - line.trimStart().length));
    lineStart = lineEnd + 1;
  }
  return ctx.positions.at(start);
}

/** `with:` values, as text (what `ctx.param(name)` returns). */
function parseParams(ctx: ParseContext, input: Node | undefined, where: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const entry of readEntries(ctx, input, `\`with\` of ${where}`)) {
    const value = entry.node;
    if (isScalar(value) && (value.value === null || typeof value.value !== 'object')) {
      params[entry.name] = value.value === null ? '' : String(value.value);
    } else {
      ctx.diagnostics.error(
        'invalid-type',
        `\`with.${entry.name}\` in ${where} must be text, found ${describeNode(value)}`,
        ctx.positions.of(value),
        'a function reads parameters as text with `ctx.param(name)`',
      );
    }
  }
  return params;
}

const NPM_DEPENDENCY_SHAPE = {
  name: text,
  version: textLike.optional(),
  path: text.optional(),
  git: text.optional(),
  tag: textLike.optional(),
  branch: text.optional(),
};

/**
 * npm packages bundled into a TypeScript function. A Rust step's crates are reported (as a
 * warning: porting the function removes them) and kept as written.
 */
export function parseDependencies(ctx: ParseContext, input: Node | undefined, where: string, lang: FunctionLang): Dependency[] {
  const dependencies: Dependency[] = [];
  for (const item of readList(ctx, input, `\`dependencies\` of ${where}`)) {
    if (lang === 'rust') {
      const written = toPlain(ctx.doc, item.node);
      const fields = typeof written === 'object' && written !== null ? (written as Record<string, unknown>) : {};
      const name = typeof fields.name === 'string' ? fields.name : String(written);
      ctx.diagnostics.warning(
        'rust-dependency',
        `dependency \`${name}\` of ${where} is a Rust crate`,
        item.pos,
        'ssdk bundles npm packages into TypeScript functions; when you port the function, use an npm package instead (or none)',
      );
      const { name: _name, version, ...extra } = fields;
      const dependency: Dependency = { name, extra, pos: item.pos };
      if (version !== undefined) dependency.version = String(version);
      dependencies.push(dependency);
      continue;
    }
    const view = readMap(ctx, item.node, NPM_DEPENDENCY_SHAPE, `dependency ${item.number} of ${where}`);
    if (view?.values.name === undefined) continue;
    const { name, version, ...rest } = view.values;
    const extra = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
    const dependency: Dependency = { name, pos: view.pos };
    if (version !== undefined) dependency.version = version;
    if (Object.keys(extra).length > 0) dependency.extra = extra;
    dependencies.push(dependency);
  }
  return dependencies;
}

/**
 * A list of steps under `key` (`transforms`, `steps`, `partition.transforms` ...) of `owner`
 * ("service `x`", "sink 2 of service `x`").
 */
export function parseStepList(
  ctx: ParseContext,
  input: Node | undefined,
  key: string,
  owner: string,
  slot: StepSlot,
  notListHint?: string,
): Step[] {
  const steps: Step[] = [];
  for (const item of readList(ctx, input, `\`${key}\` of ${owner}`, notListHint)) {
    const step = parseStep(ctx, item.node, `step ${item.number} of \`${key}\` of ${owner}`, slot);
    if (step !== undefined) steps.push(step);
  }
  return steps;
}
