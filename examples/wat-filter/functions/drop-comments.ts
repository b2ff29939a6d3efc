import type { Ctx } from './ctx.js';

/**
 * The same rule as drop-comments.wat, in TypeScript: what runs under `isolation: native` (and on
 * a runtime that does not load components). Under `isolation: wasm` — the default — the prebuilt
 * drop-comments.wasm serves this step.
 */
export function dropComments(line: string, _ctx: Ctx): boolean {
  if (line.startsWith('!')) throw new Error(`a line starting with "!": ${line}`);
  return !line.startsWith('#');
}
