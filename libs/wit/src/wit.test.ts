import { describe, expect, it } from 'vitest';
import { parseOrThrow } from '@ssdk/spec';
import { checkDataflow } from '@ssdk/plan';
import { generateWit, HOST_WIT } from './wit.ts';
import { witId } from './names.ts';

const FILE = `apiVersion: 0.5.0
meta:
  name: Parcel Tracking
  version: 1.2.0
  namespace: acme_corp
types:
  scan:
    type: object
    properties:
      parcel: {type: string}
      weight-kg: {type: f32}
      count: {type: i64}
      raw: {type: bytes}
      note: {type: string, optional: true}
      type: {type: string}
      events:
        type: list
        items:
          type: object
          type-name: scan-event
          properties:
            code: {type: string}
  status:
    type: enum
    oneOf:
      on-time: {type: null}
      delayed:
        type: object
        properties:
          minutes: {type: u32}
  color:
    type: enum
    oneOf:
      red: {type: null}
      green: {type: null}
  words:
    type: list
    items: {type: string}
topics:
  scans: {schema: {value: {type: scan}}}
  out: {schema: {value: {type: scan}}}
services:
  check-scans:
    sources: [{type: topic, id: scans}]
    transforms:
      - operator: filter
        run: |
          function heavy(s: Scan): boolean {
            return s.count > 1;
          }
    sinks: [{type: topic, id: out}]
  windowed:
    sources: [{type: topic, id: scans}]
    states:
      totals:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: u32}
    window:
      tumbling: {duration: 10s}
      assign-timestamp:
        run: |
          function t(s: Scan, e: number): number {
            return e;
          }
      partition:
        assign-key:
          run: |
            function k(s: Scan): string {
              return s.parcel;
            }
        update-state:
          run: |
            function u(s: Scan, ctx: Ctx): void {
              ctx.state('totals').increment();
            }
      flush:
        run: |
          function f(ctx: Ctx): Words {
            return [];
          }
    sinks: [{type: topic, id: out}]
`;

describe('wit - generation', () => {
  const df = parseOrThrow(FILE, 'services.yaml');
  const { graph } = checkDataflow(df);
  const wit = generateWit(df, graph);
  const text = wit.files['dataflow.wit']!;

  it('wit - the package is named from meta, versioned, with kebab-case identifiers', () => {
    expect(wit.packageName).toBe('acme-corp:parcel-tracking@1.2.0');
    expect(text).toContain('package acme-corp:parcel-tracking@1.2.0;');
    expect(wit.files['deps/ssdk-dataflow/package.wit']).toBe(HOST_WIT);
  });

  it('wit - records, variants, enums and aliases for the types; keywords escaped', () => {
    expect(text).toContain('  record scan {\n    parcel: string,\n    weight-kg: f32,\n    count: s64,\n    raw: list<u8>,\n    note: option<string>,\n    %type: string,\n    events: list<scan-event>,\n  }');
    expect(text).toContain('  record scan-event {\n    code: string,\n  }');
    expect(text).toMatch(/ {2}variant status \{\n {4}on-time,\n {4}delayed\(status-delayed\),\n {2}\}/);
    expect(text).toContain('  enum color {\n    red,\n    green,\n  }');
    expect(text).toContain('  type words = list<string>;');
  });

  it('wit - one world per service, windowed where the service flushes', () => {
    expect(wit.worlds).toEqual({ 'check-scans': 'check-scans', windowed: 'windowed' });
    expect(text).toContain('world check-scans {\n  include ssdk:dataflow/chain;\n}');
    expect(text).toContain('world windowed {\n  include ssdk:dataflow/windowed-chain;\n}');
  });

  it('wit - the host interface offers log, lookup, lookup-many, the granted capabilities and sql, and nothing else', () => {
    const funcs = [...HOST_WIT.matchAll(/^\s+([a-z-]+): func/gm)].map((m) => m[1]);
    expect(funcs).toEqual(['log', 'lookup', 'lookup-many', 'now', 'random-bytes', 'env', 'sql', 'http']);
    expect(HOST_WIT).toContain('export process: func(input: list<u8>) -> list<u8>;');
    expect(HOST_WIT).toContain('export flush: func(window-start: s64, window-end: s64, entries: list<u8>) -> list<u8>;');
  });

  it('wit - identifiers', () => {
    expect(witId('camelCaseName')).toBe('camel-case-name');
    expect(witId('snake_case 2nd')).toBe('snake-case-n2nd');
    expect(witId('map')).toBe('%map');
    expect(witId('')).toBe('unnamed');
  });
});
