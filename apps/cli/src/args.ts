/**
 * Command-line parsing on top of node:util's parseArgs: each command declares its options and
 * its help text once; unknown flags and missing arguments become `UsageError`s (exit 2).
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '@ssdk/spec';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** One line for `--help`. */
  description: string;
  /** Shown in help as the value's placeholder, e.g. `FORMAT`. */
  valueName?: string;
  default?: string | boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  examples: string[];
  /** Positional arguments: at least this many. */
  minPositionals?: number;
  maxPositionals?: number;
}

/** A mistake in how the command was called: reported in one line, exit code 2, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'usage';
  readonly domain = 'user';
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

export interface ParsedCommand {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
}

export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' messages are clear but mention internals ("To specify a positional argument…");
    // keep the first sentence.
    const msg = err instanceof Error ? err.message.split('. ')[0]!.replace(/\.$/, '') : String(err);
    throw new UsageError(msg, spec.name);
  }
  const values = parsed.values as ParsedCommand['values'];
  const help = values['help'] === true;
  if (!help) {
    const n = parsed.positionals.length;
    if (spec.minPositionals !== undefined && n < spec.minPositionals) {
      throw new UsageError(`missing argument: ${spec.usage}`, spec.name);
    }
    if (spec.maxPositionals !== undefined && n > spec.maxPositionals) {
      throw new UsageError(`too many arguments: ${spec.usage}`, spec.name);
    }
  }
  for (const [name, o] of Object.entries(spec.options)) {
    if (values[name] === undefined && o.default !== undefined) values[name] = o.default;
  }
  return { values, positionals: parsed.positionals, help };
}

export function renderHelp(spec: CommandSpec): string {
  const lines = [`${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:'];
  const rows: Array<[string, string]> = [];
  for (const [name, o] of Object.entries(spec.options)) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : '';
    rows.push([flag, o.description + def]);
  }
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  for (const [flag, desc] of rows) lines.push(`  ${flag.padEnd(width)}${desc}`);
  lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/**
 * A duration option's value in ms (`5s`, `500ms`, `10m`): undefined when it is not given, a
 * `UsageError` naming the option and an example when it does not read as one.
 */
export function durationOption(cmd: ParsedCommand, name: string, command: string, example: string): number | undefined {
  const text = cmd.values[name];
  if (text === undefined) return undefined;
  const ms = typeof text === 'string' ? parseDuration(text) : undefined;
  if (ms === undefined) throw new UsageError(`--${name} takes a duration such as ${example}, got \`${String(text)}\``, command);
  return ms;
}
