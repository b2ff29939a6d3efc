/**
 * Stateful DataFlow packages, `sdf-package.yaml` (apiVersion 0.4.0–0.6.0): `meta`, `imports`,
 * `types`, `states` and `functions` (each `{operator, inputs, output, states, dependencies}`, with
 * `run:` code or a body kept elsewhere — Fluvio's in a Rust crate, ssdk's in
 * `functions/<name>.ts` beside the package file), and `dev: {imports, converter}`. Pure: the
 * bodies are found by `loadPackageFile`.
 */
import type { Node, Scalar } from 'yaml';
import type { ParseContext } from '../context.ts';
import type { Package, PackageFunction, TypeRef } from '../model.ts';
import { optionalNode, readEntries, readList, readMap, isTextScalar } from '../reader.ts';
import { converter, text } from '../schemas.ts';
import { parseImports, parseMeta } from '../sections.ts';
import { parseStates } from '../states.ts';
import { parseDependencies, readRun, reportUnknownOperator, resolveOperator } from '../steps.ts';
import { parseTypes } from '../types.ts';
import { describeNode } from '../yaml-nodes.ts';
import { parseInputs, parseOutput } from './seed.ts';
import { z } from 'zod';

const ROOT_SHAPE = {
  apiVersion: z.unknown(),
  meta: optionalNode,
  imports: optionalNode,
  types: optionalNode,
  states: optionalNode,
  functions: optionalNode,
  dev: optionalNode,
};

const FUNCTION_SHAPE = {
  operator: text,
  inputs: optionalNode,
  output: optionalNode,
  states: optionalNode,
  dependencies: optionalNode,
  run: optionalNode,
  lang: z.enum(['typescript', 'ts', 'rust']).optional(),
};

/** What a package has before anything is read from it. */
export function emptyPackage(file: string, apiVersion = ''): Package {
  return {
    file,
    apiVersion,
    meta: { name: '', namespace: '', version: '', pos: { file, line: 1, col: 1 } },
    imports: [],
    types: {},
    states: {},
    functions: {},
    dev: { imports: [] },
  };
}

/** `namespace/name@version`, as imports write a package. */
export function packageId(pkg: Pick<Package, 'meta'>): string {
  return `${pkg.meta.namespace}/${pkg.meta.name}@${pkg.meta.version}`;
}

export function parsePackageDialect(ctx: ParseContext, input: Node, pkg: Package): void {
  const root = readMap(ctx, input, ROOT_SHAPE, 'the package file');
  if (root === undefined) return;
  if (root.values.meta === undefined) {
    ctx.diagnostics.error('missing-key', 'missing key `meta` in the package file', root.pos, 'give the package `meta: {name, version, namespace}`');
  } else {
    pkg.meta = parseMeta(ctx, root.values.meta, pkg.meta);
  }
  pkg.imports = parseImports(ctx, root.values.imports, 'imports');
  pkg.types = parseTypes(ctx, root.values.types);
  ctx.types = pkg.types;
  for (const state of parseStates(ctx, root.values.states, 'the package')) {
    if (state.kind === 'owned') {
      pkg.states[state.name] = state;
    } else {
      ctx.diagnostics.error('invalid-state', `state \`${state.name}\` of a package must be declared (\`type: keyed-state\`), not read \`from\` a service`, state.pos, 'a package has no services: declare the state here, and let the dataflow own it');
    }
  }
  for (const entry of readEntries(ctx, root.values.functions, '`functions`')) {
    const fn = parseFunction(ctx, entry.name, entry.node, entry.keyPos, pkg);
    if (fn !== undefined) pkg.functions[entry.name] = fn;
  }
  if (root.values.dev !== undefined) {
    // `converter` is what `sdf run --dev` reads records with; ssdk's tests give JSON or text per case.
    const dev = readMap(ctx, root.values.dev, { imports: optionalNode, converter: converter.optional() }, '`dev`');
    if (dev !== undefined) pkg.dev = { imports: parseImports(ctx, dev.values.imports, 'dev.imports') };
  }
}

function parseFunction(ctx: ParseContext, name: string, input: Node | undefined, pos: PackageFunction['pos'], pkg: Package): PackageFunction | undefined {
  const where = `function \`${name}\``;
  const view = readMap(ctx, input, FUNCTION_SHAPE, where);
  if (view?.values.operator === undefined) return undefined;
  const operator = resolveOperator(view.values.operator);
  if (operator === undefined) {
    reportUnknownOperator(ctx, view.values.operator, where, view.valuePos('operator'));
    return undefined;
  }
  const fn: PackageFunction = {
    name,
    operator,
    signature: { params: parseInputs(ctx, view.values.inputs, where), returns: { kind: 'void' } },
    states: readList(ctx, view.values.states, `\`states\` of ${where}`).flatMap((item) => {
      const state = readMap(ctx, item.node, { name: text }, `state ${item.number} of ${where}`);
      const stateName = state?.values.name;
      if (stateName === undefined) return [];
      if (!Object.hasOwn(pkg.states, stateName)) {
        ctx.diagnostics.warning('unknown-state', `${where} uses state \`${stateName}\`, which the package does not declare`, state!.pos, 'the dataflow that imports the function must then have a state of that name');
      }
      return [{ name: stateName, pos: state!.pos }];
    }),
    dependencies: [],
    pos,
  };
  if (view.values.output !== undefined) fn.signature.returns = itemOutput(operator, parseOutput(ctx, view.values.output, where));
  const declaredLang = view.values.lang === undefined ? undefined : view.values.lang === 'rust' ? 'rust' : 'typescript';
  const run = view.valueNode('run');
  if (run !== undefined) {
    if (!isTextScalar(run)) {
      ctx.diagnostics.error('invalid-type', `\`run\` in ${where} must be text (the function's code), found ${describeNode(run)}`, view.valuePos('run'));
    } else {
      const read = readRun(ctx, run as Scalar<string>, view.valuePos('run'), operator, where, declaredLang);
      if (read?.source.kind === 'inline') fn.inline = read.source;
    }
  }
  const lang = fn.inline?.lang ?? declaredLang ?? (run === undefined ? 'rust' : 'typescript');
  fn.dependencies = parseDependencies(ctx, view.valueNode('dependencies'), where, lang);
  return fn;
}


/**
 * A package writes a `flat-map`'s output as the type of one item (`list: true` is also seen) and
 * a `filter-map`'s as the type it keeps (`optional: true` too): the function returns a list, an option.
 */
function itemOutput(operator: PackageFunction['operator'], returns: TypeRef): TypeRef {
  if (operator === 'flat-map' && returns.kind !== 'list') return { kind: 'list', items: returns };
  if (operator === 'filter-map' && returns.kind !== 'option') return { kind: 'option', value: returns };
  return returns;
}
