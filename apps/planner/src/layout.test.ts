import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadServicesFile, parseServicesFile } from '@ssdk/spec';
import { planDataflow, type PhysicalPlan } from '@ssdk/plan';
import { layoutChanges, layoutFingerprint, stateLayout } from './layout.ts';

const FILE = new URL('../../../examples/word-count/services.yaml', import.meta.url).pathname;

async function planOf(edit: (text: string) => string = (t) => t, partitions = 1): Promise<PhysicalPlan> {
  const text = edit(await readFile(FILE, 'utf8'));
  const parsed = parseServicesFile(text, FILE);
  expect(parsed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const planned = planDataflow(parsed.dataflow, { partitions });
  expect(planned.plan).toBeDefined();
  return planned.plan!;
}

describe('state layout', () => {
  it('layout - the same file has the same fingerprint, and a code change keeps it', async () => {
    const base = await planOf();
    const loaded = await loadServicesFile(FILE);
    expect(layoutFingerprint(stateLayout(planDataflow(loaded.dataflow, { partitions: 1 }).plan!))).toBe(layoutFingerprint(stateLayout(base)));
    const recoded = await planOf((t) => t.replace('word.length >= 3', 'word.length >= 4'));
    expect(recoded.hash).not.toBe(base.hash);
    expect(layoutFingerprint(stateLayout(recoded))).toBe(layoutFingerprint(stateLayout(base)));
    expect(layoutChanges(stateLayout(base), stateLayout(recoded))).toEqual({ breaking: [], compatible: [] });
  });

  it('layout - a changed state value type is breaking, named by state and types', async () => {
    const base = stateLayout(await planOf());
    const changed = stateLayout(await planOf((t) => t.replace(/(word-totals:\n\s+type: keyed-state\n\s+properties:\n\s+key:\n\s+type: string\n\s+value:\n\s+type: )u32/, '$1u64')));
    expect(layoutFingerprint(changed)).not.toBe(layoutFingerprint(base));
    expect(layoutChanges(base, changed).breaking).toEqual(['state `count-words/word-totals`: value type u32 → u64']);
  });

  it('layout - other partitions break every topic; a window change breaks its state', async () => {
    const base = stateLayout(await planOf());
    const wider = layoutChanges(base, stateLayout(await planOf(undefined, 4)));
    expect(wider.breaking).toContain('topic `words`: 1 → 4 partitions');
    const window = layoutChanges(base, stateLayout(await planOf((t) => t.replace('duration: 20s', 'duration: 30s'))));
    expect(window.breaking).toEqual(['state `top-words/window-counts`: window tumbling 20000 ms → tumbling 30000 ms']);
  });

  it('layout - a new state is compatible; a removed one is breaking', async () => {
    const base = await planOf();
    expect(base.states.map((s) => s.name)).toEqual(['word-totals', 'window-counts']);
    const layout = stateLayout(base);
    const added = { ...layout, states: { ...layout.states, 'count-words/extra': { ...layout.states['count-words/word-totals']!, table: 'count_words_extra' } } };
    expect(layoutChanges(layout, added)).toEqual({ breaking: [], compatible: ['new state `count-words/extra`'] });
    expect(layoutChanges(added, layout).breaking).toEqual(['state `count-words/extra` is gone (its table count_words_extra would be orphaned)']);
  });
});
