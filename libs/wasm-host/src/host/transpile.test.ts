import { describe, expect, it } from 'vitest';
import { patchGlue } from './transpile.ts';

describe('wasm-host - jco glue patch', () => {
  it('wasm-host - removes the per-call JCO_DEBUG read', () => {
    const glue = 'a();\nconst _debugLog = (...args) => {\n  if (!globalThis?.process?.env?.JCO_DEBUG) { return; }\n  console.debug(...args);\n};\nb();';
    expect(patchGlue(glue)).toBe('a();\nconst _debugLog = () => {};\nb();');
  });

  it('wasm-host - fails loudly when jco changes its output', () => {
    expect(() => patchGlue('const x = 1;')).toThrow(/update patchGlue/);
    expect(() => patchGlue('const _debugLog = (...args) => {\n if (!globalThis?.process?.env?.JCO_DEBUG) { return; }\n console.debug(...args);\n};\nprocess.env.X')).toThrow(/still reads process\.env/);
  });
});
