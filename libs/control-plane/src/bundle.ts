/**
 * A bundle is the services file and the function modules beside it (`functions/`): the plan's
 * hash covers their code, so an operator that materializes the bundle and plans it again gets
 * the very plan that was deployed (checked), with the same operators, subjects and tables.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { OperatorConfigError } from '@ssdk/runtime';

export interface DeploymentBundle {
  /** The services file's name, a key of `files`. */
  servicesFile: string;
  /** Path relative to the services file's folder (always `/`-separated) → text. */
  files: Record<string, string>;
}

/** Folders beside a services file whose files a deployment carries. */
const BUNDLED_DIRS = ['functions'];
const MAX_BUNDLE_BYTES = 900 * 1024;

/** The services file and every file under `functions/` beside it. */
export async function readBundle(servicesFile: string): Promise<DeploymentBundle> {
  const dir = dirname(resolve(servicesFile));
  const name = basename(servicesFile);
  const files: Record<string, string> = { [name]: await readFile(servicesFile, 'utf8') };
  for (const sub of BUNDLED_DIRS) {
    for (const path of await filesUnder(join(dir, sub))) files[relative(dir, path).split(sep).join('/')] = await readFile(path, 'utf8');
  }
  const bytes = Object.values(files).reduce((n, t) => n + Buffer.byteLength(t), 0);
  if (bytes > MAX_BUNDLE_BYTES) {
    throw new OperatorConfigError(`${servicesFile} and its functions/ are ${bytes} bytes: a deployment carries at most ${MAX_BUNDLE_BYTES} (NATS' max_payload)`);
  }
  return { servicesFile: name, files };
}

async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

/** Checks a bundle that came over the wire: names stay inside its folder. */
export function checkBundle(bundle: unknown): DeploymentBundle {
  const b = bundle as Partial<DeploymentBundle> | null;
  if (!b || typeof b.servicesFile !== 'string' || !b.files || typeof b.files !== 'object') throw new OperatorConfigError('a deployment needs {servicesFile, files}');
  for (const [path, text] of Object.entries(b.files)) {
    if (typeof text !== 'string') throw new OperatorConfigError(`bundle file \`${path}\` is not text`);
    if (path.startsWith('/') || path.split('/').some((part) => part === '..' || part === '')) throw new OperatorConfigError(`bundle file \`${path}\` is not a relative path inside the dataflow's folder`);
  }
  if (typeof b.files[b.servicesFile] !== 'string') throw new OperatorConfigError(`the bundle has no services file \`${b.servicesFile}\``);
  return { servicesFile: b.servicesFile, files: b.files };
}

/** sha256 of a bundle's files: the name of the folder it is written to. */
export function bundleHash(bundle: DeploymentBundle): string {
  const h = createHash('sha256');
  for (const path of Object.keys(bundle.files).sort()) h.update(path).update('\0').update(bundle.files[path]!).update('\0');
  return h.digest('hex');
}

/**
 * Writes a bundle to `<root>/<hash>/` (once: a folder of that name holds that content) and
 * returns the services file's path there.
 */
export async function materializeBundle(bundle: DeploymentBundle, root = join(tmpdir(), 'ssdk-deployments')): Promise<string> {
  const dir = join(root, bundleHash(bundle).slice(0, 24));
  const file = join(dir, bundle.servicesFile);
  if (await exists(join(dir, '.complete'))) return file;
  // Written beside, then renamed: two processes materializing at once never see half a bundle.
  const staging = `${dir}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  for (const [path, text] of Object.entries(bundle.files)) {
    const target = join(staging, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
  }
  await writeFile(join(staging, '.complete'), '');
  await mkdir(root, { recursive: true });
  try {
    await rename(staging, dir);
  } catch {
    // Another process won the race with the same content.
  }
  return file;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
