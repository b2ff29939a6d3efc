/**
 * A bench script's command line: node's parseArgs, with `--help` (the options and their
 * defaults) and, for an unknown option or a missing value, one line saying what was wrong and the
 * usage, exit 2 — not a stack trace.
 */
import { basename } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function benchArgs<T extends { options: Options }>(config: T): ReturnType<typeof parseArgs<T>> {
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(usage(config.options));
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n${usage(config.options)}`);
    process.exit(2);
  }
}

function usage(options: Options): string {
  const lines = Object.entries(options).map(([name, o]) => {
    const value = o.type === 'string' ? ' <value>' : '';
    const fallback = o.default === undefined || o.default === false ? '' : ` (default ${String(o.default)})`;
    return `  --${name}${value}${fallback}`;
  });
  return `usage: npx tsx tools/bench/${basename(process.argv[1] ?? 'bench')} [options]\n${lines.join('\n')}\n`;
}
