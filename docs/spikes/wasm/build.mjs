// Guest build: TypeScript functions + generated chain glue -> esbuild bundle (+source map)
// -> component via StarlingMonkey (componentize-js 0.23) and/or QuickJS (componentize-qjs).
// usage: node build.mjs [sm|qjs|native|all] [chain...]
import { build } from 'esbuild';
import { writeFileSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
// preview2-shim 0.26 grants no file access by default; componentize-js's splicer (a wasm component
// running on preview2-shim) must read the WIT folder and the bundle.
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';
_setPreopens({ '/': '/' });

const CHAINS = {
  filter: [['filter', 'is-big', 'isBig']],
  map: [['map', 'enrich', 'enrich']],
  split: [['flat-map', 'split-sentence', 'splitSentence']],
  risky: [['map', 'risky', 'risky']],
};
const [backendArg = 'all', ...chainArgs] = process.argv.slice(2);
const backends = backendArg === 'all' ? ['native', 'sm', 'qjs'] : [backendArg];
const chains = chainArgs.length ? chainArgs : Object.keys(CHAINS);
mkdirSync('build', { recursive: true });
const HOST_SHIM = { sm: 'src/host-sm.ts', qjs: 'src/host-qjs.ts', native: 'src/host-native.ts' };
const times = {};

for (const chain of chains) {
  // generated glue: one entry per service chain, exporting the world's `process`
  const steps = CHAINS[chain];
  const entry = `build/${chain}.entry.ts`;
  writeFileSync(entry,
    `import { makeProcess } from '../src/chain-runtime';\n` +
    `import { ${[...new Set(steps.map((s) => s[2]))].join(', ')} } from '../src/functions';\n` +
    `export const process = makeProcess([${steps.map(([k, n, f]) => `{ kind: '${k}', name: '${n}', fn: ${f} }`).join(', ')}]);\n`);
  for (const be of backends) {
    const out = `build/${chain}.${be}.js`;
    let t0 = performance.now();
    await build({
      entryPoints: [entry], bundle: true, format: 'esm', target: 'es2020', platform: 'neutral',
      outfile: out, sourcemap: 'external', sourcesContent: true, external: ['ssdk:dataflow/host'],
      alias: { 'ssdk-host': resolve(HOST_SHIM[be]) }, logLevel: 'warning',
    });
    const tBundle = performance.now() - t0;
    let tComp = 0, size = 0;
    if (be === 'sm') {
      const { componentize } = await import('@bytecodealliance/componentize-js');
      t0 = performance.now();
      const { component } = await componentize({
        sourcePath: out, witPath: resolve('wit'), worldName: 'chain',
        disableFeatures: ['random', 'stdio', 'clocks', 'http', 'fetch-event'],
      });
      tComp = performance.now() - t0;
      writeFileSync(`build/${chain}.sm.wasm`, component); size = component.length;
    } else if (be === 'qjs') {
      const { componentize } = await import('componentize-qjs');
      const { readFileSync } = await import('node:fs');
      t0 = performance.now();
      const { component } = await componentize({
        witPath: resolve('wit'), jsSource: readFileSync(out, 'utf8'), jsPath: resolve(out), world: 'chain',
        stubWasi: true, sync: true,
      });
      tComp = performance.now() - t0;
      writeFileSync(`build/${chain}.qjs.wasm`, component); size = component.length;
    }
    times[`${chain}.${be}`] = { bundleMs: +tBundle.toFixed(1), componentizeMs: +tComp.toFixed(0), bytes: size, jsBytes: statSync(out).size };
    console.log(chain, be, times[`${chain}.${be}`]);
  }
}
