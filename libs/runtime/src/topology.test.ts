import { describe, expect, it } from 'vitest';
import { parseServicesFile } from '@ssdk/spec';
import { planDataflow, planOrThrow, planTypeTable } from '@ssdk/plan';
import { ownCopy } from '@ssdk/engine';
import { fileURLToPath } from 'node:url';
import { planNative } from './dataflow.testkit.ts';
import { buildTopology, SandboxRequiredError, windowValueCopier, type IsolationChoice, type SandboxFactory, type StepSpec } from './topology.ts';
import { nativeExecutor } from './native-executor.ts';
import { tableSpecs } from './state-tables.ts';

const SERVICES = `apiVersion: 0.5.0
meta: {name: isolation, namespace: test, version: 0.1.0}
topics:
  a: {schema: {value: {type: string}}}
  b: {schema: {value: {type: string}}}
  c: {schema: {value: {type: string}}}
services:
  trusted:
    sources: [{type: topic, id: a}]
    transforms:
      - operator: map
        isolation: native
        run: |
          function upper(w: string): string {
            return w.toUpperCase();
          }
    sinks: [{type: topic, id: b}]
  guarded:
    sources: [{type: topic, id: b}]
    transforms:
      - operator: map
        grants: [clock, random, {env: [REGION]}]
        run: |
          function stamp(w: string, ctx: Ctx): string {
            return w + ctx.now();
          }
    sinks: [{type: topic, id: c}]
`;

async function topology(isolation: IsolationChoice | undefined, withSandbox: boolean) {
  const { plan, functions: native } = await planNative(SERVICES);
  const asked: Array<{ unit: string; steps: StepSpec[] }> = [];
  // A stand-in sandbox: records what it is asked to serve (these tests never run a batch).
  const sandbox: SandboxFactory = async (op, steps) => {
    asked.push({ unit: op.id, steps });
    return nativeExecutor([]);
  };
  const functions = { ...native, ...(withSandbox ? { sandbox } : {}) };
  return { build: () => buildTopology(plan, functions, isolation ? { isolation } : {}), asked };
}

describe('runtime - where functions run', () => {
  it('runtime - by default a unit with a sandboxed step runs in the sandbox, an `isolation: native` one natively, with its grants', async () => {
    const t = await topology(undefined, true);
    await t.build();
    expect(t.asked.map((a) => a.unit)).toEqual(['guarded.stamp']);
    expect(t.asked[0]!.steps[0]!.grants).toEqual({ clock: true, random: true, env: ['REGION'] });
  });

  it('runtime - a sandboxed step with no sandbox given is an error, not a silent native run', async () => {
    const t = await topology('plan', false);
    await expect(t.build()).rejects.toThrow(SandboxRequiredError);
    await expect(t.build()).rejects.toThrow(/unit `guarded.stamp` runs sandboxed .* no WebAssembly sandbox was given/);
  });

  it('runtime - `native` trusts every function; `sandbox` sends every unit to the sandbox', async () => {
    const native = await topology('native', true);
    await native.build();
    expect(native.asked).toEqual([]);
    const all = await topology('sandbox', true);
    await all.build();
    expect(all.asked.map((a) => a.unit).sort()).toEqual(['guarded.stamp', 'trusted.upper']);
  });
});

const TYPED = `apiVersion: 0.5.0
meta: {name: typed, namespace: test, version: 0.1.0}
types:
  reading: {type: object, properties: {sensor: {type: string}, value: {type: f64}}}
topics:
  readings: {schema: {key: {type: string, converter: raw}, value: {type: reading}}}
  totals: {schema: {value: {type: f64}}}
services:
  sum:
    sources: [{type: topic, id: readings}]
    states:
      total: {type: keyed-state, properties: {key: {type: string}, value: {type: f64}}}
    transforms:
      - operator: map
        isolation: native
        run: |
          function valueOf(r: Reading): number {
            return r.value;
          }
    sinks: [{type: topic, id: totals}]
`;

describe('runtime - the plan runs by itself', () => {
  it('runtime - codecs and state tables come from the plan document alone (v2), through JSON and back', async () => {
    const { dataflow } = parseServicesFile(TYPED, '/nowhere/services.yaml');
    const { plan, diagnostics } = planDataflow(dataflow, { partitions: 2 });
    if (!plan) throw new Error(diagnostics.map((d) => d.message).join('\n'));
    // What an operator has: the document as stored, and functions that do not come from a file.
    const stored = JSON.parse(JSON.stringify(plan)) as typeof plan;
    const asked: string[] = [];
    const topology = await buildTopology(stored, { native: async (ps) => (asked.push(ps.id), { fn: (r: unknown) => (r as { value: number }).value }) }, { isolation: 'native' });
    const readings = topology.topics.get('readings')!;
    expect(readings.value.check({ sensor: 's1', value: 1.5 })).toBeUndefined();
    expect(readings.value.check({ sensor: 's1', value: 'high' })).toMatch(/value/);
    expect(readings.key.encode('s1')).toBe('s1'); // a raw key, as the file declared it
    expect(topology.topics.get('totals')!.value.check('x')).toBeDefined();
    expect(asked).toEqual(['sum.value-of']);
    expect(tableSpecs(stored)).toEqual([expect.objectContaining({ keyType: 'string', value: { kind: 'json' } })]);
  });
});

describe('runtime - a window unit copies the values its steps are given by their type', () => {
  it('runtime - also with no step before the window in its unit (the routing steps ran in the sender): q5 one process per operator', async () => {
    const { plan } = await planOrThrow(fileURLToPath(new URL('../../../examples/nexmark/q5/services.yaml', import.meta.url)), { partitions: 1, fuse: false });
    const windowUnit = plan.operators.find((op) => op.window !== undefined && op.steps.some((s) => s.operator === 'update-state'))!;
    const specs = windowUnit.steps.map((s) => ({ id: s.id, operator: s.operator }) as StepSpec);
    // The unit starts at its update-state: its timestamp and key steps end the filter's unit.
    expect(specs[0]!.operator).toBe('update-state');
    const copy = windowValueCopier(windowUnit, specs, 0, planTypeTable(plan))!;
    // Not the generic copy (`ownCopy`, field by field) every value got before.
    expect(copy).toBeDefined();
    expect(copy).not.toBe(ownCopy);
    const bid = { auction: 1, bidder: 2, price: 3, channel: 'c', url: 'u', dateTime: 4, extra: 'x' };
    const copied = copy(bid) as typeof bid;
    expect(copied).toEqual(bid);
    expect(copied).not.toBe(bid);
    expect(Object.keys(copied)).toEqual(Object.keys(bid));
    // A value not of the type's usual shape is still copied, field by field as before.
    const odd = { price: 3, auction: 1, nested: { a: [1] } };
    const oddCopy = copy(odd) as typeof odd;
    expect(oddCopy).toEqual(odd);
    expect(oddCopy.nested).not.toBe(odd.nested);
  });
});
