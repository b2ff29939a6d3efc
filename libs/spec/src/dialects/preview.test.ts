import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseServicesFile } from '../parse.ts';
import { brief, withoutPos, yaml } from '../test-support.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8');
const string = { kind: 'primitive', name: 'string' } as const;
const u32 = { kind: 'primitive', name: 'u32' } as const;

describe('Stateful Services preview (0.1–0.3)', () => {
  test('spec - 0.1.0 names (group-by, process, aggregate) and key-value states normalise to the model', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.1.0
        meta: {name: wordcount-window, namespace: my-org, version: 0.1.0}
        topics:
          sentence: {schema: {value: {type: string, converter: raw}}}
          top-words: {schema: {value: {type: list, items: {type: string}}}}
        services:
          word-window:
            source:
              type: topic
              id: sentence
            transforms:
              window:
                tumbling: {duration: 20s}
              states:
                count-per-word:
                  type: key-value
                  properties:
                    key: {type: string}
                    value: {type: u32}
              steps:
                - operator: flat-map
                  run: "function split(s: string): string[] { return s.split(' ') }"
                - operator: assign-timestamp
                  run: "function stamp(w: string, eventTime: number): number { return eventTime }"
                - operator: group-by
                  run: "function byWord(w: string): string { return w }"
                - operator: process
                  run: "function count(w: string, ctx: Ctx): void { ctx.state('count-per-word').increment() }"
              flush:
                operator: aggregate
                run: "function top(entries: CountPerWord, ctx: Ctx): string[] { return [] }"
            sink:
              type: topic
              id: top-words
        `,
      'services.yaml',
    );
    expect(diagnostics).toEqual([]);
    expect(dataflow.dialect).toBe('preview');
    const service = dataflow.services['word-window'];
    expect(withoutPos(service?.sources)).toEqual([{ kind: 'topic', topic: 'sentence', transforms: [] }]);
    expect(withoutPos(service?.sinks)).toEqual([{ kind: 'topic', topic: 'top-words', transforms: [] }]);
    expect(withoutPos(service?.states)).toEqual([
      { kind: 'owned', name: 'count-per-word', type: { kind: 'keyed-state', key: string, value: u32 } },
    ]);
    expect(service?.transforms.map((s) => s.fn.name)).toEqual(['split']);
    expect(service?.partition).toBeUndefined();
    const window = service?.window;
    expect([window?.kind, window?.durationMs]).toEqual(['tumbling', 20_000]);
    expect(window?.assignTimestamp?.fn.name).toBe('stamp');
    expect(window?.transforms).toEqual([]);
    expect([window?.partition?.assignKey?.operator, window?.partition?.assignKey?.fn.name]).toEqual(['assign-key', 'byWord']);
    expect([window?.partition?.updateState?.operator, window?.partition?.updateState?.fn.name]).toEqual(['update-state', 'count']);
    expect([window?.flush?.operator, window?.flush?.fn.name]).toEqual(['flush', 'top']);
    expect(window?.flush?.fn.signature?.params).toEqual([{ name: 'entries', type: { kind: 'named', name: 'CountPerWord' } }]);
  });

  test('spec - steps after assign-key run partitioned; states may be a list with references', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.3.0
        meta: {name: t, namespace: n, version: 0.1.0}
        services:
          counter:
            sources:
              - type: topic
                id: requests
                steps:
                  - operator: filter
                    run: "function valid(r: Req): boolean { return true }"
            states:
              - name: per-model
                type: keyed-state
                properties: {key: {type: string}, value: {type: u32}}
              - from: other.table
              - name: renamed
                from: other.table2
            transforms:
              steps:
                - operator: map
                  run: "function parse(r: Req): Chat { return r }"
                - operator: assign-key
                  run: "function byModel(c: Chat): string { return c.model }"
                - operator: map
                  adaptors: [http]
                  run: "function ask(c: Chat, ctx: Ctx): Answer { return c }"
            sinks:
              - type: topic
                id: answers
                steps:
                  - operator: map
                    run: "function shorten(a: Answer): Answer { return a }"
        `,
      'services.yaml',
    );
    expect(diagnostics).toEqual([]);
    const service = dataflow.services.counter;
    expect(service?.sources[0]?.transforms.map((s) => s.fn.name)).toEqual(['valid']);
    expect(service?.sinks[0]?.transforms.map((s) => s.fn.name)).toEqual(['shorten']);
    expect(service?.transforms.map((s) => s.fn.name)).toEqual(['parse']);
    expect(service?.partition?.assignKey?.fn.name).toBe('byModel');
    expect(service?.partition?.transforms.map((s) => [s.fn.name, s.settings])).toEqual([['ask', { grants: ['http'], http: ['*'] }]]);
    expect(service?.partition?.updateState).toBeUndefined();
    expect(withoutPos(service?.states.slice(1))).toEqual([
      { kind: 'ref', name: 'table', fromService: 'other', fromState: 'table' },
      { kind: 'ref', name: 'renamed', fromService: 'other', fromState: 'table2' },
    ]);
  });

  test('spec - 0.2.0 transforms as a plain list, keyed steps included', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.2.0
        meta: {name: t, namespace: n, version: 0.1.0}
        services:
          temps:
            source: {type: topic, id: temps}
            states:
              - name: rows
                type: keyed-state
                properties:
                  key: {type: string}
                  value: {type: arrow-row, properties: {celsius: {type: f32}}}
            transforms:
              - operator: assign-key
                run: "function bySensor(t: Temp): string { return t.id }"
              - operator: update-state
                run: "function store(t: Temp, ctx: Ctx): void {}"
        `,
      'services.yaml',
    );
    expect(diagnostics).toEqual([]);
    const partition = dataflow.services.temps?.partition;
    expect([partition?.assignKey?.fn.name, partition?.updateState?.fn.name, partition?.transforms]).toEqual(['bySensor', 'store', []]);
    expect(dataflow.services.temps?.sinks).toEqual([]);
  });

  test('spec - steps in an order that cannot run are reported at the step', () => {
    const { diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.3.0
        meta: {name: t, namespace: n, version: 0.1.0}
        services:
          no-key:
            sources: [{type: topic, id: a}]
            transforms:
              - operator: update-state
                run: "function u(x: X): void {}"
              - operator: assign-timestamp
                run: "function t(x: X, e: number): number { return e }"
          after-update:
            source: {type: topic, id: a}
            sources: [{type: topic, id: b}]
            transforms:
              steps:
                - operator: assign-key
                  run: "function k(x: X): string { return '' }"
                - operator: update-state
                  run: "function u(x: X): void {}"
                - operator: map
                  run: "function m(x: X): X { return x }"
                - operator: group-by
                  run: "function k2(x: X): string { return '' }"
              flush:
                operator: aggregate
                run: "function f(): X[] { return [] }"
        `,
      'services.yaml',
    );
    expect(brief(diagnostics)).toEqual([
      'invalid-step-order 7:9 `update-state` step in service `no-key` needs an `assign-key` step before it',
      'invalid-step-order 9:9 `assign-timestamp` step in service `no-key` needs a window',
      'conflicting-keys 13:5 service `after-update` has both `source` and `sources`',
      'invalid-step-order 20:11 `map` step after `update-state` in service `after-update`',
      'invalid-step-order 22:11 second `assign-key` step in service `after-update`',
      'invalid-step-order 25:9 `transforms.flush` of service `after-update` needs a window',
    ]);
    expect(diagnostics[3]?.hint).toBe('`update-state` ends the keyed part of a service; move this step before it');
  });

  test('spec - a preview file with Rust functions: only its Rust functions are reported', () => {
    const { dataflow, diagnostics } = parseServicesFile(fixture('fluvio-preview.services.yaml'), 'services.yaml');
    expect(diagnostics.every((d) => d.code === 'rust-function')).toBe(true);
    expect(diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.hint ?? ''}`)).toEqual([
      '70:16 port it to TypeScript: function isFast(ping: Ping): boolean',
      '79:18 port it to TypeScript: function tag(ping: Ping): Ping',
      '102:16 port it to TypeScript: function pingTime(ping: Ping, eventTime: number): number',
      '107:16 port it to TypeScript: function byDepot(ping: Ping): string',
      '112:16 port it to TypeScript: function countTruck(ping: Ping, ctx: Ctx): void',
      '119:14 port it to TypeScript: function depotCounts(ctx: Ctx): DepotCounts',
      '137:16 port it to TypeScript: function depotLoad(depot: string): string',
    ]);
    expect(dataflow.topics.plates?.value.converter).toBe('raw');
    expect(dataflow.topics.plates?.consumer).toEqual({ defaultStartingOffset: { position: 'beginning', value: 0 } });
    expect(dataflow.services.speeding?.transforms[0]?.settings).toEqual({ grants: ['http'], http: ['*'] });
    expect(dataflow.services['per-depot']?.window?.partition?.updateState?.fn.name).toBe('count_truck');
    expect(withoutPos(dataflow.services.lookup?.states)).toEqual([
      { kind: 'ref', name: 'trucks-per-depot', fromService: 'per-depot', fromState: 'trucks-per-depot' },
    ]);
  });

  test('spec - a starting offset the preview ignored only warns when it is wrong', () => {
    const { diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.3.0
        meta: {name: t, namespace: n, version: 0.1.0}
        topics:
          plates:
            default_starting_offset: {value: 0ex, position: Beginning}
            schema: {value: {type: string}}
        services:
          s: {sources: [{type: topic, id: plates}]}
        `,
      'services.yaml',
    );
    expect(diagnostics.map((d) => [d.severity, d.code, `${d.pos.line}:${d.pos.col}`, d.message])).toEqual([
      ['warning', 'invalid-value', '5:38', 'invalid value `0ex` for `value` in `default_starting_offset` of topic `plates`'],
    ]);
  });
});
