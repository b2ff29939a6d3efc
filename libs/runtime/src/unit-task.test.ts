import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryBus, type Bus } from '@ssdk/bus';
import { sourceFunctions } from './functions.ts';
import { planDataflow } from '@ssdk/plan';
import { decodeFrame, encodeFrame, encodeRecords } from '@ssdk/records';
import { parseServicesFile } from '@ssdk/spec';
import { memoryCheckpointStore } from './checkpoint.ts';
import { UnitMetrics } from './metrics.ts';
import { buildTopology } from './topology.ts';
import { runUnitTask } from './unit-task.ts';

const SERVICES = `apiVersion: 0.5.0
meta: {name: bytes, namespace: test, version: 0.1.0}
types:
  word: {type: string}
topics:
  words: {schema: {value: {type: word}}}
  shouted: {schema: {value: {type: word}}}
services:
  shout:
    sources: [{type: topic, id: words}]
    transforms:
      - operator: filter
        run: |
          function long(word: string): boolean {
            return word.length > 3;
          }
      - operator: map
        run: |
          function upper(word: string): string {
            return word.toUpperCase();
          }
    sinks: [{type: topic, id: shouted}]
`;

const text = new TextDecoder();

async function values(bus: Bus, topic: string): Promise<string[]> {
  const reader = bus.read(topic, 0);
  const out: string[] = [];
  for (const m of await reader.fetch(100, 0)) {
    const f = decodeFrame(m.data);
    if (f.kind === 'data') for (const r of f.records) out.push(text.decode(r.value));
  }
  await reader.close();
  return out;
}

describe('runtime - host loop', () => {
  it('runtime - a value that goes through a step unchanged travels as the bytes it came in; a changed one is written anew', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-unit-task-'));
    const file = join(dir, 'services.yaml');
    await writeFile(file, SERVICES);
    const { dataflow } = parseServicesFile(SERVICES, file);
    const { plan } = planDataflow(dataflow, { partitions: 1 });
    const topology = await buildTopology(plan!, { native: sourceFunctions(file, dataflow) }, { isolation: 'native' });
    const bus = createMemoryBus();
    for (const t of topology.topics.values()) await bus.ensureTopic({ name: t.name, partitions: t.partitions });
    // JSON a producer may write that JSON.stringify would not: spaces, an escape.
    const input = [' "river" ', '"fog"', '"caf\\u00e9"'];
    await bus.publish('words', 0, [{ data: encodeRecords(input.map((value) => ({ key: null, value, timestamp: 1 }))) }, { data: encodeFrame({ kind: 'end' }) }]);
    const checkpoints = memoryCheckpointStore();
    for (const unit of topology.units) {
      await runUnitTask({ unit, bus, checkpoints, metrics: new UnitMetrics(unit.id), resumeOffsets: false, signal: new AbortController().signal });
    }
    const [filter, map] = topology.units;
    expect(await values(bus, filter!.outputs[0]!.name)).toEqual([' "river" ', '"caf\\u00e9"']);
    expect(await values(bus, map!.outputs[0]!.name)).toEqual(['"RIVER"', '"CAFÉ"']);
  });
});
