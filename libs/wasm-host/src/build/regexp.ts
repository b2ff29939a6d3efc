/**
 * StarlingMonkey's regular expressions have no Unicode property escapes: `/\p{L}/u` (a faithful
 * port of Rust's `is_alphanumeric`) fails the component's build. Before componentizing, each
 * such literal is rewritten into the code point classes it stands for (regexpu-core, Babel's
 * rewriter), so it matches in the sandbox exactly as in V8. Positions after a rewritten literal
 * on its line move; lines stay. Patterns built at run time (`new RegExp('\\p{L}', 'u')`) are not
 * rewritten.
 */
import type * as TypeScript from 'typescript';

const PROPERTY_ESCAPE = /\\[pP]\{/;

export async function lowerUnicodePropertyEscapes(js: string): Promise<string> {
  if (!PROPERTY_ESCAPE.test(js)) return js;
  // Loaded only for code that needs them.
  const ts = ((await import('typescript')) as unknown as { default: typeof TypeScript }).default;
  const rewritePattern = (await import('regexpu-core')).default;
  const file = ts.createSourceFile('guest.js', js, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const visit = (node: TypeScript.Node): void => {
    if (ts.isRegularExpressionLiteral(node) && PROPERTY_ESCAPE.test(node.text)) {
      const slash = node.text.lastIndexOf('/');
      const pattern = node.text.slice(1, slash);
      const flags = node.text.slice(slash + 1);
      if (flags.includes('u')) {
        edits.push({ start: node.getStart(file), end: node.end, text: `/${rewritePattern(pattern, flags, { unicodePropertyEscapes: 'transform' })}/${flags}` });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = js;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
