import { describe, expect, test } from 'vitest';
import { formatDiagnostic, SpecError } from './diagnostics.ts';
import { parseOrThrow, parseServicesFile } from './parse.ts';
import { HEADER_05, brief, yaml } from './test-support.ts';

describe('parseServicesFile', () => {
  test('spec - an unsupported apiVersion is one error at its value, listing the supported versions', () => {
    const { dataflow, diagnostics } = parseServicesFile('# comment\napiVersion: 0.7.0\nservices:\n  sourcse: 1\n', 'f.yaml');
    expect(diagnostics).toEqual([
      {
        severity: 'error',
        code: 'unsupported-api-version',
        message: 'unsupported apiVersion `0.7.0`',
        hint: 'supported versions: `0.1.0`, `0.2.0`, `0.3.0`, `0.4.0`, `0.5.0`, `0.6.0`',
        pos: { file: 'f.yaml', line: 2, col: 13 },
      },
    ]);
    expect(dataflow.services).toEqual({});
    expect(brief(parseServicesFile('apiVersion: 0.5\n', 'f.yaml').diagnostics)).toEqual([
      'unsupported-api-version 1:13 unsupported apiVersion `0.5`',
    ]);
  });

  test('spec - a missing apiVersion is reported at the mapping that lacks it', () => {
    expect(parseServicesFile('\nmeta: {name: a}\n', 'f.yaml').diagnostics).toEqual([
      {
        severity: 'error',
        code: 'missing-key',
        message: 'missing key `apiVersion` in the services file',
        hint: 'supported versions: `0.1.0`, `0.2.0`, `0.3.0`, `0.4.0`, `0.5.0`, `0.6.0`',
        pos: { file: 'f.yaml', line: 2, col: 1 },
      },
    ]);
  });

  test('spec - the shape is told apart by apiVersion and top-level keys', () => {
    const dialect = (text: string) => parseServicesFile(text, 'f.yaml').dataflow.dialect;
    const meta = 'meta: {name: a, namespace: b, version: 0.1.0}\n';
    expect(dialect(`apiVersion: 0.1.0\n${meta}operations: {}\n`)).toBe('seed');
    expect(dialect(`apiVersion: 0.1.0\n${meta}services: {}\n`)).toBe('preview');
    expect(dialect(`apiVersion: 0.3.0\n${meta}services: {}\n`)).toBe('preview');
    expect(dialect(`apiVersion: 0.4.0\n${meta}services: {}\n`)).toBe('dataflow');
    expect(dialect(`apiVersion: "0.6.0"\n${meta}services: {}\n`)).toBe('dataflow');
  });

  test('spec - YAML syntax errors are reported with their position, and nothing else', () => {
    const { diagnostics } = parseServicesFile(HEADER_05 + 'services:\n  a: [1, 2\n  b: 3\n', 'f.yaml');
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics.every((d) => d.code === 'yaml-syntax' && d.severity === 'error')).toBe(true);
    expect(diagnostics[0]?.pos).toEqual({ file: 'f.yaml', line: 8, col: 3 });
    expect(diagnostics[0]?.message).not.toMatch(/line \d+|\n/);
    const tabs = parseServicesFile('apiVersion: 0.5.0\nmeta:\n\tname: x\n', 'f.yaml').diagnostics;
    expect(tabs).toEqual([
      {
        severity: 'error',
        code: 'yaml-syntax',
        message: 'tabs are not allowed as indentation',
        hint: 'indent with spaces; YAML does not allow tabs for indentation',
        pos: { file: 'f.yaml', line: 3, col: 1 },
      },
    ]);
    expect(brief(parseServicesFile('apiVersion: 0.5.0\n---\nmeta: {}\n', 'f.yaml').diagnostics)).toEqual([
      'yaml-syntax 2:1 the file holds more than one YAML document',
    ]);
    expect(brief(parseServicesFile('apiVersion: 0.5.0\nmeta: *base\n', 'f.yaml').diagnostics)).toEqual([
      'yaml-syntax 2:7 unknown alias `*base`',
    ]);
  });

  test('spec - every YAML syntax error has a hint, the common slips one that names the fix', () => {
    const hints = (text: string) => parseServicesFile(HEADER_05 + text, 'f.yaml').diagnostics.map((d) => [d.message, d.hint]);
    // A value with `: ` in it, a key without its colon, a value starting with a reserved character, a bad escape.
    expect(hints('services:\n  a:\n    description: note: x\n')[0]).toEqual([
      'nested mappings are not allowed in compact mappings',
      'quote a value that holds `: ` (`description: "note: …"`), or put the nested mapping on lines of its own, indented',
    ]);
    expect(hints('services:\n  a:\n    transforms:\n      - operator filter\n        run: x\n')[0]).toEqual([
      'implicit keys need to be on a single line',
      'a key ends with `: ` (a colon and a space): check this line and the one before for a missing colon or an unclosed quote',
    ]);
    expect(hints('services:\n  a: @b\n')[0]?.[1]).toBe('quote the value: a plain value cannot start with @ or `');
    expect(hints('services:\n  a: "b\\qc"\n')[0]?.[1]).toMatch(/^inside double quotes a backslash starts an escape/);
    for (const text of ['services: {a: [1, 2}\n', 'services:\n  a: - b\n', 'services:\n  a:\n - b\n  c: ]\n']) {
      const diagnostics = parseServicesFile(HEADER_05 + text, 'f.yaml').diagnostics;
      expect(diagnostics.length).toBeGreaterThan(0);
      for (const d of diagnostics) expect(d.hint, `${d.message} (${JSON.stringify(text)})`).toBeTruthy();
    }
  });

  test('spec - a duplicate key is an error at the second one, and the rest of the file is still checked', () => {
    const { diagnostics } = parseServicesFile(
      HEADER_05 +
        yaml`
        services:
          a:
            sources: [{type: topic, id: x}]
            sources: [{type: topic, id: y}]
            sinkz: []
        `,
      'f.yaml',
    );
    expect(diagnostics.map((d) => [d.code, `${d.pos.line}:${d.pos.col}`, d.message, d.hint])).toEqual([
      ['duplicate-key', '9:5', 'duplicate key `sources`', 'a key may appear once in a mapping: merge the two entries or remove one'],
      ['unknown-key', '10:5', 'unknown key `sinkz` in service `a`', 'did you mean `sinks`?'],
    ]);
  });

  test('spec - every error of a file is reported at once, in file order', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.5.0
        meta: {name: t, namespace: n, version: one}
        config: {converter: xml, partitions: 2000, isolation: trusted}
        types:
          car: {type: object, properties: {speed: {type: f64, optional: maybe}}}
        topics:
          cars: {schema: {value: {type: car}}, consumer: {default_starting_offset: {position: Start}}}
        services:
          good:
            sources: [{type: topic, id: cars}]
            transforms:
              - operator: filter
                run: "function fast(car: Car): boolean { return car.speed > 100 }"
          bad:
            sources: [{type: topic, id: cars}]
            window:
              tumbling: {duration: 20 sec}
        servcies: {}
        `,
      'f.yaml',
    );
    expect(brief(diagnostics)).toEqual([
      'invalid-value 2:40 invalid value `one` for `version` in `meta`',
      'invalid-value 3:21 invalid value `xml` for `converter` in `config`',
      'invalid-value 3:38 invalid value `2000` for `partitions` in `config`',
      'invalid-value 3:55 invalid value `trusted` for `isolation` in `config`',
      'invalid-type 5:65 `optional` in property `speed` of type `car` must be `true` or `false`, found `maybe`',
      'invalid-value 7:87 invalid value `Start` for `position` in `default_starting_offset` of `consumer` of topic `cars`',
      'invalid-duration 17:28 invalid duration `20 sec` for `duration` in `window.tumbling` of service `bad`',
      'unknown-key 18:1 unknown key `servcies` in the services file',
    ]);
    expect(diagnostics.map((d) => d.hint)).toEqual([
      'use a semantic version such as `0.1.0`',
      'allowed values: `json`, `raw`',
      'partitions must be a whole number from 1 to 1024',
      'allowed values: `wasm`, `sandbox`, `native`',
      undefined,
      'allowed values: `Beginning`, `End`, `Offset`',
      'write a number with a unit, such as `500ms`, `20s`, `5m`, `1h` or `1m30s` (a plain number means milliseconds)',
      'did you mean `services`?',
    ]);
    // The parts that could be read are in the model.
    expect(dataflow.services.good?.transforms[0]?.fn.name).toBe('fast');
    expect(dataflow.services.bad?.window).toBeUndefined();
  });

  test('spec - YAML anchors and aliases read as what they name', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      HEADER_05 +
        yaml`
        services:
          a:
            sources: &words [{type: topic, id: words}]
            transforms:
              - &lower
                operator: map
                run: "function lower(w: string): string { return w.toLowerCase() }"
          b:
            sources: *words
            transforms: [*lower]
        `,
      'f.yaml',
    );
    expect(diagnostics).toEqual([]);
    expect(dataflow.services.b?.sources[0]).toMatchObject({ kind: 'topic', topic: 'words' });
    expect(dataflow.services.b?.transforms[0]?.fn.name).toBe('lower');
  });

  test('spec - an empty file and a file that is not a mapping are one error each', () => {
    expect(brief(parseServicesFile('', 'f.yaml').diagnostics)).toEqual(['empty-file 1:1 the services file is empty']);
    expect(brief(parseServicesFile('# nothing\n', 'f.yaml').diagnostics)).toEqual(['empty-file 1:1 the services file is empty']);
    expect(brief(parseServicesFile('- a\n- b\n', 'f.yaml').diagnostics)).toEqual([
      'invalid-type 1:1 the services file must be a mapping, found a list',
    ]);
  });
});

describe('diagnostics', () => {
  test('spec - formatDiagnostic prints FILE:LINE:COL: severity: message and the hint below', () => {
    const pos = { file: 'services.yaml', line: 12, col: 5 };
    expect(formatDiagnostic({ severity: 'error', code: 'unknown-key', message: 'unknown key `sourcse` in service `x`', hint: 'did you mean `sources`?', pos })).toBe(
      'services.yaml:12:5: error: unknown key `sourcse` in service `x`\n  hint: did you mean `sources`?',
    );
    expect(formatDiagnostic({ severity: 'warning', code: 'w', message: 'careful', pos })).toBe('services.yaml:12:5: warning: careful');
  });

  test('spec - parseOrThrow returns the model, or throws a SpecError carrying every diagnostic', () => {
    expect(parseOrThrow(HEADER_05 + 'services: {}\n', 'ok.yaml').meta.name).toBe('test');
    let thrown: unknown;
    try {
      parseOrThrow(HEADER_05 + 'services: {}\nsevices: 1\nextra: 2\n', 'bad.yaml');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SpecError);
    const error = thrown as SpecError;
    expect([error.name, error.code, error.domain, error.retryable]).toEqual(['SpecError', 'invalid-services-file', 'user', false]);
    expect(error.diagnostics).toHaveLength(2);
    expect(error.message).toBe('bad.yaml:7:1: error: unknown key `sevices` in the services file\n  hint: did you mean `services`? (and 1 more)');
  });
});
