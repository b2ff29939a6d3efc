import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryState, type ChainInput } from '@ssdk/engine';
import { buildFixture, KINDS_SERVICES, TEST_TRANSPILE_CACHE, writeKindsDataflow } from '../testing/fixture.ts';
import { GuestFunctionError } from './errors.ts';
import { openWasmHost, type WasmBuild, type WasmHost } from './host.ts';
import type { WasmStep } from './chain.ts';

// Misbehaving functions: each failure is one record's, typed, located; the batch goes on.
let host: WasmHost;
let build: WasmBuild;
let file: string;

beforeAll(async () => {
  file = await writeKindsDataflow();
  const built = await buildFixture(file);
  host = openWasmHost({ cacheDir: TEST_TRANSPILE_CACHE });
  build = await host.loadBuild(built.buildDir);
}, 180_000);

afterAll(async () => {
  await host?.close();
});

const rec = (op: string | undefined, id = 1): ChainInput => ({ key: null, value: { id, amount: 900, note: 'n', ...(op ? { op } : {}) }, timestamp: 0 });
const ids = (r: { outputs: Array<{ input: number }> }) => r.outputs.map((o) => o.input);

async function chain(steps: WasmStep[], timeoutMs = 2000) {
  return (await build.componentFor(steps.map((s) => s.id)))!.chain({ steps, timeoutMs });
}

/** 1-based line and column of `needle` in the fixture's services file. */
function at(needle: string): { line: number; col: number } {
  const lines = KINDS_SERVICES.split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  return { line: line + 1, col: lines[line]!.indexOf(needle) + 1 };
}

describe('wasm-host - failing functions', () => {
  it('wasm-host - a throwing function fails its record only, with the line of the services file', async () => {
    const c = await chain([{ id: 'kinds.risky', operator: 'map' }]);
    const r = await c.run([rec(undefined, 1), rec('throw', 2), rec(undefined, 3)], new MemoryState());
    expect(ids(r)).toEqual([0, 2]);
    expect(r.failures).toHaveLength(1);
    const f = r.failures[0]!;
    const where = at("new Error('bad order '");
    expect(f).toMatchObject({ input: 1, operator: 'kinds.risky' });
    expect(f.reason).toBe(`bad order 2 (at ${file}:${where.line}:${where.col})`);
    expect(f.error).toBeInstanceOf(GuestFunctionError);
    expect(f.error).toMatchObject({ code: 'function-threw', operator: 'kinds.risky', input: 1, location: { file, line: where.line, col: where.col } });
    c.close();
  });

  it('wasm-host - a throw inside a functions/ module points into the module', async () => {
    const c = await chain([{ id: 'kinds.enrich', operator: 'map' }]);
    const r = await c.run([rec('throw-in-module')], new MemoryState());
    expect(r.failures[0]!.reason).toBe(`RangeError: module says no (at ${join(file, '..', 'functions', 'enrich.ts')}:8:11)`);
    c.close();
  });

  it('wasm-host - a wrong-typed return is a contract failure of that record', async () => {
    const c = await chain([{ id: 'kinds.wrong-type', operator: 'filter' }]);
    const r = await c.run([rec('wrong', 1), rec(undefined, 2)], new MemoryState());
    expect(ids(r)).toEqual([1]);
    expect(r.failures.map((f) => [f.input, f.operator, f.reason.replace(/ \(at .*\)$/, '')])).toEqual([
      [0, 'kinds.wrong-type', 'FunctionContractError: filter must return a boolean, got string "yes"'],
    ]);
    const bad = await chain([{ id: 'kinds.risky', operator: 'map' }]);
    const b = await bad.run([rec('bigint', 1), rec(undefined, 2)], new MemoryState());
    expect(ids(b)).toEqual([1]);
    expect(b.failures[0]!.reason).toMatch(/^returned a value that is not JSON: TypeError: BigInt/);
    c.close();
    bad.close();
  });

  it('wasm-host - outputs after a value that is not JSON keep their own keys', async () => {
    // The non-JSON output is dropped inside the guest: the re-keyed outputs after it are renumbered.
    const c = await chain([
      { id: 'kinds.risky', operator: 'map' },
      { id: 'kinds.by-sku', operator: 'assign-key' },
    ]);
    const withSku = (r: ChainInput, sku: string): ChainInput => ({ ...r, value: { ...(r.value as object), sku } });
    const r = await c.run([withSku(rec(undefined, 1), 'fig'), withSku(rec('bigint', 2), 'kiwi'), withSku(rec(undefined, 3), 'apple'), withSku(rec(undefined, 4), 'pear')], new MemoryState());
    expect(r.outputs.map((o) => [o.input, o.key])).toEqual([
      [0, 'fig'],
      [2, 'apple'],
      [3, 'pear'],
    ]);
    expect(r.failures.map((f) => [f.input, f.reason.replace(/: TypeError.*$/, '')])).toEqual([[1, 'returned a value that is not JSON']]);
    c.close();
  });

  it('wasm-host - a trap loses no other record: the batch is split until the culprit is alone', async () => {
    const c = await chain([{ id: 'kinds.risky', operator: 'map' }]);
    const inputs = [1, 2, 3, 4, 5, 6].map((i) => rec(i === 4 ? 'network' : undefined, i));
    const r = await c.run(inputs, new MemoryState());
    expect(ids(r)).toEqual([0, 1, 2, 4, 5]);
    expect(r.failures.map((f) => [f.input, f.reason])).toEqual([[3, 'trapped: wasm trap: wasm `unreachable` instruction executed']]);
    expect(r.failures[0]!.error).toMatchObject({ code: 'function-trapped', operator: 'kinds.risky', input: 3 });
    expect(c.stats.traps).toBeGreaterThanOrEqual(2);
    // The trapped instance was replaced: the next batch runs.
    expect(ids(await c.run([rec(undefined)], new MemoryState()))).toEqual([0]);
    c.close();
  });

  it('wasm-host - an infinite loop is stopped by the time limit, the worker replaced, the rest goes on', async () => {
    // 1 s (the default limit), not less: on a loaded 2-core CI box a healthy record on a fresh
    // instance has been starved past 300 ms and dead-lettered too.
    const c = await chain([{ id: 'kinds.risky', operator: 'map' }], 1000);
    const restarts = host.stats.restarts;
    const started = performance.now();
    const r = await c.run([rec(undefined, 1), rec('loop', 2), rec(undefined, 3)], new MemoryState());
    expect(ids(r)).toEqual([0, 2]);
    expect(r.failures.map((f) => [f.input, f.reason])).toEqual([[1, 'timed out after 1000 ms (function-timeout)']]);
    expect(r.failures[0]!.error).toMatchObject({ code: 'function-timeout' });
    expect(host.stats.restarts).toBeGreaterThan(restarts);
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(ids(await c.run([rec(undefined)], new MemoryState()))).toEqual([0]);
    c.close();
  }, 60_000);

  it('wasm-host - making a new instance (tens of ms for StarlingMonkey) does not count against a call\'s time limit', async () => {
    const c = await chain([{ id: 'kinds.is-big', operator: 'filter' }], 200);
    const r = await c.run([rec(undefined, 1)], new MemoryState());
    expect(r.failures).toEqual([]);
    expect(ids(r)).toEqual([0]);
    c.close();
  });

  it('wasm-host - no file system, process, environment or network: nothing to reach, fetch traps', async () => {
    const c = await chain([{ id: 'kinds.risky', operator: 'map' }]);
    const r = await c.run([rec('reach')], new MemoryState());
    const reach = JSON.parse((r.outputs[0]!.value as { note: string }).note) as Record<string, string>;
    expect(reach).toMatchObject({ process: 'undefined', require: 'undefined', Deno: 'undefined', XMLHttpRequest: 'undefined', WebSocket: 'undefined' });
    const net = await c.run([rec('network')], new MemoryState());
    expect(net.outputs).toEqual([]);
    expect(net.failures[0]!.reason).toMatch(/^trapped: /);
    // The component's only import is the host interface: no WASI at all.
    const component = (await build.componentFor(['kinds.risky']))!;
    expect(component.imports).toEqual(['ssdk:dataflow/host']);
    c.close();
  });
});
