/** Test support: type-checks a generated functions/ folder the way a user's editor would. */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const repo = new URL('../../../../', import.meta.url).pathname;

/** Diagnostics of every .ts file under `dir/functions` (strict, NodeNext), as `file:line: message`. */
export function typecheckFunctions(dir: string): string[] {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const files = readdirSync(join(dir, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, 'functions', f));
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2023.d.ts'],
    // The user's project would have vitest installed; here it is the repo's.
    paths: { vitest: [join(repo, 'node_modules', 'vitest', 'dist', 'index.d.ts')] },
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}
