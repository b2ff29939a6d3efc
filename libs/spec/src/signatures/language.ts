/**
 * Which language a function's inline code is written in.
 */
import type { FunctionLang } from '../model.ts';

const RUST_FN = /(?:^|[\s;}])(?:pub\s+)?(?:async\s+)?fn\s+[A-Za-z_]\w*\s*[<(]/;
const TS_FUNCTION = /(?:^|[\s;}])(?:export\s+)?(?:default\s+)?(?:async\s+)?function\b/;
const RUST_HINTS = [/->\s*Result\s*</, /#\[/];

/**
 * Rust when `lang: rust` says so or the code reads as Rust (`fn name(`, `-> Result<`, `#[...]`);
 * TypeScript otherwise, which is what ssdk runs.
 */
export function detectLanguage(code: string, declared?: FunctionLang): FunctionLang {
  if (declared !== undefined) return declared;
  const rust = RUST_FN.exec(code);
  const ts = TS_FUNCTION.exec(code);
  if (rust !== null && ts !== null) return rust.index <= ts.index ? 'rust' : 'typescript';
  if (rust !== null) return 'rust';
  if (ts !== null) return 'typescript';
  return RUST_HINTS.some((pattern) => pattern.test(code)) ? 'rust' : 'typescript';
}
