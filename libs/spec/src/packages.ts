/**
 * Packages from folders: reads an `sdf-package.yaml`, finds its functions' TypeScript bodies
 * (`functions/<name>.ts` beside it), and resolves `imports:` — of a dataflow or of another
 * package — from the local folder each names (`path:`, or the same package's `dev.imports` path).
 * Every problem points into the file that has it: the import in the dataflow, the function in
 * the package.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { emptyPackage, packageId } from './dialects/package.ts';
import type { Dataflow, Diagnostic, Import, NamedType, Package, PackageFunction, SourcePos, StateDecl, TypeRef } from './model.ts';
import { parsePackageFile, type PackageParseResult } from './parse.ts';
import { portedParams, tsSignatureText } from './signatures/port.ts';
import { camelCase, kebabCase, snakeCase } from './names.ts';
import { suggestionHint } from './suggest.ts';
import { allSteps } from './steps-walk.ts';

export const PACKAGE_FILE = 'sdf-package.yaml';

/**
 * Reads the package at `path` (the file, or its folder). Never throws: an unreadable file is one
 * `file-not-found` diagnostic. Functions without `run:` and without `functions/<name>.ts` are
 * `rust-function` errors (Fluvio keeps their bodies in a Rust crate), with the signature to port to.
 */
export async function loadPackageFile(path: string): Promise<PackageParseResult> {
  const read = await readPackage(path.endsWith('.yaml') || path.endsWith('.yml') ? path : join(path, PACKAGE_FILE), new Set());
  if ('error' in read) return { pkg: emptyPackage(path), diagnostics: [read.error(path)] };
  const diagnostics = [...read.diagnostics];
  for (const fn of Object.values(read.pkg.functions)) {
    const missing = missingBody(read.pkg, fn);
    if (missing !== undefined) diagnostics.push(missing);
  }
  return { pkg: read.pkg, diagnostics };
}

type Read = { pkg: Package; diagnostics: Diagnostic[] } | { error: (file: string) => Diagnostic };

/** One package, with its bodies found and its own imports' types merged into its `types`. */
async function readPackage(file: string, visiting: Set<string>): Promise<Read> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      error: (shown) => ({
        severity: 'error',
        code: 'file-not-found',
        message: missing ? `package file \`${shown}\` does not exist` : `cannot read package file \`${shown}\``,
        hint: missing ? `a package is a folder with an \`${PACKAGE_FILE}\`` : (error as Error).message,
        pos: { file: shown, line: 1, col: 1 },
      }),
    };
  }
  const parsed = parsePackageFile(text, file);
  const { pkg } = parsed;
  const diagnostics = [...parsed.diagnostics];
  const dir = dirname(file);
  for (const fn of Object.values(pkg.functions)) {
    if (fn.inline !== undefined) continue;
    const module = await findBody(dir, fn.name);
    if (module !== undefined) fn.module = module;
  }
  visiting.add(resolve(file));
  const resolved = await resolveImports(pkg.imports, pkg.dev.imports, dir, visiting);
  diagnostics.push(...resolved.diagnostics);
  for (const { imp, pkg: from } of resolved.packages) mergeTypes(pkg.types, from, imp.types.map((t) => t.name));
  visiting.delete(resolve(file));
  return { pkg, diagnostics };
}

async function findBody(dir: string, name: string): Promise<string | undefined> {
  for (const n of new Set([name, camelCase(name), kebabCase(name), snakeCase(name)])) {
    for (const candidate of [join(dir, 'functions', `${n}.ts`), join(dir, 'functions', n, 'index.ts')]) {
      try {
        await readFile(candidate);
        // Absolute: the body is loaded from wherever ssdk runs, not from the package's folder.
        return resolve(candidate);
      } catch {
        // the next spelling
      }
    }
  }
  return undefined;
}

/** The `rust-function` error of a package function that has no TypeScript body, at the function. */
function missingBody(pkg: Package, fn: PackageFunction): Diagnostic | undefined {
  if (fn.module !== undefined || fn.inline !== undefined) return undefined;
  return {
    severity: 'error',
    code: 'rust-function',
    message: `function \`${fn.name}\` of package \`${packageId(pkg)}\` has no TypeScript body (Fluvio keeps it in the package's Rust crate); ssdk runs TypeScript functions`,
    hint: `port it to TypeScript in functions/${fn.name}.ts beside ${PACKAGE_FILE}: export ${tsSignatureText(fn.name, portedParams(fn.signature, fn.operator), fn.signature.returns)}`,
    pos: fn.pos,
  };
}

interface ResolvedImport {
  imp: Import;
  pkg: Package;
}

/** Each import's package, read from its folder; names it imports that the package lacks are errors at the name. */
async function resolveImports(
  imports: readonly Import[],
  devImports: readonly Import[],
  dir: string,
  visiting: Set<string>,
): Promise<{ packages: ResolvedImport[]; diagnostics: Diagnostic[] }> {
  const packages: ResolvedImport[] = [];
  const diagnostics: Diagnostic[] = [];
  const error = (code: string, message: string, pos: Diagnostic['pos'], hint: string) => diagnostics.push({ severity: 'error', code, message, hint, pos });
  for (const imp of imports) {
    // A dev import names the folder of the same package, whatever version it writes (flush-experiment's say 0.0.1 for 0.0.2).
    const path = imp.path ?? (devImports.find((d) => d.pkg === imp.pkg && d.path !== undefined) ?? devImports.find((d) => unversioned(d.pkg) === unversioned(imp.pkg) && d.path !== undefined))?.path;
    if (path === undefined) {
      error(
        'package-not-found',
        `package \`${imp.pkg}\` has no local folder`,
        imp.pos,
        `ssdk reads packages from folders: add \`path: <folder of its ${PACKAGE_FILE}>\` to the import, or under \`dev.imports\``,
      );
      continue;
    }
    // Relative where the importing file's path is, so messages name it as the user would.
    const file = join(dir, path, path.endsWith('.yaml') ? '' : PACKAGE_FILE);
    if (visiting.has(resolve(file))) {
      error('import-cycle', `package \`${imp.pkg}\` imports itself (through \`${path}\`)`, imp.pos, 'packages import each other in one direction only');
      continue;
    }
    const read = await readPackage(file, visiting);
    if ('error' in read) {
      error('package-not-found', `no package \`${imp.pkg}\` at \`${path}\` (${file} cannot be read)`, imp.pos, `\`path\` is relative to the file that imports; the folder holds ${PACKAGE_FILE}`);
      continue;
    }
    diagnostics.push(...read.diagnostics);
    const { pkg } = read;
    if (pkg.meta.name !== '' && packageId(pkg) !== imp.pkg) {
      diagnostics.push({
        severity: 'warning',
        code: 'package-mismatch',
        message: `\`${path}\` holds package \`${packageId(pkg)}\`, not \`${imp.pkg}\``,
        hint: `write \`pkg: ${packageId(pkg)}\`, or point \`path\` at the package you mean`,
        pos: imp.pos,
      });
    }
    const check = (kind: 'type' | 'state' | 'function', names: ReadonlyArray<{ name: string; pos: Diagnostic['pos'] }>, has: Record<string, unknown>) => {
      for (const { name, pos } of names) {
        if (lookup(has, name) === undefined) {
          error('unknown-import', `package \`${imp.pkg}\` has no ${kind} \`${name}\``, pos, suggestionHint(name, Object.keys(has), `its ${kind}s`));
        }
      }
    };
    check('type', imp.types, pkg.types);
    check('state', imp.states, pkg.states);
    check('function', imp.functions, pkg.functions);
    packages.push({ imp, pkg });
  }
  return { packages, diagnostics };
}

/**
 * A dataflow's imports, resolved into it: imported types join `types` (with the types they name),
 * a `uses:` step of an imported function gets its signature and body (`module`, or the package's
 * `run:` code), and a function without a TypeScript body is reported once, at the package.
 */
export async function attachImports(dataflow: Dataflow, dir: string): Promise<Diagnostic[]> {
  if (dataflow.imports.length === 0) return [];
  const { packages, diagnostics } = await resolveImports(dataflow.imports, dataflow.dev.imports, dir, new Set());
  const functions: Record<string, { pkg: Package; fn: PackageFunction }> = {};
  for (const { imp, pkg } of packages) {
    const wanted = imp.types.map((t) => t.name);
    for (const f of imp.functions) {
      const fn = lookup(pkg.functions, f.name);
      if (fn === undefined) continue;
      functions[f.alias ?? f.name] = { pkg, fn };
      wanted.push(...namedIn(fn.signature.returns), ...fn.signature.params.flatMap((p) => namedIn(p.type)));
    }
    for (const s of imp.states) {
      const state = lookup(pkg.states, s.name);
      if (state !== undefined) wanted.push(...namedIn(state.type));
    }
    mergeTypes(dataflow.types, pkg, wanted);
  }
  diagnostics.push(...attachImportedStates(dataflow, packages, functions));
  const reported = new Set<PackageFunction>();
  for (const step of allSteps(dataflow)) {
    const source = step.fn.source;
    if (source.kind !== 'uses') continue;
    const found = lookup(functions, source.ref);
    if (found === undefined) continue;
    const { pkg, fn } = found;
    if (fn.operator !== step.operator) {
      diagnostics.push({
        severity: 'error',
        code: 'operator-mismatch',
        message: `\`${source.ref}\` is a \`${fn.operator}\` function (package \`${packageId(pkg)}\`), used as \`${step.operator}\``,
        hint: `use it with \`operator: ${fn.operator}\`, or import a function made for \`${step.operator}\``,
        pos: source.refPos,
      });
    }
    // As the TypeScript body takes it: the key input (`kind: key`) comes from `ctx.key()`, the state from `ctx`.
    step.fn.signature ??= { params: portedParams(fn.signature, fn.operator).filter((p) => p.name !== 'ctx'), returns: fn.signature.returns };
    if (fn.inline !== undefined) {
      step.fn.source = { ...fn.inline };
      continue;
    }
    source.pkg = { id: packageId(pkg), name: fn.name };
    if (fn.module !== undefined) {
      source.module = fn.module;
      source.code = await readFile(fn.module, 'utf8');
    } else if (!reported.has(fn)) {
      reported.add(fn);
      diagnostics.push(missingBody(pkg, fn)!);
    }
  }
  return diagnostics;
}

/**
 * Imported states become real: ssdk keeps state per service (the owner's table), so a service
 * whose step uses a package function that names an imported state it does not declare gets the
 * package's declaration as its own. An imported state no service declares and no used function
 * names would be checked and then never exist: a warning says where it should go.
 */
function attachImportedStates(dataflow: Dataflow, packages: ResolvedImport[], functions: Record<string, { pkg: Package; fn: PackageFunction }>): Diagnostic[] {
  const imported: Array<{ name: string; pkg: Package; decl: Extract<StateDecl, { kind: 'owned' }>; pos: SourcePos; used: boolean }> = [];
  for (const { imp, pkg } of packages) {
    for (const s of imp.states) {
      const decl = lookup(pkg.states, s.name);
      if (decl !== undefined) imported.push({ name: s.name, pkg, decl, pos: s.pos, used: false });
    }
  }
  if (imported.length === 0) return [];
  const same = (a: string, b: string) => kebabCase(a) === kebabCase(b);
  for (const [name, service] of Object.entries(dataflow.services)) {
    for (const step of allSteps({ ...dataflow, services: { [name]: service } })) {
      const source = step.fn.source;
      if (source.kind !== 'uses') continue;
      const found = lookup(functions, source.ref);
      for (const wanted of found?.fn.states ?? []) {
        const state = imported.find((s) => same(s.name, wanted.name));
        if (state === undefined) continue;
        state.used = true;
        if (service.states.some((s) => same(s.name, wanted.name))) continue;
        service.states.push({ ...state.decl, name: wanted.name });
      }
    }
  }
  const declared = Object.values(dataflow.services).flatMap((s) => s.states.map((st) => st.name));
  return imported
    .filter((s) => !s.used && !declared.some((d) => same(d, s.name)))
    .map((s) => ({
      severity: 'warning' as const,
      code: 'imported-state-unused',
      message: `imported state \`${s.name}\` (package \`${packageId(s.pkg)}\`) is used by no step: no service would keep it`,
      hint: `a service gets it by using a package function that names it, or declare \`${s.name}\` under the \`states:\` of the service that writes it`,
      pos: s.pos,
    }));
}

/** Adds `names` from `from.types` to `into`, with every type they name in turn; a type declared in `into` stays. */
function mergeTypes(into: Record<string, NamedType>, from: Package, names: readonly string[]): void {
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.pop()!;
    const type = lookup(from.types, name);
    if (type === undefined || Object.hasOwn(into, name)) continue;
    // Under the name the importer wrote and the package's own (the package's types name it so).
    into[name] = type;
    into[type.name] ??= type;
    queue.push(...namedIn(type.type));
  }
}

/**
 * `name` in `entries`, exactly or as the same words: Fluvio generates Rust from both spellings
 * alike, so `stripe-event` imports a type declared `stripe_event`.
 */
function lookup<T>(entries: Record<string, T>, name: string): T | undefined {
  if (Object.hasOwn(entries, name)) return entries[name];
  const words = kebabCase(name);
  const found = Object.keys(entries).find((key) => kebabCase(key) === words);
  return found === undefined ? undefined : entries[found];
}

const unversioned = (pkg: string): string => pkg.replace(/@.*$/, '');

/** The named types a type refers to. */
function namedIn(type: TypeRef): string[] {
  switch (type.kind) {
    case 'named':
      return [type.name];
    case 'object':
      return type.properties.flatMap((p) => namedIn(p.type));
    case 'enum':
      return type.variants.flatMap((v) => (v.type === null ? [] : namedIn(v.type)));
    case 'list':
      return namedIn(type.items);
    case 'option':
      return namedIn(type.value);
    case 'key-value':
    case 'keyed-state':
      return [...namedIn(type.key), ...namedIn(type.value)];
    default:
      return [];
  }
}
