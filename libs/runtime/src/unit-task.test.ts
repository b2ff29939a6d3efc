import { describe, expect, it } from 'vitest';
import { createMemoryBus, type Bus } from '@ssdk/bus';
import { decodeFrame } from '@ssdk/records';
import { nativeTopologyOf, runUnitsToEnd } from './dataflow.testkit.ts';

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
    const topology = await nativeTopologyOf(SERVICES);
    const bus = createMemoryBus();
    // JSON a producer may write that JSON.stringify would not: spaces, an escape.
    const input = [' "river" ', '"fog"', '"caf\\u00e9"'];
    await runUnitsToEnd(topology, bus, input.map((value) => ({ key: null, value, timestamp: 1 })));
    const [filter, map] = topology.units;
    expect(await values(bus, filter!.outputs[0]!.name)).toEqual([' "river" ', '"caf\\u00e9"']);
    expect(await values(bus, map!.outputs[0]!.name)).toEqual(['"RIVER"', '"CAFÉ"']);
  });
});
