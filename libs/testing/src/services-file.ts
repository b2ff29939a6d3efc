import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `text` saved as `services.yaml` in a fresh folder of the system's temp folder. Tests keep their
 * dataflow as text beside the assertions, but every runtime reads a dataflow from a file (function
 * positions, relative imports and the state folder are placed by it), so each test writes it first.
 */
export async function writeServicesFile(text: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-services-'));
  const file = join(dir, 'services.yaml');
  await writeFile(file, text);
  return { dir, file };
}
