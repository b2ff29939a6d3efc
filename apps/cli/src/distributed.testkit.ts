/** What the distributed CLI tests share: reading the JSON-lines files `ssdk consume` writes. */
import { readFile } from 'node:fs/promises';

/** Every non-blank line of a JSON-lines file, parsed. */
export const readJsonLines = async (path: string): Promise<unknown[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);

/** Values as sorted JSON text: compares outputs whose order across partitions is not fixed. */
export const sortedJson = (xs: unknown[]): string[] => xs.map((x) => JSON.stringify(x)).sort();
