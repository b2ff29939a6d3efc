import { describe, expect, test } from 'vitest';
import { parseServicesFile } from '../parse.ts';
import { brief, withoutPos, yaml } from '../test-support.ts';

const string = { kind: 'primitive', name: 'string' } as const;
const u32 = { kind: 'primitive', name: 'u32' } as const;

const SEED = yaml`
  apiVersion: 0.1.0
  meta:
    name: word-count
    namespace: examples
    version: 0.1.0
  config:
    converter: raw
  types:
    sentence: {type: string}
    word-count:
      type: object
      properties:
        word: {type: string}
        count: {type: u32}
    count-table:
      type: key-value
      properties:
        key: {type: string}
        value: {type: u32}
  functions:
    split-sentence:
      type: flat-map
      inputs:
        - name: sentence
          type: sentence
      output: {type: string, list: true}
    key-by-word:
      type: group-by
      inputs: [{name: word, type: string}]
      output: {type: string}
    count-word:
      type: update-state
      inputs: [{name: word, type: string}]
    lookup-word:
      type: filter-map
      inputs: [{name: word, type: string}]
      output: {type: word-count, optional: true}
  states:
    word-counts:
      type: count-table
      interfaces:
        increment: {}
        lookup: {}
  operations:
    count-words:
      state:
        word-counts: [increment]
      source:
        sentences: {type: sentence}
      steps:
        - operator: flat-map
          uses: split-sentence
        - uses: key-by-word
        - operator: update-state
          uses: count-word
    probe:
      state:
        word-counts: [lookup]
      source:
        words: {type: string}
        sentences: {type: sentence}
      steps:
        - operator: filter-map
          uses: lookup-word
          with: {default: 0}
      sink:
        counts: {type: word-count, converter: json}
`;

describe('seed schematic (0.1.0 with operations)', () => {
  test('spec - functions become signatures, operations become services', () => {
    const { dataflow, diagnostics } = parseServicesFile(SEED, 'services.yaml');
    expect(diagnostics).toEqual([]);
    expect(dataflow.dialect).toBe('seed');
    expect(withoutPos(dataflow.functions)).toEqual({
      'split-sentence': {
        name: 'split-sentence',
        operator: 'flat-map',
        signature: { params: [{ name: 'sentence', type: { kind: 'named', name: 'sentence' } }], returns: { kind: 'list', items: string } },
      },
      'key-by-word': { name: 'key-by-word', operator: 'assign-key', signature: { params: [{ name: 'word', type: string }], returns: string } },
      'count-word': { name: 'count-word', operator: 'update-state', signature: { params: [{ name: 'word', type: string }], returns: { kind: 'void' } } },
      'lookup-word': {
        name: 'lookup-word',
        operator: 'filter-map',
        signature: { params: [{ name: 'word', type: string }], returns: { kind: 'option', value: { kind: 'named', name: 'word-count' } } },
      },
    });

    const count = dataflow.services['count-words'];
    expect(count?.transforms.map((s) => [s.operator, s.fn.name])).toEqual([['flat-map', 'split-sentence']]);
    // A step may leave out `operator` when its function declares it.
    expect(count?.partition?.assignKey?.fn).toMatchObject({ name: 'key-by-word', source: { kind: 'uses', ref: 'key-by-word' } });
    expect(count?.partition?.assignKey?.fn.signature).toEqual(dataflow.functions['key-by-word']?.signature);
    expect(count?.partition?.updateState?.fn.name).toBe('count-word');
    expect(dataflow.services.probe?.transforms[0]?.params).toEqual({ default: '0' });
  });

  test('spec - topics named by operations exist implicitly with their type', () => {
    const { dataflow } = parseServicesFile(SEED, 'services.yaml');
    expect(withoutPos(dataflow.topics)).toEqual({
      sentences: { id: 'sentences', name: 'sentences', value: { type: { kind: 'named', name: 'sentence' }, converter: 'raw' }, origin: 'implicit' },
      words: { id: 'words', name: 'words', value: { type: string, converter: 'raw' }, origin: 'implicit' },
      counts: { id: 'counts', name: 'counts', value: { type: { kind: 'named', name: 'word-count' }, converter: 'json' }, origin: 'implicit' },
    });
    expect(withoutPos(dataflow.services.probe?.sources)).toEqual([
      { kind: 'topic', topic: 'words', transforms: [] },
      { kind: 'topic', topic: 'sentences', transforms: [] },
    ]);
    expect(dataflow.services.probe?.sinks[0]?.pos).toEqual({ file: 'services.yaml', line: 67, col: 7 });
  });

  test('spec - the operation that updates a state owns it; the others read it', () => {
    const { dataflow } = parseServicesFile(SEED, 'services.yaml');
    const keyed = { kind: 'keyed-state', key: string, value: u32 };
    expect(withoutPos(dataflow.services['count-words']?.states)).toEqual([{ kind: 'owned', name: 'word-counts', type: keyed }]);
    expect(withoutPos(dataflow.services.probe?.states)).toEqual([
      { kind: 'ref', name: 'word-counts', fromService: 'count-words', fromState: 'word-counts' },
    ]);
  });

  test('spec - an operation with a window places its steps in it, up to the aggregate that flushes it', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.1.0
        meta: {name: t, namespace: n, version: 0.1.0}
        functions:
          stamp: {type: assign-timestamp, inputs: [{name: w, type: string}, {name: at, type: i64}], output: {type: i64}}
          by-word: {type: assign-key, inputs: [{name: w, type: string}], output: {type: string}}
          top: {type: aggregate, output: {type: string, list: true}}
        operations:
          windowed:
            source: {words: {type: string}}
            window:
              sliding: {duration: 1m, slide: 15s}
              watermark: {grace-period: 5s}
            steps:
              - uses: stamp
              - uses: by-word
              - operator: map
                run: "function lower(w: string): string { return w.toLowerCase() }"
              - operator: aggregate
                uses: top
            sink: {top-words: {type: list, items: {type: string}}}
        `,
      'services.yaml',
    );
    expect(diagnostics).toEqual([]);
    const window = dataflow.services.windowed?.window;
    expect([window?.kind, window?.durationMs, window?.slideMs, window?.watermark]).toEqual(['sliding', 60_000, 15_000, { gracePeriodMs: 5_000 }]);
    expect(window?.assignTimestamp?.fn.name).toBe('stamp');
    expect(window?.partition?.assignKey?.fn.name).toBe('by-word');
    expect(window?.partition?.transforms.map((s) => s.fn.name)).toEqual(['lower']);
    expect([window?.flush?.operator, withoutPos(window?.flush?.fn.signature?.returns)]).toEqual(['flush', { kind: 'list', items: string }]);
    expect(dataflow.topics['top-words']?.value.type).toMatchObject({ kind: 'list', items: string });
  });

  test('spec - seed mistakes are reported with what the file declares', () => {
    const { diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.1.0
        meta: {name: t, namespace: n, version: 0.1.0}
        types:
          word: {type: string}
          table: {type: object, properties: {a: {type: u8}}}
        functions:
          split: {type: flatmap}
          keep: {type: filter, inputs: [{name: w, type: string}], output: {type: bool}}
        states:
          counts: {type: table}
          totals: {type: word}
        operations:
          a:
            state:
              countz: [increment]
            source:
              words: {type: word}
            steps:
              - operator: map
                uses: keep
          b:
            source:
              words: {type: u64}
            steps:
              - operator: assign-timestamp
                uses: stamp
        `,
      'services.yaml',
    );
    expect(brief(diagnostics)).toEqual([
      'unknown-operator 7:17 unknown operator `flatmap` in function `split`',
      'invalid-state-type 10:18 state `counts` has type `table`, which is not a keyed-state',
      'invalid-state-type 11:18 state `totals` has type `word`, which is not a keyed-state',
      'unknown-state 15:7 operation `a` uses state `countz`, which `states` does not declare',
      'operator-mismatch 19:19 operator `map` in step 1 of `steps` of operation `a` does not match function `keep`, declared as `filter`',
      'conflicting-topic-type 23:21 topic `words` has type `u64` in operation `b`, but type `word` in operation `a`',
      'invalid-step-order 25:9 `assign-timestamp` step in operation `b` needs a window',
    ]);
    expect(diagnostics.map((d) => d.hint)).toEqual([
      'did you mean `flat-map`?',
      'a state is `type: keyed-state` with `properties: {key: {type: ...}, value: {type: ...}}`',
      'a state is `type: keyed-state` with `properties: {key: {type: ...}, value: {type: ...}}`',
      'did you mean `counts`?',
      'use `operator: filter`, or change the function\'s `type`',
      'a topic carries one type: name the same type wherever the topic is used, or declare the topic under `topics`',
      'add a `window` with `tumbling` or `sliding` bounds',
    ]);
  });
});
