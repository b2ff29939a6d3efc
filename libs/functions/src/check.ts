/**
 * `ssdk validate` for user code: every TypeScript function of a dataflow — inline `run:` code and
 * `uses:` modules — type-checked by the TypeScript compiler against the types and the `ctx`
 * generated from the services file, in one in-process program (virtual files, no disk writes),
 * with every error mapped to the services file's line and column (inline code) or the module's.
 * Nothing is executed: deploy and validate never run a module's top-level code.
 *
 * Besides the compiler's own errors: a `uses:` module that is missing, unreadable, outside the
 * dataflow's folder or without the export its step needs; several functions in one `run:`; a
 * `ctx.state('name')` naming a state its service does not have; a step that passes its record on
 * changing the value it was given in place (`read-only-input.ts`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TypeScript from 'typescript';
import { camelCase, closest, snakeCase, type Dataflow, type Diagnostic, type OperatorKind, type SourcePos } from '@ssdk/spec';
import type { CodeScope, DataflowGraph, ServicePipeline, StepSite } from '@ssdk/plan';
import { generateCtxDeclarations, generateTypesTs, tsTypeName, typeNamesIn } from '@ssdk/wit';
import { checkCacheDir, contentHash, fileHash, readCheck, writeCheck, type CheckInputs } from './check-cache.ts';
import { functionOfSymbol, inPlaceChanges, type StepFunction } from './read-only-input.ts';
import { findModule } from './steps.ts';

/** Every code the check reports, with what it means. */
export const FUNCTION_DIAGNOSTICS = {
  'function-syntax-error': 'a function that does not parse',
  'function-type-error': 'a function the TypeScript compiler rejects',
  'function-module-missing': 'a `uses:` step with no module beside the services file',
  'function-module-unreadable': 'a `uses:` module that cannot be read as text',
  'function-export-missing': 'a `uses:` module without the export its step calls',
  'function-outside-folder': 'a `uses:` reference that leads out of the dataflow\'s folder',
  'several-functions': 'a `run:` holding more than one function declaration',
  'unknown-state-name': '`ctx.state(name)` naming a state its service does not have',
  'input-changed-in-place': 'a step that passes its record on (filter, assign-key, assign-timestamp, update-state) changing the value it was given',
} as const;
export type FunctionDiagnosticCode = keyof typeof FUNCTION_DIAGNOSTICS;

// The compiler (9 MB of JavaScript) loads when code is first checked, not with every command
// that imports this lib.
let ts: typeof TypeScript;
let compilerOptions: TypeScript.CompilerOptions;

const requireHere = createRequire(import.meta.url);
/** The compiler's package folder: its files are the compiler's version, not the user's input. */
const compilerDir = dirname(requireHere.resolve('typescript/package.json'));

async function loadCompiler(): Promise<void> {
  if (ts) return;
  // require, not import(): an ES import of a CommonJS module first scans its 9 MB for export
  // names (cjs-module-lexer, measured ~0.4 CPU s), which a require skips.
  ts = requireHere('typescript') as typeof TypeScript;
  compilerOptions = {
    strict: true,
    // Unannotated parameters are the user's choice (they stay `any`); everything annotated is checked.
    noImplicitAny: false,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2023.d.ts'],
  };
}

/** What the generated ctx.ts declares. */
const CTX_NAMES = ['Ctx', 'State', 'Key', 'Window', 'Row', 'States', 'StateKeys'];

// The standard library's declarations parse once per process (most of a check's time).
const libFiles = new Map<string, TypeScript.SourceFile>();

interface InlineFile {
  site: StepSite;
  service: string;
  path: string;
  codePos: SourcePos;
  /** Lines added above the user's code (the import of the generated types). */
  prefixLines: number;
  text: string;
}

interface ModuleUse {
  site: StepSite;
  service: string;
}

/**
 * The diagnostics of every TypeScript function of `df` (Rust bodies, prebuilt `.wasm`
 * components and imported package functions are left to their own checks). With `scope` (the
 * file has errors of its own) the functions those errors make uncertain wait, each told to
 * `scope.waits`.
 */
export async function checkFunctionCode(df: Dataflow, graph: DataflowGraph, scope?: CodeScope): Promise<Diagnostic[]> {
  return checkFunctionCodeWith(df, graph, { cacheDir: checkCacheDir(), ...(scope ? { scope } : {}) });
}

export interface CheckCodeOptions {
  /** The file's errors' scope (`codeScope` of `@ssdk/plan`); none: the file has no errors, every function is checked. */
  scope?: CodeScope;
  /** Where results are kept by content (`check-cache.ts`); none: every call runs the compiler. */
  cacheDir?: string | undefined;
  /** Told whether a kept result answered (true) or the compiler ran (false); not called when there was no TypeScript to check. */
  onCache?: (hit: boolean) => void;
}

/** `checkFunctionCode` with its cache chosen by the caller. */
export async function checkFunctionCodeWith(df: Dataflow, graph: DataflowGraph, options: CheckCodeOptions): Promise<Diagnostic[]> {
  const dir = dirname(resolve(df.file));
  const fnDir = join(dir, 'functions');
  const out: Diagnostic[] = [];
  const report = (code: FunctionDiagnosticCode, pos: SourcePos, message: string, hint?: string) =>
    out.push({ severity: 'error', code, message, ...(hint !== undefined ? { hint } : {}), pos });

  const typesText = generateTypesTs(df);
  const ctxDeclarations = generateCtxDeclarations(df, graph, statesNamed(graph));
  const ctxText = `${importLine(typeNamesIn(ctxDeclarations).filter((t) => !CTX_NAMES.includes(t)), typesText)}\n${ctxDeclarations}`;
  const typesPath = join(fnDir, 'types.ts');
  const ctxPath = join(fnDir, 'ctx.ts');
  // Inline code sees the services file's types as they are now, whatever functions/ holds.
  const inlineTypesPath = join(fnDir, '__ssdk_types.ts');
  const inlineCtxPath = join(fnDir, '__ssdk_ctx.ts');
  const exportedTypes = new Set([...typesText.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]!));

  // The generated files stand in for functions/types.ts and ctx.ts unless the user wrote their own.
  const virtual = new Map<string, string>();
  if (!userOwned(typesPath)) virtual.set(typesPath, typesText);
  if (!userOwned(ctxPath)) virtual.set(ctxPath, ctxText);
  virtual.set(inlineTypesPath, typesText);
  virtual.set(inlineCtxPath, ctxText.replace("from './types.ts'", "from './__ssdk_types.ts'"));
  const inline = new Map<string, InlineFile>();
  const modules = new Map<string, ModuleUse[]>();
  const imported = importedFunctions(df);
  const waits = options.scope ? waitsFor(options.scope) : () => false;
  const waiting = new Set<string>();

  let n = 0;
  for (const node of graph.services) {
    for (const site of stepsOf(node.pipeline)) {
      const src = site.step.fn.source;
      // A step with an error of its own waits whatever its code: its reference may be the same typo again.
      const stepWaits = options.scope?.uncertainSteps.has(site.step) === true;
      if (src.kind === 'inline') {
        if (src.lang !== 'typescript') continue;
        if (stepWaits || waits(src.code, node.service.name)) {
          waiting.add(site.id);
          continue;
        }
        const declared = new Set([...src.code.matchAll(/\b(?:interface|type|class|enum|function|const|let|var)\s+([A-Z]\w*)/g)].map((m) => m[1]!));
        const used = new Set([...src.code.matchAll(/\b[A-Z]\w*\b/g)].map((m) => m[0]));
        const wanted = (names: Iterable<string>) => [...names].filter((t) => used.has(t) && !declared.has(t));
        // One line above the code, so a position moves by whole lines only.
        const prefix = [
          importFrom(wanted(exportedTypes), './__ssdk_types.ts'),
          importFrom(wanted(CTX_NAMES), './__ssdk_ctx.ts'),
        ].join(' ');
        const path = join(fnDir, `__ssdk_inline_${++n}.ts`);
        const text = `${prefix}\n${src.code}\nexport {};\n`;
        virtual.set(path, text);
        inline.set(path, { site, service: node.service.name, path, codePos: src.codePos, prefixLines: 1, text });
        continue;
      }
      // An imported package's body is its own module; one without a body was reported with the imports.
      if (src.module === undefined && (imported.has(src.ref) || prebuilt(dir, src.ref))) continue;
      if (stepWaits) {
        waiting.add(site.id);
        continue;
      }
      const outside = src.module === undefined && leavesFolder(dir, src.ref);
      if (outside) {
        report(
          'function-outside-folder',
          src.refPos,
          `\`uses: ${src.ref}\` leads out of the dataflow's folder`,
          'name a function (`functions/<name>.ts` beside the services file), not a path',
        );
        continue;
      }
      const module = src.module ?? findModule(dir, src.ref);
      if (!module) {
        report(
          'function-module-missing',
          src.refPos,
          `no code for \`${src.ref}\`: functions/${src.ref}.ts does not exist`,
          missingModuleHint(src.ref, imported),
        );
        continue;
      }
      const problem = unreadable(module);
      if (problem) {
        report('function-module-unreadable', src.refPos, `cannot read \`${relative(dir, module)}\`: ${problem}`, 'save it as UTF-8 TypeScript');
        continue;
      }
      const uses = modules.get(module) ?? [];
      uses.push({ site, service: node.service.name });
      modules.set(module, uses);
    }
  }
  // A module is checked as a whole: it waits when any step that uses it would. Only a file with
  // errors has a scope; without one nothing waits, and no module is read for it.
  if (options.scope) {
    for (const [module, uses] of modules) {
      const text = readFileSync(module, 'utf8');
      if (!uses.some((u) => waits(text, u.service))) continue;
      for (const u of uses) waiting.add(u.site.id);
      modules.delete(module);
    }
    for (const id of waiting) options.scope.waits(id);
  }

  const roots = [...inline.keys(), ...modules.keys()];
  if (roots.length === 0) return out;
  // A file with errors is checked afresh: what waits depends on them, and the edit loop's files have none.
  const cacheDir = options.scope ? undefined : options.cacheDir;
  const key = cacheDir ? checkKey(df, virtual, inline, modules) : undefined;
  if (cacheDir && key) {
    const kept = readCheck(cacheDir, key);
    options.onCache?.(kept !== undefined);
    if (kept) return [...out, ...kept];
  }
  const before = out.length;

  await loadCompiler();
  const inputs: CheckInputs = { files: {}, probes: {}, dirs: {} };
  // What the compiler looks at outside its own package and the generated files: the inputs a kept result depends on.
  const outside = (f: string) => !virtual.has(f) && !f.startsWith(compilerDir);
  const host = ts.createCompilerHost(compilerOptions, true);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  const libDir = dirname(ts.getDefaultLibFilePath(compilerOptions));
  const directoryExists = host.directoryExists?.bind(host);
  host.fileExists = (f) => {
    if (virtual.has(f)) return true;
    const found = fileExists(f);
    if (outside(f)) inputs.probes[f] = found;
    return found;
  };
  host.directoryExists = (d) => {
    if (d === fnDir || d === dir) return true;
    const found = directoryExists ? directoryExists(d) : true;
    if (outside(d)) inputs.dirs[d] = found;
    return found;
  };
  host.readFile = (f) => {
    const text = virtual.get(f) ?? readFile(f);
    if (outside(f)) inputs.files[f] = fileHash(f);
    return text;
  };
  host.getSourceFile = (f, lang, onError, create) => {
    const text = virtual.get(f);
    if (text !== undefined) return ts.createSourceFile(f, text, lang, true);
    if (outside(f)) inputs.files[f] = fileHash(f);
    if (!f.startsWith(libDir)) return getSourceFile(f, lang, onError, create);
    let lib = libFiles.get(f);
    if (!lib) {
      lib = getSourceFile(f, lang, onError, create);
      if (lib) libFiles.set(f, lib);
    }
    return lib;
  };
  const program = ts.createProgram({ rootNames: roots, options: compilerOptions, host });
  const checker = program.getTypeChecker();

  const where = (file: TypeScript.SourceFile, start: number): SourcePos => {
    const lc = file.getLineAndCharacterOfPosition(start);
    const fn = inline.get(file.fileName);
    if (fn) {
      const line = Math.max(0, lc.line - fn.prefixLines);
      // Block scalars lose the same indentation on every line: columns shift by one amount.
      // codePos names its file: a package's `run:` code is in the package file.
      return { file: fn.codePos.file, line: fn.codePos.line + line, col: fn.codePos.col + lc.character };
    }
    return { file: displayPath(df.file, file.fileName), line: lc.line + 1, col: lc.character + 1 };
  };
  const isUserFile = (f: TypeScript.SourceFile) => inline.has(f.fileName) || modules.has(f.fileName) || (!virtual.has(f.fileName) && !f.fileName.startsWith(libDir) && !f.fileName.includes(`${sep}node_modules${sep}`));

  const found = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
  // The file's errors may have taken types away (a misspelt `types:`): a function the compiler
  // finds naming a type that is not there waits, all its diagnostics with it.
  const typeless = new Set<string>();
  if (options.scope?.typesMayBeMissing) {
    for (const d of found) {
      const name = /'([A-Z]\w*)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, ' '))?.[1];
      if (!d.file || (d.code !== 2304 && d.code !== 2552) || name === undefined) continue;
      typeless.add(d.file.fileName);
      const ids = inline.has(d.file.fileName) ? [inline.get(d.file.fileName)!.site.id] : (modules.get(d.file.fileName) ?? []).map((u) => u.site.id);
      for (const id of ids) options.scope.waits(id);
    }
    for (const f of typeless) {
      inline.delete(f);
      modules.delete(f);
    }
  }
  const seen = new Set<string>();
  for (const d of found) {
    if (!d.file || d.start === undefined || !isUserFile(d.file) || typeless.has(d.file.fileName)) continue;
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    // A Node.js module has no types here; whether a function may import one depends on its
    // isolation, which the bundler decides and explains (a sandboxed function has no file system).
    if (d.code === 2307 && isBuiltin(/'([^']+)'/.exec(message)?.[1] ?? '')) continue;
    const pos = where(d.file, d.start);
    const key = `${pos.file}:${pos.line}:${pos.col}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const syntax = d.category === ts.DiagnosticCategory.Error && d.code < 2000;
    const subject = subjectOf(d.file, inline, modules);
    report(
      syntax ? 'function-syntax-error' : 'function-type-error',
      pos,
      `${subject}: ${message.replace(/\.$/, '')} (TS${d.code})`,
      syntax ? 'fix the syntax' : `the types come from the services file; \`ssdk generate\` writes them to functions/types.ts and functions/ctx.ts for your editor`,
    );
  }

  for (const fn of inline.values()) {
    const file = program.getSourceFile(fn.path)!;
    const declarations = file.statements.filter(ts.isFunctionDeclaration);
    if (declarations.length > 1) {
      const extra = declarations.slice(1);
      const first = extra[0]!;
      report(
        'several-functions',
        where(file, (first.name ?? first).getStart(file)),
        `the \`run\` code of \`${fn.site.id}\` declares ${declarations.length} functions (${declarations.map((d) => `\`${d.name?.text ?? 'default'}\``).join(', ')}); only the first is its step`,
        'one function per `run:`: give each its own step, nest helpers inside the function, or move them to a `uses:` module',
      );
    }
    checkStateNames(file, [fn.service], df, checker, where, report);
    const name = fn.site.step.fn.name;
    const own = declarations.find((d) => d.name?.text === name) ?? declarations[0];
    if (own) checkReadOnlyInput(fn.site, own, checker, where, report);
  }

  for (const [module, uses] of modules) {
    const file = program.getSourceFile(module);
    if (!file) continue;
    const symbol = checker.getSymbolAtLocation(file);
    const exports = symbol ? checker.getExportsOfModule(symbol) : [];
    const reported = new Set<string>();
    // (export, step kind) pairs whose in-place changes are reported: once each, however many steps share it.
    const readOnlyChecked = new Set<string>();
    for (const { site } of uses) {
      const src = site.step.fn.source;
      if (src.kind !== 'uses') continue;
      const name = camelCase(src.pkg?.name ?? src.ref);
      const chosen = exports.find((e) => e.name === name) ?? exports.find((e) => e.name === 'default');
      const callable = chosen && checker.getTypeOfSymbolAtLocation(chosen, file).getCallSignatures().length > 0;
      if (callable) {
        const fn = functionOfSymbol(ts, checker, chosen);
        const kind = `${name}:${site.step.operator}`;
        if (fn && !readOnlyChecked.has(kind)) {
          readOnlyChecked.add(kind);
          checkReadOnlyInput(site, fn, checker, where, report);
        }
      }
      if (callable || reported.has(src.ref)) continue;
      reported.add(src.ref);
      const others = exports.map((e) => `\`${e.name}\``);
      report(
        'function-export-missing',
        src.refPos,
        chosen
          ? `\`${relative(dir, module)}\` exports \`${chosen.name}\`, but not as a function`
          : `\`${relative(dir, module)}\` does not export \`${name}\`${others.length ? ` (it exports ${others.join(', ')})` : ''}`,
        `export the step's function: \`export function ${name}(...) { ... }\` (or as the default export)`,
      );
    }
    checkStateNames(file, [...new Set(uses.map((u) => u.service))], df, checker, where, report);
  }
  if (cacheDir && key) writeCheck(cacheDir, key, inputs, out.slice(before));
  return out;
}

/** This module's own code: a changed check must not answer from results of the old one. */
let ownCode: string | undefined;

/** The cache key: everything the check is given besides the files the compiler reads (those are recorded as inputs). */
function checkKey(df: Dataflow, virtual: Map<string, string>, inline: Map<string, InlineFile>, modules: Map<string, ModuleUse[]>): string {
  ownCode ??= fileHash(fileURLToPath(import.meta.url)) ?? '';
  const compiler = (JSON.parse(readFileSync(join(compilerDir, 'package.json'), 'utf8')) as { version: string }).version;
  return contentHash(
    JSON.stringify({
      scheme: 2,
      ownCode,
      compiler,
      // Positions of modules of a relative services file are shown relative to where ssdk runs.
      file: df.file,
      cwd: df.file.startsWith('/') ? '' : process.cwd(),
      virtual: [...virtual].sort(([a], [b]) => (a < b ? -1 : 1)),
      // The operator decides whether a step may change its value (a filter may not, a map may).
      inline: [...inline.values()].map((f) => [f.path, f.site.id, f.site.step.operator, f.service, f.codePos, f.prefixLines]),
      modules: [...modules].map(([path, uses]) => [path, uses.map((u) => [u.site.id, u.site.step.operator, u.service, JSON.stringify(u.site.step.fn.source)])]),
      states: Object.entries(df.services).map(([name, s]) => [name, s.states.map((st) => st.name)]),
    }),
  );
}

/**
 * Whether a function's check waits for the file's errors to be fixed (`code-scope.ts` of
 * `@ssdk/plan`): its code names a type with an error, or reads the states of a service whose
 * states are uncertain. The names are read from the text, as the imports above the code are.
 */
function waitsFor(scope: CodeScope): (code: string, service: string) => boolean {
  const unsound = new Set([...scope.unsoundTypes].map((name) => tsTypeName(name)));
  return (code, service) => {
    if (scope.everything) return true;
    if ([...code.matchAll(/\b[A-Z]\w*\b/g)].some((m) => unsound.has(m[0]))) return true;
    if ([...code.matchAll(STATE_NAMED)].some((m) => scope.uncertainStateNames.has(m[2]!))) return true;
    return scope.uncertainStates.has(service) && READS_STATE.test(code);
  };
}

/**
 * Each state name the functions pass to `ctx.state('…')`: one no service declares is reported
 * once, as `unknown-state-name` at the call, and typed `any` in the check's `ctx` declarations
 * (not in the ctx.ts `ssdk generate` writes for the user's editor).
 */
function statesNamed(graph: DataflowGraph): Set<string> {
  const named = new Set<string>();
  for (const node of graph.services) {
    for (const site of stepsOf(node.pipeline)) for (const m of (site.step.fn.source.code ?? '').matchAll(STATE_NAMED)) named.add(m[2]!);
  }
  return named;
}

/** `ctx.state('name')`: the name is the 2nd group. */
const STATE_NAMED = /\.state\s*\(\s*(['"`])([^'"`\\]+)\1\s*\)/g;

/** `ctx.state(…)`, or the generated types of states named in a function. */
const READS_STATE = /\.state\s*\(|\bStates\b|\bStateKeys\b/;

function stepsOf(p: ServicePipeline): StepSite[] {
  return [...p.sources.flatMap((b) => b.steps), ...p.trunk, ...p.sinks.flatMap((b) => b.steps)];
}

/** What a step that passes its record on does with it, for the error that refuses changing it in place. */
const PASSES_ITS_RECORD_ON: Partial<Record<OperatorKind, string>> = {
  filter: 'a filter passes the record on as it came',
  'assign-key': 'an assign-key step passes the record on as it came, under the key it returns',
  'assign-timestamp': 'an assign-timestamp step passes the record on as it came, at the time it returns',
  'update-state': 'an update-state step passes the record on as it came',
};

/**
 * A step that passes its record on gets a value it may only read: natively an in-place change
 * would go on with the record, sandboxed the record goes on as it came, so both refuse it here.
 */
function checkReadOnlyInput(
  site: StepSite,
  fn: StepFunction,
  checker: TypeScript.TypeChecker,
  where: (file: TypeScript.SourceFile, start: number) => SourcePos,
  report: (code: FunctionDiagnosticCode, pos: SourcePos, message: string, hint?: string) => void,
): void {
  const passesOn = PASSES_ITS_RECORD_ON[site.step.operator];
  if (passesOn === undefined) return;
  const file = fn.getSourceFile();
  const param = fn.parameters[0];
  const value = param && ts.isIdentifier(param.name) ? param.name.text : 'value';
  for (const change of inPlaceChanges(ts, checker, fn)) {
    report(
      'input-changed-in-place',
      where(file, change.node.getStart(file)),
      `${site.step.operator} \`${site.id}\` changes its input in place (\`${change.what}\`): ${passesOn}; make the change in a map (or filter-map) step`,
      `read \`${value}\` here and return a changed copy from a map before it (\`{ ...${value}, … }\`); a copy made here (\`const c = { ...${value} }\`) may be changed`,
    );
  }
}

/** `ctx.state('name')` calls with a literal name, against the states each using service has. */
function checkStateNames(
  file: TypeScript.SourceFile,
  services: string[],
  df: Dataflow,
  checker: TypeScript.TypeChecker,
  where: (file: TypeScript.SourceFile, start: number) => SourcePos,
  report: (code: FunctionDiagnosticCode, pos: SourcePos, message: string, hint?: string) => void,
): void {
  const visit = (node: TypeScript.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'state' &&
      node.arguments.length >= 1 &&
      ts.isStringLiteralLike(node.arguments[0]!) &&
      isCtx(checker.getTypeAtLocation(node.expression.expression))
    ) {
      const arg = node.arguments[0] as TypeScript.StringLiteralLike;
      for (const service of services) {
        const names = df.services[service]?.states.map((s) => s.name) ?? [];
        if (names.includes(arg.text)) continue;
        const close = names.find((s) => similar(s, arg.text));
        report(
          'unknown-state-name',
          where(file, arg.getStart(file)),
          `service \`${service}\` has no state \`${arg.text}\``,
          close ? `did you mean \`${close}\`?` : names.length ? `its states: ${names.map((s) => `\`${s}\``).join(', ')}` : 'declare it under the service\'s `states:`',
        );
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

function isCtx(t: TypeScript.Type): boolean {
  const name = (t.aliasSymbol ?? t.getSymbol())?.getName();
  return name === 'Ctx';
}

/** Names one edit apart, or equal but for case and separators. */
function similar(a: string, b: string): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  if (norm(a) === norm(b)) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(i + 1) === b.slice(i + 1) || a.slice(i) === b.slice(i + 1) || a.slice(i + 1) === b.slice(i);
}

/** The operator id of the step whose code a file is (the first, for a module several steps use). */
function subjectOf(file: TypeScript.SourceFile, inline: Map<string, InlineFile>, modules: Map<string, ModuleUse[]>): string {
  return inline.get(file.fileName)?.site.id ?? modules.get(file.fileName)?.[0]?.site.id ?? 'a module the functions import';
}

function importFrom(names: string[], from: string): string {
  return names.length ? `import type { ${names.join(', ')} } from '${from}';` : '';
}

function importLine(names: string[], typesText: string): string {
  const exported = new Set([...typesText.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]!));
  return importFrom(names.filter((n) => exported.has(n)), './types.ts');
}

/**
 * What to do about a `uses:` with no module: an imported function of nearly that name is the
 * likelier meaning (`word_length` for an import's `word-length`) than a module still to write.
 */
function missingModuleHint(ref: string, imported: ReadonlySet<string>): string {
  const meant = closest(ref, imported);
  if (meant !== undefined) return `the imports bring \`${meant}\`: \`uses: ${meant}\`, or write functions/${ref}.ts beside the services file`;
  return `write it beside the services file, exporting \`${camelCase(ref)}\`; \`ssdk generate\` writes a stub`;
}

/** The functions imported from packages (`imports:`), by the name steps use. */
function importedFunctions(df: Dataflow): Set<string> {
  const names = new Set<string>();
  for (const imp of [...df.imports, ...df.dev.imports]) for (const f of imp.functions) names.add(f.alias ?? f.name);
  return names;
}

function prebuilt(dir: string, ref: string): boolean {
  return [...new Set([ref, camelCase(ref), snakeCase(ref)])].some((n) => existsSync(join(dir, 'functions', `${n}.wasm`)));
}

/** Whether `functions/<ref>.ts` would lie outside the services file's folder. */
function leavesFolder(dir: string, ref: string): boolean {
  const target = resolve(dir, 'functions', `${ref}.ts`);
  return /[\\/]/.test(ref) || relative(dir, target).startsWith('..');
}

/** A file that exists and was not written by `ssdk generate` (which marks its files). */
function userOwned(path: string): boolean {
  try {
    return !readFileSync(path, 'utf8').startsWith('// Generated by `ssdk generate`');
  } catch {
    return false;
  }
}

/** Why a module cannot be read as TypeScript text, or undefined. */
function unreadable(path: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (err as Error).message;
  }
  if (bytes.subarray(0, 8000).includes(0)) return 'not a text file';
  return undefined;
}

/** A module's path as the user gave the services file's (relative stays relative). */
function displayPath(servicesFile: string, module: string): string {
  if (!servicesFile.startsWith('/')) return relative(process.cwd(), module);
  return module;
}
