import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { patchGlue, transpileCacheDir } from './transpile.ts';

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

describe('wasm-host - transpile cache folder', () => {
  it('wasm-host - transpiled components live in the shared component cache when SSDK_COMPONENT_CACHE names one', () => {
    // A compose stack's operators share the `components` volume: the engine transpiled in the
    // image (or by the deploy job) is found there instead of transpiled again in each container.
    expect(transpileCacheDir({ SSDK_COMPONENT_CACHE: '/var/cache/ssdk/components' })).toBe('/var/cache/ssdk/components/transpiled');
    expect(transpileCacheDir({ SSDK_COMPONENT_CACHE: 'off' })).toBe(join(tmpdir(), 'ssdk-wasm'));
    expect(transpileCacheDir({})).toBe(join(tmpdir(), 'ssdk-wasm'));
  });
});
