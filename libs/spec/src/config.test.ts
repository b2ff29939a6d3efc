import { describe, expect, test } from 'vitest';
import { parseServicesFile } from './parse.ts';
import { brief, yaml } from './test-support.ts';

describe('config and topics', () => {
  test('spec - ssdk settings in config and on a step map to RuntimeSettings', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.3.0
        meta: {name: t, namespace: n, version: 0.1.0}
        config:
          partitions: 16
          isolation: native
          function-timeout: 1m30s
          grants: [http, {env: [API_URL]}, http]
        services:
          s:
            source: {type: topic, id: a}
            transforms:
              - operator: map
                isolation: sandbox
                grants: [random]
                capabilities: [http]
                function-timeout: 250
                run: "function m(x: string): string { return x }"
        `,
      'f.yaml',
    );
    expect(diagnostics).toEqual([]);
    expect(dataflow.config.settings).toEqual({ partitions: 16, isolation: 'native', functionTimeoutMs: 90_000, grants: ['http', 'env'], env: ['API_URL'], http: ['*'] });
    expect(dataflow.config.converter).toBe('json');
    expect(dataflow.services.s?.transforms[0]?.settings).toEqual({ isolation: 'wasm', functionTimeoutMs: 250, grants: ['random', 'http'], http: ['*'] });
  });

  test('spec - grants: clock, random and the environment variables a step may read', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.5.0
        meta: {name: t, namespace: n, version: 0.1.0}
        config:
          isolation: native
          grants:
            - clock
            - env: [REGION, API_URL]
        services:
          s:
            sources: [{type: topic, id: a}]
            transforms:
              - operator: map
                grants: [random, {env: [TOKEN]}]
                run: "function m(x: string): string { return x }"
        `,
      'f.yaml',
    );
    expect(diagnostics).toEqual([]);
    expect(dataflow.config.settings).toEqual({ isolation: 'native', grants: ['clock', 'env'], env: ['REGION', 'API_URL'] });
    expect(dataflow.services.s?.transforms[0]?.settings).toEqual({ grants: ['random', 'env'], env: ['TOKEN'] });
  });

  test('spec - grants: {http: [HOST, ...]} names the hosts ctx.http may call; a bad host is reported with a hint', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.5.0
        meta: {name: t, namespace: n, version: 0.1.0}
        config:
          grants: [{http: [api.example.com, "127.0.0.1:8080", "*.example.org", api.example.com]}]
        services:
          s:
            sources: [{type: topic, id: a}]
            transforms:
              - operator: map
                grants: [clock, {http: ["http://x.com/path"]}]
                run: "function m(x: string): string { return x }"
        `,
      'f.yaml',
    );
    expect(dataflow.config.settings).toEqual({ grants: ['http'], http: ['api.example.com', '127.0.0.1:8080', '*.example.org'] });
    expect(brief(diagnostics)).toEqual(['invalid-value 10:25 invalid value `a mapping` for item 2 of `grants` in step 1 of `transforms` of service `s`']);
    expect(diagnostics[0]!.hint).toContain('name the hosts a function may call');
  });

  test('spec - a wrong grant or isolation is reported at its item, with a hint', () => {
    const { diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.5.0
        meta: {name: t, namespace: n, version: 0.1.0}
        config:
          isolation: trusted
          grants: [clok, env, {env: [ok, "not a name"]}, {network: true}]
        services: {}
        `,
      'f.yaml',
    );
    expect(brief(diagnostics)).toEqual([
      'invalid-value 4:14 invalid value `trusted` for `isolation` in `config`',
      'invalid-value 5:12 invalid value `clok` for item 1 of `grants` in `config`',
      'invalid-value 5:18 invalid value `env` for item 2 of `grants` in `config`',
      'invalid-value 5:23 invalid value `a mapping` for item 3 of `grants` in `config`',
      'invalid-value 5:50 invalid value `a mapping` for item 4 of `grants` in `config`',
    ]);
    expect(diagnostics.map((d) => d.hint)).toEqual([
      'allowed values: `wasm`, `sandbox`, `native`',
      'did you mean `clock`? grants are `clock`, `random`, `http`, `{http: [HOST, ...]}` and `{env: [NAME, ...]}`',
      'name the variables a function may read: `- env: [API_URL, REGION]`',
      'name the variables a function may read: `- env: [API_URL, REGION]`; other grants are the words `clock`, `random`, `http`',
      'name the variables a function may read: `- env: [API_URL, REGION]`; other grants are the words `clock`, `random`, `http`',
    ]);
  });

  test('spec - converters default from config to the topic, its schema and each part', () => {
    const { dataflow, diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.5.0
        meta: {name: t, namespace: n, version: 0.1.0}
        config: {converter: raw}
        topics:
          plain: {schema: {value: {type: string}}}
          jsonish: {schema: {converter: json, key: {type: string}, value: {type: bytes, converter: raw}}}
          tuned:
            schema: {value: {type: u64}}
            consumer: {default_starting_offset: {position: offset, value: 42}, max_bytes: 1048576}
            producer: {linger: 10ms, batch_size: 1000, timeout: 5s, isolation: read_committed}
        services: {}
        `,
      'f.yaml',
    );
    expect(diagnostics).toEqual([]);
    expect(dataflow.topics.plain?.value.converter).toBe('raw');
    expect([dataflow.topics.jsonish?.key?.converter, dataflow.topics.jsonish?.value.converter]).toEqual(['json', 'raw']);
    expect(dataflow.topics.tuned?.consumer).toEqual({ defaultStartingOffset: { position: 'offset', value: 42 }, extra: { max_bytes: 1048576 } });
    expect(dataflow.topics.tuned?.producer).toEqual({ batchSize: 1000, lingerMs: 10, extra: { timeout: 5000, isolation: 'read_committed' } });
  });

  test('spec - wrong settings are reported at their values', () => {
    const { diagnostics } = parseServicesFile(
      yaml`
        apiVersion: 0.5.0
        meta: {name: t, namespace: n, version: 0.1.0}
        config:
          function-timeout: 0s
          grants: http
          producer: {compression: zip, batch_size: -1}
          consumer: {default_starting_offset: {position: Offset, value: -3}}
        topics:
          a: {name: a, schema: {}}
        services: {}
        `,
      'f.yaml',
    );
    expect(brief(diagnostics)).toEqual([
      'invalid-value 4:21 invalid value `0s` for `function-timeout` in `config`',
      'invalid-type 5:11 `grants` in `config` must be a list, found `http`',
      'invalid-value 6:27 invalid value `zip` for `compression` in `config.producer`',
      'invalid-value 6:44 invalid value `-1` for `batch_size` in `config.producer`',
      'invalid-value 7:65 invalid value `-3` for `value` in `default_starting_offset` of `config.consumer`',
      'missing-key 9:24 missing key `value` in `schema` of topic `a`',
    ]);
    expect(diagnostics.map((d) => d.hint)).toEqual([
      'a duration here must be longer than zero',
      undefined,
      'did you mean `gzip`? allowed values: `none`, `gzip`, `snappy`, `lz4`, `zstd`',
      'a size in bytes, 1 or more',
      'the offset is a whole number, 0 or more',
      undefined,
    ]);
  });
});
