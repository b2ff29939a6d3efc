/**
 * @ssdk/wasm-host — user functions as sandboxed WebAssembly components, called per batch. The
 * only lib that imports jco.
 *
 * A component (built by `ssdk build`, or any `.wasm` implementing the `ssdk:dataflow` chain
 * world, in any language) is transpiled once (cached on disk by hash), compiled once per guest
 * worker and instantiated per chain (and per partition). Guests run in a pool of worker threads
 * (one per CPU; each instance pinned to one, so units and partitions run on several cores while
 * the host thread waits asynchronously): a call past its time limit terminates its worker (a warm
 * spare takes over; only that worker's instances are made again), a trap drops the instance;
 * either way the batch is split until the record at fault is alone, and that record is
 * dead-lettered. The guest reaches the host through `ssdk:dataflow/host` only (`log`, `lookup`, `lookup-many`; the
 * clock, randomness and named environment variables only for steps granted them; `sql` for
 * `ctx.sql`, answered asynchronously from the chain's `sql` option; `http` for `ctx.http`, made by
 * the host to the hosts the steps' `http` grants name): no file system or network of its own.
 *
 * A chain has the engine's `runChain` contract (asynchronous: a guest waiting for SQL leaves the
 * host thread free), so the runtime can run a unit either way:
 *
 * @example
 * import { openWasmHost } from '@ssdk/wasm-host';
 * const host = openWasmHost();
 * const build = await host.loadBuild('.ssdk/build');
 * const component = await build.componentFor(['word-count.split-sentence']);
 * const chain = component!.chain({ steps: [{ id: 'word-count.split-sentence', operator: 'flat-map' }], timeoutMs: 1000 });
 * const { outputs, failures } = await chain.run(records, state); // like runChain(steps, records, { state })
 * chain.close();
 * await host.close();
 */
export { openWasmHost, createWasmChain, instantiateInThread, HOST_INTERFACE, type WasmHost, type WasmHostOptions, type WasmComponent, type WasmBuild, type LoadOptions } from './host/host.ts';
export type { PendingWindowState, SqlCallOptions, WasmChain, WasmChainOptions, WasmStep } from './host/chain.ts';
export { GuestFunctionError, ComponentError, type SourceLocation } from './host/errors.ts';
export { GuestLoadError } from './host/workers.ts';
export { blockingHttp } from './host/callouts.ts';
export { readManifest, unitIsolation, MANIFEST_FILE, type BuildManifest, type ManifestComponent, type ManifestStep } from './host/manifest.ts';
export { patchGlue } from './host/transpile.ts';
export { BATCH_VERSION, UNCHANGED } from './batch/layout.ts';
export { encodeInput, decodeOutput, WindowTable } from './batch/host-codec.ts';
