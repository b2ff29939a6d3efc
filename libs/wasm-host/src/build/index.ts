/**
 * @ssdk/wasm-host/build — `ssdk build`'s engine: a service's TypeScript functions bundled with
 * the engine's chain executor into one component (componentize-js, StarlingMonkey, no WASI),
 * cached by content hash; and WAT core modules made into components with jco's tools. Kept out
 * of the main entry so the runtime never loads the toolchain.
 *
 * @example
 * import { buildDataflow } from '@ssdk/wasm-host/build';
 * const { manifest } = await buildDataflow({ dataflow, graph, stateDir: '.ssdk', onProgress: (p) => console.log(p.service, p.status) });
 */
export { buildDataflow, componentCacheDir, type BuildOptions, type BuildProgress, type BuildResult } from './build.ts';
export { bundleEngine, bundleFunctions, guestFiles, type GuestBundle, type GuestFunction } from './bundle.ts';
export { componentizeJs, componentizeWat, COMPONENTIZE_JS_VERSION } from './componentize.ts';
