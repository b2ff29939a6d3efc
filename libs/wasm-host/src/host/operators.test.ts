import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryState, runChain, runFlush, type ChainInput, type ChainStep } from '@ssdk/engine';
import { loadNativeStep } from '@ssdk/functions';
import { loadServicesFile, type Step } from '@ssdk/spec';
import { checkDataflow } from '@ssdk/plan';
import { buildFixture, TEST_TRANSPILE_CACHE, writeKindsDataflow } from '../testing/fixture.ts';
import { openWasmHost, type WasmBuild, type WasmHost } from './host.ts';
import type { WasmStep } from './chain.ts';

// Every operator kind through a real component (componentize-js + jco, no mocks), checked
// against the engine's own runChain running the same functions natively.
let host: WasmHost;
let build: WasmBuild;
let file: string;
const models = new Map<string, Step>();

beforeAll(async () => {
  file = await writeKindsDataflow();
  const built = await buildFixture(file);
  host = openWasmHost({ cacheDir: TEST_TRANSPILE_CACHE });
  build = await host.loadBuild(built.buildDir);
  const { dataflow } = await loadServicesFile(file);
  for (const s of checkDataflow(dataflow).graph.services) for (const site of [...s.pipeline.trunk, ...s.pipeline.sources.flatMap((b) => b.steps)]) models.set(site.id, site.step);
}, 180_000);

afterAll(async () => {
  await host?.close();
});

const order = (id: number, amount: number, note: string, extra: Record<string, unknown> = {}) => ({ id, amount, note, ...extra });
const rec = (value: unknown, key: ChainInput['key'] = null, timestamp = 1_000): ChainInput => ({ key, value, timestamp });

async function wasmChain(steps: WasmStep[], timeoutMs = 2000) {
  const c = await build.componentFor(steps.map((s) => s.id));
  return c!.chain({ steps, timeoutMs });
}

async function nativeSteps(steps: WasmStep[]): Promise<ChainStep[]> {
  return Promise.all(steps.map(async (s) => ({ ...s, fn: (await loadNativeStep(s.id, models.get(s.id)!, file)).fn })));
}

describe('wasm-host - operators through a real component', () => {
  it('wasm-host - filter keeps records and hands back the very input values', async () => {
    const chain = await wasmChain([{ id: 'kinds.is-big', operator: 'filter' }]);
    const inputs = [rec(order(1, 900, 'a')), rec(order(2, 10, 'b')), rec(order(3, 501, 'c'), 'k3', 7)];
    const r = await chain.run(inputs, new MemoryState());
    expect(r.failures).toEqual([]);
    expect(r.outputs.map((o) => [o.input, o.key, o.timestamp])).toEqual([[0, null, 1_000], [2, 'k3', 7]]);
    // Only filters ran: the guest answered with table rows, the host reused its own objects.
    expect(r.outputs[0]!.value).toBe(inputs[0]!.value);
    chain.close();
  });

  it('wasm-host - map from a functions/ module with an npm dependency and a `with:` param', async () => {
    const chain = await wasmChain([{ id: 'kinds.enrich', operator: 'map', params: { tier: 'gold' } }]);
    const r = await chain.run([rec(order(1, 900, 'hello')), rec(order(2, 10, ''))], new MemoryState());
    expect(r.outputs.map((o) => o.value)).toEqual([order(1, 900, 'HELLO! gold'), order(2, 10, '')]);
    chain.close();
  });

  it('wasm-host - filter-map drops undefined and passes the rest', async () => {
    const chain = await wasmChain([{ id: 'kinds.keep-noted', operator: 'filter-map' }]);
    const r = await chain.run([rec(order(1, 1, 'x y')), rec(order(2, 1, ''))], new MemoryState());
    expect(r.outputs.map((o) => [o.input, o.value])).toEqual([[0, order(1, 1, 'X Y')]]);
    chain.close();
  });

  it('wasm-host - flat-map fans out, each output naming its input', async () => {
    const chain = await wasmChain([{ id: 'kinds.split-note', operator: 'flat-map' }]);
    const r = await chain.run([rec(order(1, 1, 'a b c'), 'k'), rec(order(2, 1, 'd'))], new MemoryState());
    expect(r.outputs.map((o) => [o.input, o.key, (o.value as { note: string }).note])).toEqual([
      [0, 'k', 'a'],
      [0, 'k', 'b'],
      [0, 'k', 'c'],
      [1, null, 'd'],
    ]);
    chain.close();
  });

  it('wasm-host - assign-key and assign-timestamp set the key and the event time', async () => {
    const chain = await wasmChain([
      { id: 'kinds.order-time', operator: 'assign-timestamp' },
      { id: 'kinds.by-sku', operator: 'assign-key' },
    ]);
    const inputs = [rec(order(3, 1, 'a', { sku: 'apple' }), null, 42), rec(order(4, 1, 'b'), 'old', 1_500)];
    const r = await chain.run(inputs, new MemoryState());
    expect(r.outputs.map((o) => [o.key, o.timestamp])).toEqual([['apple', 3_042], ['none', 4_500]]);
    expect(r.outputs[0]!.value).toBe(inputs[0]!.value);
    chain.close();
  });

  it('wasm-host - update-state with state in and changes out, then a flush iterating the window', async () => {
    const steps: WasmStep[] = [
      { id: 'kinds.add-up', operator: 'update-state', states: ['totals', 'prices'] },
      { id: 'kinds.summarize', operator: 'flush', states: ['totals', 'prices'] },
    ];
    const chain = await wasmChain(steps);
    const w = { start: 0, end: 10_000 };
    const wasmState = new MemoryState((state, key) => (state === 'prices' && key === 'apple' ? 1.5 : undefined));
    wasmState.load('totals', 'apple', 100, w); // committed before this batch
    const logs: unknown[][] = [];
    const logged = (await build.componentFor(['kinds.add-up']))!.chain({ steps, log: (op, _r, args) => logs.push([op, ...args]) });
    const inputs = [rec(order(1, 1, '', { sku: 'apple' }), 'apple'), rec(order(2, 1, '', { sku: 'pear' }), 'pear'), rec(order(5, 1, '', { sku: 'apple' }), 'apple')].map((r) => ({ ...r, window: w }));
    const r = await logged.run(inputs, wasmState, { discardOutputs: true });
    expect(r).toEqual({ outputs: [], failures: [] });
    expect(wasmState.get('totals', 'apple', w)).toBe(106);
    expect(wasmState.get('totals', 'pear', w)).toBe(2);
    expect(logs).toEqual([
      ['kinds.add-up', 'price 1.5'],
      ['kinds.add-up', 'price 1.5'],
    ]);
    const flushed = await chain.flush(w, wasmState);
    expect(flushed).toEqual({ output: { key: null, value: '0:apple=106,pear=2', timestamp: 9_999 } });

    // The same through the engine natively: same state, same flush.
    const native = await nativeSteps(steps);
    const nativeState = new MemoryState((state, key) => (state === 'prices' && key === 'apple' ? 1.5 : undefined));
    nativeState.load('totals', 'apple', 100, w);
    runChain(native.slice(0, 1), inputs, { state: nativeState, discardOutputs: true });
    expect(runFlush(native[1]!, w, { state: nativeState }).output).toEqual(flushed.output);
    expect(nativeState.takeChanges()).toEqual(wasmState.takeChanges());
    chain.close();
    logged.close();
  });

  it('wasm-host - a state change for a key not in the batch is refused by the host and dead-letters its record', async () => {
    const steps: WasmStep[] = [{ id: 'kinds.add-up', operator: 'update-state', states: ['totals', 'prices'] }];
    const chain = await wasmChain(steps);
    const w = { start: 0, end: 10_000 };
    const state = new MemoryState();
    const inputs = [rec(order(1, 1, '', { sku: 'apple', op: 'forge' }), 'apple'), rec(order(2, 1, '', { sku: 'pear' }), 'pear')].map((r) => ({ ...r, window: w }));
    const r = await chain.run(inputs, state, { discardOutputs: true });
    expect(r.failures.map((f) => [f.input, (f.error as { code?: string }).code])).toEqual([[0, 'state-key-not-owned']]);
    expect(r.failures[0]!.reason).toMatch(/changed state `totals` of key "victim", which is not a key of its batch/);
    expect(state.get('totals', 'victim', w)).toBeUndefined();
    expect(state.get('totals', 'apple', w)).toBeUndefined();
    expect(state.get('totals', 'pear', w)).toBe(2);
    chain.close();
  });

  it('wasm-host - keys of different types are different state entries in the guest, as natively', async () => {
    // The guest keys its state by the key value itself: 7, '7', true and 'true' must not meet.
    const steps: WasmStep[] = [{ id: 'kinds.add-up', operator: 'update-state', states: ['totals', 'prices'] }];
    const chain = await wasmChain(steps);
    const w = { start: 0, end: 10_000 };
    const keys = [7, '7', 7, true, 'true', '7', 0];
    const inputs = keys.map((k, i) => ({ ...rec(order(i + 1, 1, ''), k), window: w }));
    const wasmState = new MemoryState();
    wasmState.load('totals', '7', 1000, w);
    expect(await chain.run(inputs, wasmState, { discardOutputs: true })).toEqual({ outputs: [], failures: [] });
    expect([7, '7', true, 'true', 0].map((k) => wasmState.get('totals', k, w))).toEqual([1 + 3, 1000 + 2 + 6, 4, 5, 7]);
    const nativeState = new MemoryState();
    nativeState.load('totals', '7', 1000, w);
    runChain(await nativeSteps(steps), inputs, { state: nativeState, discardOutputs: true });
    expect(wasmState.takeChanges()).toEqual(nativeState.takeChanges());
    chain.close();
  });

  it('wasm-host - keys a chain assigns itself are sent with the next batches, not looked up again', async () => {
    // The host cannot know these keys before the first call: the guest asks for each (a round
    // trip); from the second batch on they come with the snapshot.
    const steps: WasmStep[] = [
      { id: 'kinds.by-sku', operator: 'assign-key' },
      { id: 'kinds.add-up', operator: 'update-state', states: ['totals', 'prices'] },
    ];
    const chain = await wasmChain(steps);
    const batch = (base: number) => ['apple', 'pear', 'apple'].map((sku, i) => rec(order(base + i, 1, '', { sku })));
    const wasmState = new MemoryState();
    wasmState.load('totals', 'pear', 1000);
    await chain.run(batch(1), wasmState);
    // totals of apple and pear (current), prices of apple and pear (committed, always asked).
    expect(chain.stats.lookups).toBe(4);
    await chain.run(batch(10), wasmState);
    expect(chain.stats.lookups).toBe(6);
    expect([wasmState.get('totals', 'apple'), wasmState.get('totals', 'pear')]).toEqual([1 + 3 + 10 + 12, 1000 + 2 + 11]);
    const native = await nativeSteps(steps);
    const nativeState = new MemoryState();
    nativeState.load('totals', 'pear', 1000);
    for (const base of [1, 10]) runChain(native, batch(base), { state: nativeState });
    expect(wasmState.takeChanges()).toEqual(nativeState.takeChanges());
    chain.close();
  });

  it('wasm-host - a fused chain gives what runChain gives natively, failures included', async () => {
    const steps: WasmStep[] = [
      { id: 'kinds.is-big', operator: 'filter' },
      { id: 'kinds.enrich', operator: 'map', params: { tier: 'gold' } },
      { id: 'kinds.keep-noted', operator: 'filter-map' },
      { id: 'kinds.split-note', operator: 'flat-map' },
      { id: 'kinds.risky', operator: 'map' },
      { id: 'kinds.wrong-type', operator: 'filter' },
    ];
    const inputs = [
      rec(order(1, 900, 'one two'), 'a'),
      rec(order(2, 900, 'x', { op: 'throw' })),
      rec(order(3, 10, 'small')),
      rec(order(4, 900, '')),
      rec(order(5, 900, 'w', { op: 'wrong' }), true),
      rec(order(6, 900, 'ü ß 😀'), 6),
    ];
    const chain = await wasmChain(steps);
    const got = await chain.run(inputs, new MemoryState());
    const want = runChain(await nativeSteps(steps), inputs, { state: new MemoryState() });
    expect(got.outputs).toEqual(want.outputs);
    expect(got.failures.map((f) => [f.input, f.operator, f.reason.replace(/ \(at .*\)$/, ''), f.record])).toEqual(want.failures.map((f) => [f.input, f.operator, f.reason, f.record]));
    chain.close();
  });

  it('wasm-host - many instances of one component are independent', async () => {
    const a = await wasmChain([{ id: 'kinds.is-big', operator: 'filter' }]);
    const b = await wasmChain([{ id: 'kinds.split-note', operator: 'flat-map' }]);
    expect((await a.run([rec(order(1, 900, 'p q'))], new MemoryState())).outputs).toHaveLength(1);
    expect((await b.run([rec(order(1, 900, 'p q'))], new MemoryState())).outputs).toHaveLength(2);
    expect(a.stats.calls).toBe(1);
    a.close();
    b.close();
  });
});
