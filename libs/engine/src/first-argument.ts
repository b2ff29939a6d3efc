/**
 * Whether a function can read its first argument, from its source text (`Function.prototype.
 * toString`): a step whose function cannot is given a record whose value is not read yet as it is
 * (`unreadRecord`, `ChainStep.ignoresValue`) — q11's `countBid(bid, ctx)` only counts.
 *
 * A function reaches an argument by its parameter's name or by `arguments` (a direct `eval` of a
 * text naming either; ES modules are strict, so no `with` and no `fn.arguments`). So it cannot
 * when its first parameter is a plain name that the text mentions nowhere else and the text says
 * neither `arguments` nor `eval`. A mention inside a string or a comment, a shadowing name, a
 * destructured or defaulted parameter, an escape in a name (`\u0062id` is `bid`), or a text this
 * cannot take apart (a bound or built-in function) all answer that it may.
 */
export function ignoresFirstArgument(fn: (...args: never[]) => unknown): boolean {
  const text = Function.prototype.toString.call(fn);
  if (text.includes('\\u')) return false;
  const name = firstParameter(text);
  if (name === undefined) return false;
  return count(text, name) === 1 && count(text, 'arguments') === 0 && count(text, 'eval') === 0;
}

/** The first parameter of a function's text when it is a plain name (not destructured, spread or defaulted), else undefined. */
function firstParameter(text: string): string | undefined {
  const m =
    /^(?:async\s+)?function\s*\*?\s*[\w$]*\s*\(\s*([A-Za-z_$][\w$]*)\s*[,)]/.exec(text) ??
    /^(?:async\s+)?\(\s*([A-Za-z_$][\w$]*)\s*[,)]/.exec(text) ??
    /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(text) ??
    /^(?:async\s+)?\*?\s*[\w$]+\s*\(\s*([A-Za-z_$][\w$]*)\s*[,)]/.exec(text);
  return m?.[1];
}

/** How often `name` stands in `text` as a whole name (not a part of a longer one). */
function count(text: string, name: string): number {
  return text.match(new RegExp(`(?<![\\w$\\u0080-\\uffff])${name.replace(/\$/g, '\\$')}(?![\\w$\\u0080-\\uffff])`, 'g'))?.length ?? 0;
}
