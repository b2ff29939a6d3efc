/**
 * Where ssdk keeps what it writes for a dataflow: `.ssdk/` beside the services file, moved by
 * `--state-dir` or `SSDK_HOME` (docs/decisions.md). Embedded state is a PGlite database in
 * `<state dir>/state`, one schema per dataflow.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export function stateDir(servicesFile: string, override?: string): string {
  if (override) return resolve(override);
  if (process.env['SSDK_HOME']) return resolve(process.env['SSDK_HOME']);
  return join(dirname(resolve(servicesFile)), '.ssdk');
}

export async function embeddedStateDir(servicesFile: string, override?: string): Promise<string> {
  const dir = join(stateDir(servicesFile, override), 'state');
  await mkdir(dirname(dir), { recursive: true });
  return dir;
}
