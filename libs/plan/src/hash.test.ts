import { describe, expect, it } from 'vitest';
import type { Dataflow } from '@ssdk/spec';
import { canonicalJson, planHash } from './hash.ts';
import { planDataflow } from './physical/plan.ts';
import { modelBuilder, wordCount } from './testing.ts';

function hashOf(df: Dataflow, options: Parameters<typeof planDataflow>[1] = {}): string {
  const plan = planDataflow(df, options).plan;
  if (!plan) throw new Error('no plan');
  return plan.hash;
}

describe('plan hash', () => {
  it('plan - canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  it('plan - the hash is the sha256 of the document without its hash', () => {
    const plan = planDataflow(wordCount()).plan;
    expect(plan?.hash).toMatch(/^[0-9a-f]{64}$/);
    if (plan) expect(planHash(plan)).toBe(plan.hash);
  });

  it('plan - the hash is stable across builds, files and positions', () => {
    const first = hashOf(wordCount());
    expect(hashOf(wordCount())).toBe(first);
    expect(hashOf(wordCount(modelBuilder({ file: 'elsewhere/dataflow.yaml', firstLine: 500 })))).toBe(first);
  });

  it('plan - the hash changes with a window duration', () => {
    expect(hashOf(wordCount(modelBuilder(), { durationMs: 30_000 }))).not.toBe(hashOf(wordCount()));
  });

  it('plan - the hash changes with a step, its code, a type, or the options', () => {
    const base = hashOf(wordCount());
    const renamed = wordCount();
    const step = renamed.services['word-stats']?.transforms[0];
    if (step) step.fn.name = 'summarise';
    expect(hashOf(renamed)).not.toBe(base);

    const recoded = wordCount();
    const src = recoded.services['word-stats']?.transforms[0]?.fn.source;
    if (src?.kind === 'inline') src.code = 'function summarize(words) { return words.join(","); }';
    expect(hashOf(recoded)).not.toBe(base);

    const retyped = wordCount();
    const wc = retyped.types['word-count'];
    if (wc?.type.kind === 'object') wc.type.properties.push({ name: 'rank', type: { kind: 'primitive', name: 'u8' }, optional: true, pos: wc.pos });
    expect(hashOf(retyped)).not.toBe(base);

    expect(hashOf(wordCount(), { partitions: 4 })).not.toBe(base);
    expect(hashOf(wordCount(), { fuse: true })).not.toBe(base);
  });
});
