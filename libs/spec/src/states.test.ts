import { describe, expect, it } from 'vitest';
import { parseServicesFile } from './parse.ts';

describe('spec - states', () => {
  it('spec - a state may be typed by an alias of a keyed-state type', () => {
    const text = `apiVersion: 0.1.0
meta: {name: alias, namespace: test, version: 0.1.0}
types:
  word: {type: string}
  totals:
    type: keyed-state
    properties: {key: {type: string}, value: {type: u32}}
  word-totals: {type: totals}
functions:
  by-word: {type: assign-key, inputs: [{name: word, type: word}], output: {type: string}}
  count-word: {type: update-state, inputs: [{name: word, type: word}]}
states:
  counts: {type: word-totals}
operations:
  count:
    state: {counts: []}
    source: {words: {type: word}}
    steps:
      - {operator: assign-key, uses: by-word}
      - {operator: update-state, uses: count-word}
`;
    const { dataflow, diagnostics } = parseServicesFile(text, 'alias.yaml');
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const state = dataflow.services['count']?.states[0];
    expect(state?.kind === 'owned' && state.type.kind).toBe('keyed-state');
  });
});
