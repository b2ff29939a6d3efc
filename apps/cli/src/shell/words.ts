/**
 * Reading a shell line: words (with shell-like quoting, each keeping where it sits in the line,
 * so a command can take "the rest of the line" verbatim — a JSON value, a SQL query), flags,
 * times, and the closest name for a typo.
 */
import { editDistance } from '@ssdk/spec';

/** A mistake in a shell command: printed as one `error:` line with its hint; the shell goes on. */
export class ShellError extends Error {
  override name = 'ShellError';
  readonly domain = 'user';
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

export interface Word {
  /** The word with its quotes removed and escapes applied. */
  text: string;
  /** Where the word starts and ends in the line (quotes included). */
  start: number;
  end: number;
}

/**
 * Splits a line on blanks. `"…"` groups (with `\"` and `\\` escapes) and `'…'` groups (literal)
 * keep blanks inside a word. `lenient` (tab completion) closes an unterminated quote at the end.
 */
export function splitWords(line: string, lenient = false): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let text = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '"' || c === "'") {
        const close = c;
        i++;
        let closed = false;
        while (i < line.length) {
          const d = line[i]!;
          if (d === close) {
            closed = true;
            i++;
            break;
          }
          if (close === '"' && d === '\\' && i + 1 < line.length) {
            text += line[i + 1];
            i += 2;
            continue;
          }
          text += d;
          i++;
        }
        if (!closed && !lenient) throw new ShellError(`unterminated ${close === '"' ? 'double' : 'single'} quote`, 'close the quote, or write the value without it');
      } else {
        text += c;
        i++;
      }
    }
    words.push({ text, start, end: i });
  }
  return words;
}

/** How a flag takes its value: none, the next word, or the next word when it reads as a time. */
export type FlagKind = 'boolean' | 'string' | 'optional-time';

export interface FlagSpec {
  kind: FlagKind;
  /** A one-letter alias (`-n`). */
  short?: string;
  valueName?: string;
  description: string;
}

export interface ParsedWords {
  positionals: Word[];
  flags: Map<string, string | true>;
  /** Where the first word that is neither a flag nor a flag's value starts (for "the rest of the line"). */
  restStart: number | undefined;
}

/**
 * Separates flags (`--name`, `--name=value`, `-n`) from positional words. With
 * `stopAfterPositionals: N`, parsing stops at the first plain word after N positionals: the rest
 * of the line, from `restStart`, is a value (a word like `-5` is not a flag).
 */
export function parseFlags(
  words: readonly Word[],
  flags: Readonly<Record<string, FlagSpec>>,
  command: string,
  o: { stopAfterPositionals?: number } = {},
): ParsedWords {
  const out = new Map<string, string | true>();
  const positionals: Word[] = [];
  let restStart: number | undefined;
  const shortToLong = new Map(Object.entries(flags).flatMap(([name, f]) => (f.short ? [[f.short, name] as const] : [])));
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const isFlag = /^--[a-z]/i.test(w.text) || (/^-[a-z]$/i.test(w.text) && shortToLong.has(w.text.slice(1)));
    if (!isFlag) {
      if (o.stopAfterPositionals !== undefined && positionals.length >= o.stopAfterPositionals) {
        restStart = w.start;
        break;
      }
      positionals.push(w);
      continue;
    }
    let name = w.text.startsWith('--') ? w.text.slice(2) : shortToLong.get(w.text.slice(1))!;
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = flags[name];
    if (!spec) {
      const known = Object.keys(flags);
      const close = closest(name, known);
      throw new ShellError(
        `\`${command}\` has no flag \`--${name}\`${close ? ` (did you mean \`--${close}\`?)` : ''}`,
        known.length ? `its flags: ${known.map((k) => `--${k}`).join(', ')}` : `\`${command}\` takes no flags`,
      );
    }
    if (spec.kind === 'boolean') {
      if (inline !== undefined) throw new ShellError(`\`--${name}\` takes no value`, `write just \`--${name}\``);
      out.set(name, true);
    } else if (spec.kind === 'string') {
      if (inline !== undefined) out.set(name, inline);
      else {
        const next = words[i + 1];
        if (!next) throw new ShellError(`\`--${name}\` needs a value`, `write \`--${name} ${spec.valueName ?? 'VALUE'}\``);
        out.set(name, next.text);
        i++;
      }
    } else if (inline !== undefined) out.set(name, inline);
    else {
      const next = words[i + 1];
      if (next && parseTime(next.text) !== undefined) {
        out.set(name, next.text);
        i++;
      } else out.set(name, true);
    }
  }
  return { positionals, flags: out, restStart };
}

/** Epoch milliseconds (`1736154000000`) or an ISO date (`2025-01-06T09:00:00Z`). */
export function parseTime(text: string): number | undefined {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms === Infinity) return '+∞';
  if (ms === -Infinity) return '-∞';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** The candidate nearest to `word` (edit distance), when it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 0.5 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

