/**
 * What `ssdk build` leaves in `.ssdk/build/manifest.json`: the components, and for each step of
 * the dataflow where its code runs. The runtime reads it to pick, per operator unit, the
 * component (sandboxed) or the native path.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SourceLocation } from './errors.ts';

export const MANIFEST_VERSION = 2;
export const MANIFEST_FILE = 'manifest.json';

export interface ManifestComponent {
  /** `<hash>.wasm`, beside the manifest (for `javascript`: ssdk's engine component, shared by every dataflow). */
  file: string;
  /** `javascript`: built from the service's TypeScript; `prebuilt`: a `.wasm` a `uses:` names. */
  kind: 'javascript' | 'prebuilt';
  /** The services whose steps it serves. */
  services: string[];
  /** The WIT world it implements (`ns:name/world`). */
  world: string;
  /** Operator ids of the steps whose functions it holds. */
  functions: string[];
  /** `<hash>.functions.js`, beside the manifest: the functions script the engine component loads (`javascript`). */
  functionsSource?: string;
  /** `<hash>.js.map`, beside the manifest: the functions script's source map (`javascript`). */
  sourceMap?: string;
  /** Inline functions: source name in the map → where the code starts in the services file. */
  inline?: Record<string, SourceLocation>;
  /** The services file's folder (module paths in the source map are relative to it). */
  root?: string;
}

export interface ManifestStep {
  operator: string;
  isolation: 'wasm' | 'native';
  /** The component holding the function (absent for native-only services). */
  component?: string;
  timeoutMs: number;
}

export interface BuildManifest {
  manifestVersion: typeof MANIFEST_VERSION;
  /** `namespace/name@version`. */
  dataflow: string;
  /** The services file the build came from. */
  servicesFile: string;
  components: Record<string, ManifestComponent>;
  steps: Record<string, ManifestStep>;
}

export async function readManifest(buildDir: string): Promise<BuildManifest> {
  const path = join(buildDir, MANIFEST_FILE);
  const m = JSON.parse(await readFile(path, 'utf8')) as BuildManifest;
  if (m.manifestVersion !== MANIFEST_VERSION) throw new Error(`${path}: manifest version ${String(m.manifestVersion)}, expected ${MANIFEST_VERSION}: run \`ssdk build\` again`);
  return m;
}

export function componentPath(buildDir: string, c: ManifestComponent): string {
  return join(buildDir, c.file);
}

/** Where a unit runs: in a component only if one of its steps asks for the sandbox. */
export function unitIsolation(manifest: BuildManifest, stepIds: readonly string[]): 'wasm' | 'native' {
  return stepIds.some((id) => manifest.steps[id]?.isolation !== 'native') ? 'wasm' : 'native';
}

export function manifestDir(manifestFile: string): string {
  return dirname(manifestFile);
}
