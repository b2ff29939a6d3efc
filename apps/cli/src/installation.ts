/**
 * Where this ssdk's own programs are, to start them as processes (`ssdk up`'s operators, the
 * planner) and to read its version. Two layouts: the workspace runs the TypeScript sources
 * (`bin/ssdk.js` registers tsx's loader on Node 20); the published package runs the files its
 * build (`tools/package/build.ts`) wrote into `lib/`, and that build defines `SSDK_PACKAGED`.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

declare const SSDK_PACKAGED: boolean | undefined;

/** True in the published package (built files), false in the workspace (sources). */
export const packaged = typeof SSDK_PACKAGED === 'boolean' && SSDK_PACKAGED;

// In the package every module of ssdk is a file of `lib/`, so these are relative to `lib/`.
const at = (workspace: string, pkg: string): string => fileURLToPath(new URL(packaged ? pkg : workspace, import.meta.url));

/** The `ssdk` command's script: the same command, whichever layout runs. */
export const SSDK_BIN = at('../../../bin/ssdk.js', '../bin/ssdk.js');

/** The arguments of `node` that start the planner app. */
export function plannerArgs(): string[] {
  if (packaged) return [fileURLToPath(new URL('./planner.js', import.meta.url))];
  // tsx's loader by absolute URL, so the child finds it whatever its working directory.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  return ['--import', tsx, fileURLToPath(new URL('../../planner/src/main.ts', import.meta.url))];
}

/** The version of this ssdk (its package.json). */
export function ssdkVersion(): string {
  return (createRequire(import.meta.url)(at('../../../package.json', '../package.json')) as { version: string }).version;
}
