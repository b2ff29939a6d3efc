/**
 * @ssdk/engine — operator semantics over record batches: windows, watermarks, late data.
 * Pure: no I/O; the runtime drives it and commits its state.
 *
 * @example
 * import { windowsOf, isLate } from '@ssdk/engine';
 * windowsOf(61_000, { kind: 'sliding', durationMs: 60_000, slideMs: 20_000 });
 * // [{start: 20000, end: 80000}, {start: 40000, end: 100000}, {start: 60000, end: 120000}]
 */
export * from './windows.ts';
export * from './arrays.ts';
export * from './watermark.ts';
export * from './chain.ts';
export * from './first-argument.ts';
export * from './http.ts';
export * from './memory-state.ts';
export * from './codec.ts';
export * from './window-operator.ts';
export * from './sessions.ts';
export * from './joins.ts';
export * from './operator-logic.ts';
export * from './join-logic.ts';
