/**
 * `.ssdk/stack.json`: the processes `ssdk up` runs, for `ssdk down` and the tests. One writer
 * (the `up` supervisor) and any number of readers: every save writes a temporary file and
 * renames it over the old one, so a reader sees a whole file, old or new, never a mix; saves
 * are queued so the file ends with the newest state even when several processes exit at once.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

export interface StackFile {
  file: string;
  dataflow: string;
  supervisor: number;
  /** The planner `up` started (absent when one was running already). */
  planner?: number;
  /** Process name (`<operator>` or `<operator>#<replica>`) → PID. */
  operators: Record<string, number>;
  /** Process name → the port of its Prometheus endpoint, when metrics are on. */
  metrics?: Record<string, number>;
}

/** Saves of one stack file, in order, each atomic; `save` resolves once its state is on disk. */
export function stackFileWriter(path: string): { save(stack: StackFile): Promise<void>; remove(): Promise<void> } {
  let queue: Promise<void> = Promise.resolve();
  let n = 0;
  const write = async (stack: StackFile) => {
    const tmp = `${path}.${process.pid}.${n++}.tmp`;
    await writeFile(tmp, JSON.stringify(stack, null, 2) + '\n');
    await rename(tmp, path);
  };
  return {
    save(stack) {
      const snapshot = structuredClone(stack);
      // A failed save does not stop the next one (it writes the newer state anyway).
      const saved = queue.catch(() => {}).then(() => write(snapshot));
      queue = saved;
      return saved;
    },
    async remove() {
      await queue.catch(() => {});
      await rm(path, { force: true });
    },
  };
}

/** The stack file, or undefined when there is none. */
export async function readStackFile(path: string): Promise<StackFile | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as StackFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
