import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;

export interface EntryPointResult {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs a service's TypeScript entry point as it is started: its own Node process, its own argument
 * parsing and exit code. A failing exit is a result to assert on, not a thrown error.
 */
export async function runEntryPoint(main: string, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<EntryPointResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', tsx, main, ...args], {
      timeout: options.timeoutMs ?? 30_000,
      ...(options.env ? { env: options.env } : {}),
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}
