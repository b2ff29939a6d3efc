import { describe, expect, it } from 'vitest';
import type { PhysicalPlan } from '../document.ts';
import { planDataflow } from '../physical/plan.ts';
import { modelBuilder, t, wordCount } from '../testing.ts';
import { renderPlanDot } from './dot.ts';
import { renderPlanMermaid } from './mermaid.ts';
import { renderPlanText } from './text.ts';

function plan(fuse = false): PhysicalPlan {
  const p = planDataflow(wordCount(), { fuse }).plan;
  if (!p) throw new Error('no plan');
  return p;
}

describe('renderers', () => {
  it('plan - text lists topics, operators with inputs and outputs, edges and states', () => {
    const text = renderPlanText(plan());
    expect(text).toMatch(/^plan examples\/word-count@0\.1\.0 \(apiVersion 0\.5\.0, dataflow\) · plan v2 · hash [0-9a-f]{12}\n/);
    expect(text).toContain('options: partitions 8, fuse off, subject prefix ssdk');
    expect(text).toContain('topics (9)');
    expect(text).toMatch(/ {2}sentences +source +value string +ssdk\.topic\.sentences\.\{partition\}/);
    expect(text).toContain('  word-count.to-lower  [fused: map → assign-timestamp → assign-key]  word-count.split-sentence.out → word-count.to-lower.out');
    expect(text).toContain('  word-count.increment-count  [window: update-state → flush]  word-count.to-lower.out (shuffle) → top-words');
    expect(text).toContain('    window: tumbling 20s, grace 2s');
    expect(text).toMatch(/word-count\.to-lower +→ +word-count\.increment-count +shuffle +via word-count\.to-lower\.out/);
    expect(text).toMatch(/count-per-word +owner word-count +table word_count_count_per_word +string → u32 +windowed/);
  });

  it('plan - text shows the steps of a fused unit', () => {
    expect(renderPlanText(plan(true))).toContain(
      '    steps: word-count.split-sentence, word-count.to-lower, word-count.event-time, word-count.key-by-word',
    );
  });

  it('plan - text shows the branches of a unit: its caption, and the steps and topics of each', () => {
    const b = modelBuilder();
    const s = t.string();
    const df = b.dataflow({
      topics: { a: s, x: s, y: s },
      services: {
        svc: {
          sources: [b.source('a')],
          transforms: [b.step('map', 'clean', [s], s)],
          sinks: [b.sink('x', [b.step('filter', 'isX', [s], t.bool())]), b.sink('y')],
        },
      },
    });
    const text = renderPlanText(planDataflow(df, { fuse: true }).plan!);
    expect(text).toContain('  svc.clean  [fused: map → [— | filter]]  a → y, x\n');
    expect(text).toContain('    branch: — → y\n    branch: svc.is-x → x\n');
  });

  it('plan - dot is a digraph with topics, clustered operators and styled edges', () => {
    const dot = renderPlanDot(plan());
    expect(dot.startsWith('digraph "examples/word-count" {\n')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    expect(dot.split('{').length).toBe(dot.split('}').length);
    expect(dot).toContain('"topic:top-words" [shape=cylinder, label="top-words\\nlist<word-count>"];');
    expect(dot).toContain('"operator:word-count.to-lower" -> "operator:word-count.increment-count" [label="shuffle", style=bold];');
    expect(dot).toContain('"operator:word-count.increment-count" -> "operator:word-stats.summarize" [label="state count-per-word", style=dashed, arrowhead=open];');
    expect(dot.match(/subgraph cluster_/g)).toHaveLength(2);
  });

  it('plan - mermaid is a flowchart with escaped labels', () => {
    const mermaid = renderPlanMermaid(plan());
    expect(mermaid.startsWith('flowchart LR\n')).toBe(true);
    expect(mermaid).toContain('[("top-words<br/>list#lt;word-count#gt;")]');
    expect(mermaid).toMatch(/o\d+ ==>\|shuffle\| o\d+/);
    expect(mermaid).toMatch(/o\d+ -\.->\|"state count-per-word"\| o\d+/);
    expect(mermaid.match(/^ {2}subgraph /gm)).toHaveLength(2);
    expect(mermaid.match(/^ {2}end$/gm)).toHaveLength(2);
  });
});
