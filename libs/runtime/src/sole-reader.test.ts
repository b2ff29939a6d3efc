import { describe, expect, it } from 'vitest';
import { parseServicesFile } from '@ssdk/spec';
import { planDataflow, planOrThrow, type PhysicalPlan } from '@ssdk/plan';
import { soleReaderDecisions } from './sole-reader.ts';

const example = (name: string) => new URL(`../../../examples/${name}/services.yaml`, import.meta.url).pathname;

const planOf = (yaml: string, partitions = 1): PhysicalPlan => {
  const { dataflow } = parseServicesFile(yaml, '/nowhere/services.yaml');
  const { plan, diagnostics } = planDataflow(dataflow, { partitions, fuse: true });
  if (diagnostics.some((d) => d.severity === 'error')) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  if (!plan) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return plan;
};

/** A keyed counter reading `input` (writing `sink` when given). */
const counter = (input: string, name = 'counter', sink?: string) => `
  ${name}:
    sources: [{type: topic, id: ${input}}]
    states:
      ${name}-seen:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: u32}
    partition:
      assign-key:
        run: |
          function k(v: string): string { return v; }
      update-state:
        run: |
          function up(v: string, ctx: Ctx): void { ctx.state('${name}-seen').increment(); }
${sink ? `    sinks: [{type: topic, id: ${sink}}]\n` : ''}`;

const TOPICS = `apiVersion: 0.5.0
meta: {name: sole, namespace: test, version: 0.1.0}
topics:
  a: {schema: {value: {type: string}}}
  b: {schema: {value: {type: string}}}
  c: {schema: {value: {type: string}}}
services:
`;

/** A stateless chain without branches, writing `b`. */
const plain = `
  plain:
    sources: [{type: topic, id: a}]
    transforms:
      - operator: map
        run: |
          function up(v: string): string { return v.toUpperCase(); }
    sinks: [{type: topic, id: b}]
`;

const router = `
  router:
    sources: [{type: topic, id: a}]
    transforms:
      - operator: map
        run: |
          function up(v: string): string { return v.toUpperCase(); }
    sinks:
      - type: topic
        id: b
        transforms:
          - operator: filter
            run: |
              function long(v: string): boolean { return v.length > 3; }
      - type: topic
        id: c
`;

describe('runtime - a sole reader in its writer unit: the decision per pair (issue 15)', () => {
  it('sole reader - car-sensors: speeding-counter after route-readings\' speeding branch is the one pair', async () => {
    const { plan } = await planOrThrow(example('car-sensors'), { partitions: 1, fuse: true });
    expect(soleReaderDecisions(plan)).toEqual([
      expect.objectContaining({ reader: 'route-readings.is-valid-reading', refused: expect.stringContaining('source') }),
      { reader: 'speeding-counter.key-by-car', topic: 'speeding-events', writer: 'route-readings.is-valid-reading', route: 0, mergeable: 'branch-tail' },
      expect.objectContaining({ reader: 'speed-window.is-valid-reading', refused: expect.stringContaining('source') }),
    ]);
  });

  it('sole reader - word count: top-words is a window after count-words\' chain, so it runs in its writer\'s unit', async () => {
    const { plan } = await planOrThrow(example('word-count'), { partitions: 1, fuse: true });
    const top = soleReaderDecisions(plan).find((d) => d.reader.startsWith('top-words'));
    expect(top).toEqual({ reader: expect.stringMatching(/^top-words/), topic: 'words', writer: 'count-words.split-sentence', mergeable: 'window-after-chain' });
  });

  it('sole reader - a branch with the counter after it merges; two partitions, a second reader, a writer without branches do not', () => {
    const plan = planOf(TOPICS + router + counter('b'));
    const pair = soleReaderDecisions(plan).find((d) => d.reader.startsWith('counter'));
    expect(pair).toMatchObject({ topic: 'b', writer: expect.stringMatching(/^router/), mergeable: 'branch-tail' });
    // The route is the writer's branch that writes b, in the plan's order of branches.
    expect(plan.operators.find((o) => o.id === pair?.writer)?.branches?.[pair!.route!]?.outputs).toEqual(['b']);

    const twoParts = soleReaderDecisions(planOf(TOPICS + router + counter('b'), 2));
    expect(twoParts.find((d) => d.reader.startsWith('counter'))).toMatchObject({ refused: expect.stringContaining('partition') });

    const secondReader = TOPICS + router + counter('b') + counter('b', 'other');
    for (const d of soleReaderDecisions(planOf(secondReader)).filter((x) => x.topic === 'b')) expect(d).toMatchObject({ refused: expect.stringContaining('2 readers') });

    const noBranch = soleReaderDecisions(planOf(TOPICS + plain + counter('b')));
    expect(noBranch.find((d) => d.reader.startsWith('counter'))).toMatchObject({ writer: expect.stringMatching(/^plain/), refused: expect.stringContaining('no branches') });
  });

  it('sole reader - a window after a chain that writes state merges, with an idleness timeout too; a session, an output another unit reads or a writer without state does not', () => {
    const tally = counter('a', 'tally', 'b');
    const win = (o: { idle?: boolean; session?: boolean } = {}) => `
  win:
    sources: [{type: topic, id: b}]
    states:
      per-window:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: u32}
    window:
      ${o.session ? 'session: {gap: 5s}' : 'tumbling: {duration: 10s}'}
      watermark:
        grace-period: 1s${o.idle ? '\n        idleness: 5s' : ''}
      assign-timestamp:
        run: |
          function t(v: string, eventTime: number): number { return eventTime; }
      partition:
        assign-key:
          run: |
            function k(v: string): string { return v; }
        update-state:
          run: |
            function up(v: string, ctx: Ctx): void { ctx.state('per-window').increment(); }
      flush:
        run: |
          function f(ctx: Ctx): string { return 'x'; }
    sinks: [{type: topic, id: c}]
`;
    const decision = (yaml: string) => soleReaderDecisions(planOf(yaml)).find((d) => d.reader.startsWith('win'));
    expect(decision(TOPICS + tally + win())).toMatchObject({ writer: expect.stringMatching(/^tally/), mergeable: 'window-after-chain' });
    expect(decision(TOPICS + tally + win({ idle: true }))).toMatchObject({ mergeable: 'window-after-chain' });
    expect(decision(TOPICS + tally + win({ session: true }))).toMatchObject({ refused: expect.stringContaining('session') });
    expect(decision(TOPICS + tally + win() + counter('c'))).toMatchObject({ refused: expect.stringContaining('reads its outputs') });
    expect(decision(TOPICS + plain + win())).toMatchObject({ writer: expect.stringMatching(/^plain/), refused: expect.stringContaining('writes no state') });
  });
});
