/**
 * A small tokenizer for function source code (TypeScript and Rust): enough to find a function
 * declaration and read its signature without a compiler. It skips comments and string-like
 * literals so brackets inside them do not count, and never fails: unknown characters become
 * punctuation tokens.
 */

export type TokenKind = 'ident' | 'punct' | 'string' | 'number';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Character offset in the code. */
  start: number;
}

export type SourceLang = 'ts' | 'rust';

const IDENT_START = /[A-Za-z_$]/;
const IDENT_PART = /[A-Za-z0-9_$]/;
const DIGIT = /[0-9]/;

// After these, a TypeScript `/` starts a regular expression rather than a division.
const REGEX_AFTER_KEYWORD = new Set([
  'return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await', 'instanceof',
]);

// Kept whole; every other punctuation character is a token of its own (so `>>` closes two generics).
const MULTI_PUNCT = ['...', '=>', '->', '::'];

/** All tokens of `code`. */
export function tokenize(code: string, lang: SourceLang): Token[] {
  return [...scan(code, lang)];
}

function* scan(code: string, lang: SourceLang): Generator<Token> {
  let i = 0;
  let previous: Token | undefined;
  // Open `{` of code, and `${` of TypeScript template substitutions (where a `}` resumes the template).
  const braces: Array<'code' | 'template'> = [];

  const emit = (kind: TokenKind, start: number, end: number): Token => {
    previous = { kind, text: code.slice(start, end), start };
    return previous;
  };

  /** Scans template text from `i` (after a backtick or a substitution's `}`); returns true at `${`. */
  const templateText = (): boolean => {
    while (i < code.length) {
      const c = code[i];
      if (c === '\\') i += 2;
      else if (c === '`') {
        i += 1;
        return false;
      } else if (c === '$' && code[i + 1] === '{') {
        i += 2;
        braces.push('template');
        return true;
      } else i += 1;
    }
    return false;
  };

  while (i < code.length) {
    const c = code[i] ?? '';
    const next = code[i + 1] ?? '';
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '/' && next === '/') {
      while (i < code.length && code[i] !== '\n') i += 1;
    } else if (c === '/' && next === '*') {
      const end = code.indexOf('*/', i + 2);
      i = end < 0 ? code.length : end + 2;
    } else if (c === '"' || (c === "'" && lang === 'ts')) {
      const start = i;
      i = skipQuoted(code, i, c);
      yield emit('string', start, i);
    } else if (c === "'" && lang === 'rust') {
      // A char literal ('a', '\n') or a lifetime ('a, 'static).
      const start = i;
      const close = code[i + 1] === '\\' ? code.indexOf("'", i + 2) : i + 2;
      if (code[close] === "'" && close - start <= 10) {
        i = close + 1;
        yield emit('string', start, i);
      } else {
        i += 1;
        while (i < code.length && IDENT_PART.test(code[i] ?? '')) i += 1;
        yield emit('ident', start, i);
      }
    } else if (lang === 'rust' && (c === 'r' || c === 'b') && /^(?:b?r#*"|b")/.test(code.slice(i, i + 3 + 8))) {
      const start = i;
      i = skipRustRawString(code, i);
      yield emit('string', start, i);
    } else if (c === '`' && lang === 'ts') {
      const start = i;
      i += 1;
      templateText();
      yield emit('string', start, i);
    } else if (c === '}' && braces[braces.length - 1] === 'template') {
      braces.pop();
      const start = i;
      i += 1;
      templateText();
      yield emit('string', start, i);
    } else if (c === '/' && lang === 'ts' && startsRegex(previous)) {
      const start = i;
      i = skipRegex(code, i);
      yield emit('string', start, i);
    } else if (IDENT_START.test(c)) {
      const start = i;
      while (i < code.length && IDENT_PART.test(code[i] ?? '')) i += 1;
      yield emit('ident', start, i);
    } else if (DIGIT.test(c)) {
      const start = i;
      while (i < code.length && /[0-9A-Za-z_.]/.test(code[i] ?? '')) {
        if (code[i] === '.' && !DIGIT.test(code[i + 1] ?? '')) break;
        i += 1;
      }
      yield emit('number', start, i);
    } else {
      const multi = MULTI_PUNCT.find((p) => code.startsWith(p, i));
      const start = i;
      i += multi?.length ?? 1;
      if (c === '{') braces.push('code');
      else if (c === '}') braces.pop();
      yield emit('punct', start, i);
    }
  }
}

function skipQuoted(code: string, from: number, quote: string): number {
  let i = from + 1;
  while (i < code.length && code[i] !== quote && code[i] !== '\n') i += code[i] === '\\' ? 2 : 1;
  return Math.min(code.length, i + 1);
}

/** `r"..."`, `r#"..."#`, `br"..."`, `b"..."`. */
function skipRustRawString(code: string, from: number): number {
  let i = from;
  if (code[i] === 'b') i += 1;
  if (code[i] !== 'r') return skipQuoted(code, i, '"');
  i += 1;
  let hashes = 0;
  while (code[i] === '#') {
    hashes += 1;
    i += 1;
  }
  const end = code.indexOf(`"${'#'.repeat(hashes)}`, i + 1);
  return end < 0 ? code.length : end + 1 + hashes;
}

function startsRegex(previous: Token | undefined): boolean {
  if (previous === undefined) return true;
  if (previous.kind === 'ident') return REGEX_AFTER_KEYWORD.has(previous.text);
  if (previous.kind === 'number' || previous.kind === 'string') return false;
  return ![')', ']', '}'].includes(previous.text);
}

function skipRegex(code: string, from: number): number {
  let i = from + 1;
  let inClass = false;
  while (i < code.length && code[i] !== '\n') {
    const c = code[i];
    if (c === '\\') i += 2;
    else {
      if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      i += 1;
    }
  }
  i += 1;
  while (i < code.length && /[a-z]/i.test(code[i] ?? '')) i += 1;
  return i;
}

/** Reading position over a token list, with the bracket-aware skips the signature readers need. */
export class TokenCursor {
  readonly tokens: readonly Token[];
  index: number;

  constructor(tokens: readonly Token[], index = 0) {
    this.tokens = tokens;
    this.index = index;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.index + offset];
  }

  /** True when the current token is `text` (punctuation or identifier). */
  at(text: string, offset = 0): boolean {
    return this.peek(offset)?.text === text;
  }

  next(): Token | undefined {
    const token = this.tokens[this.index];
    if (token !== undefined) this.index += 1;
    return token;
  }

  /** Consumes `text` if it is next. */
  eat(text: string): boolean {
    if (!this.at(text)) return false;
    this.index += 1;
    return true;
  }

  done(): boolean {
    return this.index >= this.tokens.length;
  }

  /**
   * From an opening bracket, moves past its matching close (nested `()[]{}` and, when
   * `angles` is set, `<>` count too). Returns false when it never closes.
   */
  skipBalanced(angles = false): boolean {
    const open = this.next()?.text ?? '';
    const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}', '<': '>' };
    const stack = [pairs[open] ?? ''];
    while (stack.length > 0) {
      const token = this.next();
      if (token === undefined) return false;
      const text = token.kind === 'punct' ? token.text : '';
      const close = pairs[text];
      if (close !== undefined && (text !== '<' || angles)) stack.push(close);
      else if (text === stack[stack.length - 1]) stack.pop();
    }
    return true;
  }

  /** Moves to the next `stops` token at bracket depth 0 (not past it). */
  skipUntil(stops: readonly string[]): void {
    while (!this.done()) {
      const token = this.peek();
      if (token === undefined || (token.kind === 'punct' && stops.includes(token.text))) return;
      if (token.kind === 'punct' && ['(', '[', '{'].includes(token.text)) this.skipBalanced();
      else this.index += 1;
    }
  }
}
