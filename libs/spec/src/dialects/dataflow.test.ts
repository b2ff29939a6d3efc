import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseServicesFile } from '../parse.ts';
import { HEADER_05, brief, withoutPos, yaml } from '../test-support.ts';
import { typeToString } from '../type-format.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8');
const string = { kind: 'primitive', name: 'string' } as const;

describe('Stateful DataFlow (0.4–0.6)', () => {
  test('spec - a windowed TypeScript dataflow reads into the model', () => {
    const { dataflow, diagnostics } = parseServicesFile(fixture('word-count.dataflow.yaml'), 'word-count.yaml');
    expect(diagnostics).toEqual([]);
    expect(dataflow.dialect).toBe('dataflow');
    expect(dataflow.apiVersion).toBe('0.5.0');
    expect(withoutPos(dataflow.meta)).toEqual({ name: 'word-count', namespace: 'examples', version: '0.1.0' });
    expect(dataflow.config).toEqual({
      converter: 'json',
      consumer: { defaultStartingOffset: { position: 'beginning', value: 0 } },
      producer: { batchSize: 16384, lingerMs: 5, compression: 'lz4' },
      settings: { partitions: 4, isolation: 'wasm', functionTimeoutMs: 2000, grants: ['clock'] },
    });
    expect(withoutPos(dataflow.topics.sentences)).toEqual({
      id: 'sentences',
      name: 'sentences-v1',
      value: { type: string, converter: 'raw' },
      origin: 'declared',
    });
    expect(dataflow.topics['top-words']?.producer).toEqual({ compression: 'gzip' });
    expect(typeToString(dataflow.topics['top-words']?.value.type ?? { kind: 'invalid' })).toBe('top-words');

    const service = dataflow.services['count-words'];
    if (service === undefined) throw new Error('no service');
    expect(withoutPos(service.sources)).toEqual([{ kind: 'topic', topic: 'sentences', transforms: [] }]);
    expect(withoutPos(service.states)).toEqual([
      {
        kind: 'owned',
        name: 'word-counts',
        type: { kind: 'keyed-state', key: string, value: { kind: 'arrow-row', columns: [{ name: 'count', type: 'u32' }] } },
      },
    ]);
    expect(service.transforms.map((s) => [s.operator, s.fn.name])).toEqual([['flat-map', 'splitSentence']]);
    expect(service.transforms[0]?.fn.signature).toEqual({
      params: [{ name: 'sentence', type: string }],
      returns: { kind: 'list', items: string },
    });
    expect(service.partition).toBeUndefined();

    const window = service.window;
    if (window === undefined) throw new Error('no window');
    expect([window.kind, window.durationMs, window.offsetMs, window.slideMs, window.watermark]).toEqual([
      'tumbling',
      20_000,
      0,
      undefined,
      { gracePeriodMs: 3_000, idlenessMs: 12_000 },
    ]);
    expect(window.assignTimestamp?.fn.signature?.params).toEqual([
      { name: 'word', type: string },
      { name: 'eventTime', type: { kind: 'number' } },
    ]);
    expect([window.partition?.assignKey?.fn.name, window.partition?.updateState?.fn.name]).toEqual(['byWord', 'countWord']);
    expect(window.partition?.updateState?.settings).toEqual({ functionTimeoutMs: 500 });
    expect(window.partition?.updateState?.fn.signature).toEqual({ params: [{ name: 'word', type: string }], returns: { kind: 'void' } });
    expect(window.flush?.operator).toBe('flush');
    expect(window.flush?.fn.signature).toEqual({ params: [], returns: { kind: 'list', items: { kind: 'named', name: 'WordCount' } } });
    expect(withoutPos(service.sinks)).toEqual([{ kind: 'topic', topic: 'top-words', transforms: [] }]);
  });

  test('spec - inline code keeps where the function and its code start', () => {
    const { dataflow } = parseServicesFile(fixture('word-count.dataflow.yaml'), 'word-count.yaml');
    const step = dataflow.services['count-words']?.transforms[0];
    expect(step?.pos).toEqual({ file: 'word-count.yaml', line: 67, col: 9 });
    expect(step?.fn.pos).toEqual({ file: 'word-count.yaml', line: 68, col: 14 });
    expect(step?.fn.source).toMatchObject({
      kind: 'inline',
      lang: 'typescript',
      codePos: { file: 'word-count.yaml', line: 69, col: 11 },
    });
  });

  test('spec - a Fluvio file with Rust functions has no structural errors, one diagnostic per Rust function and crate', () => {
    const { dataflow, diagnostics } = parseServicesFile(fixture('fluvio-parking.dataflow.yaml'), 'dataflow.yaml');
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.every((d) => d.code === 'rust-function')).toBe(true);
    expect(errors.map((d) => d.pos.line)).toEqual([99, 104, 119, 134, 144, 171, 177, 182, 188, 199]);
    expect(errors[0]).toEqual({
      severity: 'error',
      code: 'rust-function',
      message: 'function `permit-plate` is written in Rust; ssdk runs TypeScript functions',
      hint: 'port it to TypeScript: function permitPlate(line: string): string',
      pos: { file: 'dataflow.yaml', line: 99, col: 14 },
    });
    expect(errors.map((d) => d.hint?.replace('port it to TypeScript: ', ''))).toEqual([
      'function permitPlate(line: string): string',
      'function storePermit(line: string, ctx: Ctx): void',
      'function hasPlate(entry: EntryEvent): boolean',
      'function decide(entry: EntryEvent): GateAction',
      'function rekey(action: GateAction): { key: string; value: GateAction } | undefined',
      'function entryTime(entry: EntryEvent, eventTime: number): number',
      'function byLevel(entry: EntryEvent): string',
      'function countCar(entry: EntryEvent, ctx: Ctx): void',
      'function loads(ctx: Ctx): LevelLoads',
      'function busyLevels(loads: LevelLoads): LevelLoad[]',
    ]);
    const warnings = diagnostics.filter((d) => d.severity === 'warning');
    expect(brief(warnings)).toEqual([
      'rust-dependency 129:13 dependency `chrono` of step 1 of `transforms` of service `check-entries` is a Rust crate',
      'rust-dependency 131:13 dependency `garage-rules` of step 1 of `transforms` of service `check-entries` is a Rust crate',
    ]);
    expect(errors).toHaveLength(10);

    // The structure is all there, for `ssdk` to show what it would run once ported.
    const load = dataflow.services['level-load'];
    expect([load?.window?.kind, load?.window?.durationMs, load?.window?.slideMs]).toEqual(['sliding', 60_000, 10_000]);
    expect(load?.window?.flush?.fn).toMatchObject({ name: 'loads', source: { kind: 'inline', lang: 'rust' } });
    expect(withoutPos(dataflow.services['check-entries']?.states)).toEqual([
      { kind: 'ref', name: 'permit-table', fromService: 'record-permits', fromState: 'permit-table' },
    ]);
    expect(dataflow.services['check-entries']?.transforms[0]?.dependencies.map((d) => [d.name, d.version, d.extra])).toEqual([
      ['chrono', '0.4', {}],
      ['garage-rules', undefined, { git: 'https://example.com/garage-rules', tag: 'v1.2.0' }],
    ]);
    expect(dataflow.topics.entries?.key?.type).toMatchObject(string);
    expect(dataflow.topics.permits?.consumer).toEqual({ defaultStartingOffset: { position: 'beginning', value: 0 } });
    expect(typeToString(dataflow.types['gate-action']?.type ?? { kind: 'invalid' })).toBe('enum{open | deny(deny-reason)}');
  });

  test('spec - 0.4.0 writes states as a list of {name, ...}', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.4.0
        meta: {name: t, namespace: n, version: 0.1.0}
        services:
          counter:
            sources: [{type: topic, id: words}]
            states:
              - name: counts
                type: keyed-state
                properties: {key: {type: string}, value: {type: u32}}
              - name: other
                from: elsewhere.table
        `,
      'f.yaml',
    );
    expect(diagnostics).toEqual([]);
    expect(withoutPos(dataflow.services.counter?.states)).toEqual([
      { kind: 'owned', name: 'counts', type: { kind: 'keyed-state', key: string, value: { kind: 'primitive', name: 'u32' } } },
      { kind: 'ref', name: 'other', fromService: 'elsewhere', fromState: 'table' },
    ]);
  });

  test('spec - 0.4.0 writes update-state as the last partition transform, and sink transforms as steps', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.4.0
        meta: {name: t, namespace: n, version: 0.1.0}
        services:
          temps:
            sources: [{type: topic, id: temps}]
            partition:
              assign-key:
                run: "function byId(t: Temp): number { return t.id }"
              transforms:
                - operator: map
                  adaptors: [http]
                  run: "function enrich(t: Temp): Temp { return t }"
                - operator: update-state
                  run: "function save(t: Temp): void {}"
            sinks:
              - type: topic
                id: out
                steps:
                  - operator: filter
                    run: "function hot(t: Temp): boolean { return t.celsius > 30 }"
          twice:
            sources: [{type: topic, id: temps}]
            partition:
              assign-key:
                run: "function byId(t: Temp): number { return t.id }"
              transforms:
                - operator: update-state
                  run: "function save(t: Temp): void {}"
              update-state:
                run: "function saveAgain(t: Temp): void {}"
        `,
      'f.yaml',
    );
    const partition = dataflow.services.temps?.partition;
    expect([partition?.transforms.map((s) => s.fn.name), partition?.updateState?.fn.name]).toEqual([['enrich'], 'save']);
    expect(dataflow.services.temps?.sinks[0]?.transforms.map((s) => s.fn.name)).toEqual(['hot']);
    expect(brief(diagnostics)).toEqual(['invalid-step-order 30:9 second `update-state` step in `partition` of service `twice`']);
  });

  test('spec - the documented `type: primitive` wrapper of a state value is its primitive', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      HEADER_05 +
        yaml`
        services:
          counter:
            sources: [{type: topic, id: words}]
            states:
              count-per-word:
                type: keyed-state
                properties:
                  key: {type: string}
                  value: {type: primitive, properties: {value: i32}}
        `,
      'f.yaml',
    );
    expect(diagnostics).toEqual([]);
    expect(withoutPos(dataflow.services.counter?.states[0])).toMatchObject({
      type: { kind: 'keyed-state', key: string, value: { kind: 'primitive', name: 'i32' } },
    });
  });

  test('spec - 0.6.0 schedule sources, row ttl, imports, dev, with-parameters and npm dependencies', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.6.0
        meta: {name: reports, namespace: n, version: 1.0.0-beta.1}
        imports:
          - pkg: acme/jq@0.2.0
            functions:
              - name: jq-transform
                alias: jq
            types:
              - name: invoice
        schedule:
          nightly:
            cron: "0 3 * * *"
          heartbeat:
            interval: 30s
        topics:
          reports: {schema: {value: {type: string}}}
        services:
          nightly-report:
            sources:
              - type: schedule
                id: nightly
              - type: schedule
                id: heartbeat
            states:
              seen:
                type: keyed-state
                properties:
                  key: {type: string}
                  value:
                    type: arrow-row
                    properties: {count: {type: u32}}
                    ttl: 1h
            transforms:
              - operator: map
                uses: jq
                with:
                  filter: .body
                  limit: 10
              - operator: map
                dependencies:
                  - name: date-fns
                    version: ^3.6.0
                run: |
                  function format(report: string): string { return report }
            sinks: [{type: topic, id: reports}]
        dev:
          imports:
            - pkg: acme/jq@0.2.0
              path: ../packages/jq
          topics:
            reports: {name: reports-dev, schema: {value: {type: string}}}
        `,
      'f.yaml',
    );
    expect(diagnostics).toEqual([]);
    const service = dataflow.services['nightly-report'];
    expect(withoutPos(service?.sources)).toEqual([
      { kind: 'schedule', name: 'nightly', cron: '0 3 * * *', transforms: [] },
      { kind: 'schedule', name: 'heartbeat', intervalMs: 30_000, transforms: [] },
    ]);
    expect(service?.states[0]).toMatchObject({ kind: 'owned', name: 'seen', ttlMs: 3_600_000 });
    expect(service?.transforms[0]).toMatchObject({ fn: { name: 'jq', source: { kind: 'uses', ref: 'jq' } }, params: { filter: '.body', limit: '10' } });
    expect(withoutPos(service?.transforms[1]?.dependencies)).toEqual([{ name: 'date-fns', version: '^3.6.0' }]);
    expect(withoutPos(dataflow.imports)).toEqual([
      { pkg: 'acme/jq@0.2.0', functions: [{ name: 'jq-transform', alias: 'jq' }], types: [{ name: 'invoice' }], states: [] },
    ]);
    expect(withoutPos(dataflow.dev)).toEqual({
      imports: [{ pkg: 'acme/jq@0.2.0', path: '../packages/jq', functions: [], types: [], states: [] }],
      topics: { reports: { id: 'reports', name: 'reports-dev', value: { type: string, converter: 'json' }, origin: 'dev' } },
    });
  });

  test('spec - misplaced and misspelt parts of a service are each reported, at once', () => {
    const { diagnostics } = parseServicesFile(
      HEADER_05 +
        yaml`
        schedule:
          nightly: {cron: "0 3 * * *"}
        services:
          broken:
            sourcse:
              - type: kafka
                id: words
            transforms:
              steps: []
            partition:
              assign-key:
                operator: map
                run: "function k(w: string): string { return w }"
            window:
              sliding: {duration: 10s, slide: 1m}
          wrong-steps:
            sources: [{type: topic, id: words}]
            transforms:
              - operator: assign-key
                run: "function k(w: string): string { return w }"
              - operator: flatmap
                run: "function f(w: string): string[] { return [w] }"
              - operator: map
                rnu: "function m(w: string): string { return w }"
              - operator: map
                run: "const m = (w: string) => w"
              - operator: map
                run: "function m(w: string): string { return w }"
                uses: other
              - operator: map
                run: "function m(w: string): string { return w }"
                partitions: 0
                grants: [http, files]
                function-timeout: soon
        `,
      'f.yaml',
    );
    expect(brief(diagnostics)).toEqual([
      'unsupported-key 6:1 `schedule` needs apiVersion 0.6.0 or later, this file has 0.5.0',
      'unknown-key 10:5 unknown key `sourcse` in service `broken`',
      'invalid-type 14:7 `transforms` of service `broken` must be a list, found a mapping',
      'operator-not-allowed 17:19 `partition.assign-key` of service `broken` must be an `assign-key` step, found operator `map`',
      'conflicting-keys 19:5 service `broken` has both `partition` and `window`',
      'invalid-value 20:39 invalid value `1m` for `slide` in `window.sliding` of service `broken`',
      'operator-not-allowed 24:19 operator `assign-key` is not allowed in step 1 of `transforms` of service `wrong-steps`',
      'unknown-operator 26:19 unknown operator `flatmap` in step 2 of `transforms` of service `wrong-steps`',
      'unknown-key 29:9 unknown key `rnu` in step 3 of `transforms` of service `wrong-steps`',
      'invalid-function 31:14 no function declaration in the `run` code of step 4 of `transforms` of service `wrong-steps`',
      'conflicting-keys 34:9 step 5 of `transforms` of service `wrong-steps` has both `run` and `uses`',
      'invalid-value 37:21 invalid value `0` for `partitions` in step 6 of `transforms` of service `wrong-steps`',
      'invalid-value 38:24 invalid value `files` for item 2 of `grants` in step 6 of `transforms` of service `wrong-steps`',
      'invalid-duration 39:27 invalid duration `soon` for `function-timeout` in step 6 of `transforms` of service `wrong-steps`',
    ]);
    const hints = Object.fromEntries(diagnostics.map((d) => [`${d.pos.line}`, d.hint]));
    expect(hints['10']).toBe('did you mean `sources`?');
    expect(hints['14']).toBe(
      "from apiVersion 0.4.0 `transforms` is a list of steps; a window is the service's `window:` and keyed steps go under `partition:`",
    );
    expect(hints['24']).toBe('only `filter`, `map`, `filter-map` and `flat-map` run here; keyed steps go under `partition` (or `window`)');
    expect(hints['26']).toBe('did you mean `flat-map`?');
    expect(hints['29']).toBe('did you mean `run`?');
    expect(hints['37']).toBe('partitions must be a whole number from 1 to 1024');
    expect(hints['38']).toBe('grants are `clock`, `random`, `http`, `{http: [HOST, ...]}` and `{env: [NAME, ...]}`');
    expect(hints['39']).toBe(
      'write a number with a unit, such as `500ms`, `20s`, `5m`, `1h` or `1m30s` (a plain number means milliseconds)',
    );
  });

  test('spec - a join reads as `table: {table, stream, ttl}` or `interval: {left, right, lower?, upper, until?}`; a second kind, a missing key or a window beside it is reported where it is', () => {
    const service = (join: string, extra = '') =>
      HEADER_05 +
      yaml`
        services:
          joined:
            sources: [{type: topic, id: events}]
            join:
              ${join}
              assign-key:
                run: "function k(e: Event): number { return 1 }"
              transforms:
                - operator: map
                  run: "function f(j: Pair): string { return '' }"
            ${extra}
        `;
    const table = parseServicesFile(service('table: {table: person, stream: auction, ttl: 10m}'), 'f.yaml');
    expect(brief(table.diagnostics)).toEqual([]);
    expect(table.dataflow.services['joined']?.join).toMatchObject({ kind: 'table', left: 'person', right: 'auction', ttlMs: 600_000, watermark: { gracePeriodMs: 0 }, transforms: [{ operator: 'map' }], assignKey: { operator: 'assign-key' } });
    const interval = parseServicesFile(service('interval: {left: auction, right: bid, upper: 1h, until: expires}'), 'f.yaml');
    expect(interval.dataflow.services['joined']?.join).toMatchObject({ kind: 'interval', left: 'auction', right: 'bid', lowerMs: 0, upperMs: 3_600_000, until: 'expires' });
    expect(brief(parseServicesFile(service('table: {table: person, stream: auction}'), 'f.yaml').diagnostics)).toEqual(['missing-key 10:14 missing key `ttl` in `join.table` of service `joined`']);
    expect(brief(parseServicesFile(service('table: {table: a, stream: b, ttl: 1s}\n              interval: {left: a, right: b, upper: 1s}'), 'f.yaml').diagnostics)).toEqual([
      'conflicting-keys 11:7 `join` of service `joined` has both `table` and `interval`',
    ]);
    expect(brief(parseServicesFile(service('table: {table: a, stream: b, ttl: 1s}', 'window: {tumbling: {duration: 1s}}'), 'f.yaml').diagnostics)).toEqual([
      'conflicting-keys 9:5 service `joined` has both `join` and `window`',
    ]);
  });

  test('spec - a session window reads as `session: {gap}`; a gap that is missing or not positive, or a second kind, is reported where it is', () => {
    const service = (window: string) =>
      HEADER_05 +
      yaml`
        services:
          sessions:
            sources: [{type: topic, id: words}]
            window:
              ${window}
              flush:
                run: "function f(ctx: Ctx): string { return '' }"
        `;
    const ok = parseServicesFile(service('session: {gap: 10s}'), 'f.yaml');
    expect(brief(ok.diagnostics)).toEqual([]);
    expect(ok.dataflow.services['sessions']?.window).toMatchObject({ kind: 'session', gapMs: 10_000, durationMs: 10_000, watermark: { gracePeriodMs: 0 } });
    expect(ok.dataflow.services['sessions']?.window).not.toHaveProperty('slideMs');
    expect(brief(parseServicesFile(service('session: {gap: 0s}'), 'f.yaml').diagnostics)).toEqual(['invalid-value 10:22 invalid value `0s` for `gap` in `window.session` of service `sessions`']);
    expect(brief(parseServicesFile(service('session: {}'), 'f.yaml').diagnostics)).toEqual(['missing-key 10:16 missing key `gap` in `window.session` of service `sessions`']);
    expect(brief(parseServicesFile(service('session: {gap: 10s}\n              tumbling: {duration: 10s}'), 'f.yaml').diagnostics)).toEqual([
      'conflicting-keys 10:7 `window` of service `sessions` has both `tumbling` and `session`',
    ]);
  });

  test('spec - a source of an unknown kind or an undeclared schedule is reported with what exists', () => {
    const { diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.6.0
        meta: {name: t, namespace: n, version: 0.1.0}
        schedule:
          nightly: {cron: "0 3 * * *"}
          hourly: {cron: "every hour"}
        services:
          s:
            sources:
              - type: topics
                id: words
              - type: schedule
                id: nigthly
        `,
      'f.yaml',
    );
    expect(diagnostics.map((d) => [d.code, `${d.pos.line}:${d.pos.col}`, d.message, d.hint])).toEqual([
      [
        'invalid-value',
        '5:18',
        'invalid value `every hour` for `cron` in schedule `hourly`',
        'a cron expression has five fields: minute hour day-of-month month day-of-week (six or seven with seconds first and a year last)',
      ],
      ['invalid-value', '9:15', 'invalid value `topics` for `type` in source 1 of service `s`', 'did you mean `topic`?'],
      [
        'unknown-schedule',
        '12:13',
        'source 2 of service `s` names schedule `nigthly`, which `schedule` does not declare',
        'did you mean `nightly`?',
      ],
    ]);
  });
});
