import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryState, type ChainInput } from '@ssdk/engine';
import { loadServicesFile } from '@ssdk/spec';
import { checkDataflow } from '@ssdk/plan';
import { HOST_WIT } from '@ssdk/wit';
import { buildDataflow } from '../build/build.ts';
import { componentizeWat } from '../build/componentize.ts';
import { TEST_TRANSPILE_CACHE } from '../testing/fixture.ts';
import { openWasmHost, type WasmHost } from './host.ts';

// A guest that is not JavaScript: examples/wat-filter's filter, a component made from a
// hand-written WAT core module with jco's tools, loaded by the same host.
const repo = new URL('../../../../', import.meta.url).pathname;
const example = join(repo, 'examples', 'wat-filter');
const wasmFile = join(example, 'functions', 'drop-comments.wasm');
const step = { id: 'strip-comments.drop-comments', operator: 'filter' as const };
let host: WasmHost;

beforeAll(() => {
  host = openWasmHost({ cacheDir: TEST_TRANSPILE_CACHE });
});
afterAll(async () => {
  await host?.close();
});

async function lines(file: string): Promise<unknown[]> {
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
}

describe('wasm-host - a WAT guest', () => {
  it('wasm-host - the committed .wasm is what tools/build-wat makes from the .wat', async () => {
    const built = await componentizeWat({ wat: await readFile(join(example, 'functions', 'drop-comments.wat'), 'utf8'), witSource: HOST_WIT, world: 'chain' });
    expect(Buffer.from(built).equals(await readFile(wasmFile))).toBe(true);
  });

  it('wasm-host - runs the example input to its golden output, reaching nothing (no imports at all)', async () => {
    const c = await host.load(wasmFile);
    expect(c.imports).toEqual([]);
    expect(c.exports).toEqual(['process']);
    const input = (await lines(join(example, 'input', 'lines.jsonl'))) as Array<{ value: string; timestamp: number }>;
    const inputs: ChainInput[] = input.map((r) => ({ key: null, value: r.value, timestamp: r.timestamp }));
    const chain = c.chain({ steps: [step] });
    const r = await chain.run(inputs, new MemoryState());
    expect(r.failures).toEqual([]);
    expect(r.outputs.map((o) => o.value)).toEqual(await lines(join(example, 'expected', 'kept.jsonl')));
    expect(r.outputs[0]!.value).toBe(inputs[1]!.value);
    chain.close();
  });

  it('wasm-host - a trap in the WAT guest dead-letters that record only', async () => {
    const chain = (await host.load(wasmFile)).chain({ steps: [step] });
    const inputs = ['a', '!boom', '#c', 'd'].map((value, i): ChainInput => ({ key: null, value, timestamp: i }));
    const r = await chain.run(inputs, new MemoryState());
    expect(r.outputs.map((o) => o.value)).toEqual(['a', 'd']);
    expect(r.failures.map((f) => [f.input, f.operator, f.reason])).toEqual([[1, step.id, 'trapped: wasm trap: wasm `unreachable` instruction executed']]);
    chain.close();
  });

  it('wasm-host - `ssdk build` takes the prebuilt component for the step, and the host finds it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-wat-'));
    await cp(example, dir, { recursive: true });
    const { dataflow } = await loadServicesFile(join(dir, 'services.yaml'));
    const { graph } = checkDataflow(dataflow);
    const result = await buildDataflow({ dataflow, graph, stateDir: join(dir, '.ssdk') });
    expect(result.components.map((c) => [c.kind, c.functions])).toEqual([['prebuilt', [step.id]]]);
    expect(result.manifest.steps[step.id]).toMatchObject({ isolation: 'wasm', operator: 'filter' });
    const build = await host.loadBuild(result.buildDir);
    const chain = (await build.componentFor([step.id]))!.chain({ steps: [step] });
    expect((await chain.run([{ key: null, value: '#x', timestamp: 0 }, { key: null, value: 'y', timestamp: 0 }], new MemoryState())).outputs.map((o) => o.value)).toEqual(['y']);
    chain.close();
  });
});
