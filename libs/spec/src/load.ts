/**
 * The only I/O of the spec lib: reads a services file, parses it, and reads the signatures of
 * `uses:` functions from their stubs (`functions/<fn>.ts` beside the services file).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Diagnostic, FunctionSignature, ParseResult } from './model.ts';
import { camelCase, kebabCase, snakeCase } from './names.ts';
import { parseServicesFile } from './parse.ts';
import { attachImports } from './packages.ts';
import { emptyDataflow } from './sections.ts';
import { readTsFunctions } from './signatures/typescript.ts';
import { allSteps } from './steps-walk.ts';

/**
 * Reads and parses the services file at `path`. Never throws: an unreadable file is one
 * `file-not-found` diagnostic. A missing function stub is not an error here (building reports it).
 */
export async function loadServicesFile(path: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { dataflow: emptyDataflow(path), diagnostics: [unreadable(path, 'services file', error)] };
  }
  const result = parseServicesFile(text, path);
  const imported = await attachImports(result.dataflow, dirname(path));
  if (imported.length > 0) result.diagnostics = [...result.diagnostics, ...imported];
  await attachStubSignatures(result, dirname(path));
  return result;
}

/** The one diagnostic of a file that cannot be read (`what`: "services file", "connector file"). */
export function unreadable(path: string, what: string, error: unknown): Diagnostic {
  const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
  return {
    severity: 'error',
    code: 'file-not-found',
    message: missing ? `${what} \`${path}\` does not exist` : `cannot read ${what} \`${path}\``,
    hint: missing ? 'check the path (a relative path starts at the current directory), or start a dataflow there with `ssdk init`' : (error as Error).message,
    pos: { file: path, line: 1, col: 1 },
  };
}

async function attachStubSignatures(result: ParseResult, dir: string): Promise<void> {
  const { dataflow } = result;
  // One read per function, however many steps use it.
  const stubs = new Map<string, Promise<Stub | undefined>>();
  for (const step of allSteps(dataflow)) {
    const source = step.fn.source;
    // An imported function's body is its package's (attachImports read it).
    if (source.kind !== 'uses' || source.pkg !== undefined) continue;
    let stub = stubs.get(source.ref);
    if (stub === undefined) {
      stub = readStub(dir, source.ref);
      stubs.set(source.ref, stub);
    }
    const found = await stub;
    if (found === undefined) continue;
    // The module's text goes into the model (like inline code), so the plan's hash sees edits.
    source.code = found.code;
    const declared = step.fn.signature !== undefined || Object.hasOwn(dataflow.functions, source.ref);
    if (!declared && found.signature !== undefined) step.fn.signature = found.signature;
  }
}

interface Stub {
  code: string;
  signature: FunctionSignature | undefined;
}

/**
 * The signature of the function a stub exports: the one named in camelCase after the reference,
 * else its default export, else its first exported (or declared) function.
 */
async function readStub(dir: string, ref: string): Promise<Stub | undefined> {
  for (const name of new Set([ref, camelCase(ref), kebabCase(ref), snakeCase(ref)])) {
    const file = join(dir, 'functions', `${name}.ts`);
    let code: string;
    try {
      code = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const declarations = readTsFunctions(code, { file, line: 1, col: 1 });
    const exported = declarations.filter((d) => d.exported);
    const chosen =
      exported.find((d) => d.name === camelCase(ref)) ?? exported.find((d) => d.isDefault) ?? exported[0] ?? declarations[0];
    return { code, signature: chosen?.signature };
  }
  return undefined;
}
