/**
 * @ssdk/functions — finds and loads a dataflow's user functions. Trusted functions
 * (`isolation: native`) are compiled by esbuild and run in V8; sandboxed ones run as
 * WebAssembly components (the same bundles, componentized).
 *
 * @example
 * import { compileNative } from '@ssdk/functions';
 * const f = await compileNative({ id: 'wc.split', code: { inline: 'function split(s: string) { return s.split(" ") }', exportName: 'split' }, resolveDir: '.' });
 * f.fn('a b'); // ['a', 'b']
 */
export * from './native.ts';
export * from './steps.ts';
export * from './check.ts';
export * from './check-cache.ts';
