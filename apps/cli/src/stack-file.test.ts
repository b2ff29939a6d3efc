import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStackFile, stackFileWriter, type StackFile } from './stack-file.ts';

const stack = (n: number): StackFile => ({
  file: '/x/services.yaml',
  dataflow: 'ns/name',
  supervisor: 1,
  planner: 2,
  // Sizes vary, as when operators exit at once: a shorter file written over a longer one.
  operators: Object.fromEntries(Array.from({ length: n % 7 }, (_, i) => [`svc.operator-${i}-${'x'.repeat(n % 5)}`, 1000 + i])),
});

describe('stack file', () => {
  it('stack file - saves at once (several processes exit together) while a reader reads: every read parses, the newest save wins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-stack-'));
    const path = join(dir, 'stack.json');
    const writer = stackFileWriter(path);
    await writer.save(stack(6));
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        expect(await readStackFile(path)).toBeDefined();
        reads++;
      }
    })();
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) saves.push(writer.save(stack(i)));
    await Promise.all(saves);
    reading = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(stack(199));
    // No temporary file is left behind.
    expect(await readdir(dir)).toEqual(['stack.json']);
    await writer.remove();
    expect(await readStackFile(path)).toBeUndefined();
  });
});
