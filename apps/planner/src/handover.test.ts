import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseServicesFile } from '@ssdk/spec';
import { planDataflow, type PhysicalPlan } from '@ssdk/plan';
import { readsThatDoNotCarryOver, unitsUpstreamOf } from './handover.ts';

const FILE = new URL('../../../examples/word-count/services.yaml', import.meta.url).pathname;

async function planOf(edit: (text: string) => string = (t) => t): Promise<PhysicalPlan> {
  const parsed = parseServicesFile(edit(await readFile(FILE, 'utf8')), FILE);
  return planDataflow(parsed.dataflow, { partitions: 1 }).plan!;
}

const withoutFilter = (text: string) => text.replace(/\n      - operator: filter\n[\s\S]*?\n\n    partition:/, '\n\n    partition:');

describe('reads between versions', () => {
  it('handover - changed code keeps every unit reading its topics: nothing to hand over', async () => {
    expect(readsThatDoNotCarryOver(await planOf(), await planOf((t) => t.replace('word.length >= 3', 'word.length >= 4')))).toEqual([]);
  });

  it('handover - a step removed drops one internal topic and gives another a new reader', async () => {
    const handovers = readsThatDoNotCarryOver(await planOf(), await planOf(withoutFilter));
    expect(handovers.map((h) => ({ topic: h.topic.id, reader: h.reader, newReaders: h.newReaders }))).toEqual([
      { topic: 'count-words.split-sentence.out', reader: 'count-words.is-countable', newReaders: ['count-words.add-to-total'] },
      { topic: 'count-words.is-countable.out', reader: 'count-words.add-to-total', newReaders: [] },
    ]);
  });

  it('handover - the units upstream of a topic are its writers and theirs, up to the sources', async () => {
    const plan = await planOf();
    expect(unitsUpstreamOf(plan, 'count-words.is-countable.out')).toEqual(['count-words.is-countable', 'count-words.split-sentence']);
    expect(unitsUpstreamOf(plan, 'top-words.use-record-time.out')).toEqual(['top-words.use-record-time', 'count-words.add-to-total', 'count-words.is-countable', 'count-words.split-sentence']);
  });
});
