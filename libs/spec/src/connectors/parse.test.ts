import { describe, expect, it } from 'vitest';
import { brief, yaml } from '../test-support.ts';
import { parseConnectorFile } from './parse.ts';
import { looksLikeConnectorFile } from './load.ts';

describe('connector files', () => {
  it('connector file - reads meta, the type\'s section and secrets (0.1.0)', () => {
    const text = yaml`
      apiVersion: 0.1.0
      meta:
        version: 0.1.0
        name: sensors
        type: mqtt-source
        topic: readings
        secrets:
          - name: MQTT_URL
      mqtt:
        url: {secret: {name: MQTT_URL}}
        topic: sensors/#
        timeout: {secs: 5, nanos: 0}
        payload_output_type: json
        output: payload
    `;
    const { connector, diagnostics } = parseConnectorFile(text, 'c.yaml');
    expect(brief(diagnostics)).toEqual([]);
    expect(connector).toMatchObject({
      name: 'sensors',
      type: 'mqtt-source',
      topic: 'readings',
      secrets: ['MQTT_URL'],
      settings: { type: 'mqtt-source', url: { parts: [{ secret: 'MQTT_URL' }] }, topic: 'sensors/#', timeoutMs: 5000, payloadOutputType: 'json', output: 'payload', qos: 1 },
    });
  });

  it('connector file - producer and consumer settings are read where they apply and refused where they cannot', () => {
    const hook = parseConnectorFile(
      yaml`
        meta:
          version: latest
          name: hook
          type: http-source
          topic: events
          producer: {linger: 50ms, batch-size: 16 KB}
        http: {mode: webhook, listen: "127.0.0.1:0"}
      `,
      'c.yaml',
    );
    expect(brief(hook.diagnostics)).toEqual([]);
    expect(hook.connector?.producer).toEqual({ lingerMs: 50, batchBytes: 16_000 });
    const sink = parseConnectorFile(
      yaml`
        meta:
          version: latest
          name: out
          type: http-sink
          topic: events
          consumer: {max_bytes: 64 KB, offset: {strategy: auto, flush-period: {secs: 10, nanos: 0}}}
        http: {endpoint: "http://127.0.0.1:1/x", http_connect_timeout: 2s}
      `,
      'c.yaml',
    );
    expect(brief(sink.diagnostics)).toEqual([]);
    expect(sink.connector?.consumer).toMatchObject({ maxBytes: 64_000, flushPeriodMs: 10_000 });
    expect(sink.connector?.settings).toMatchObject({ connectTimeoutMs: 2_000 });
    const mqttSource = parseConnectorFile(
      yaml`
        meta:
          version: latest
          name: sensors
          type: mqtt-source
          topic: readings
          producer: {linger: 50ms, batch-size: 16 KB}
        mqtt: {url: "mqtt://127.0.0.1:1883", topic: "a/#"}
      `,
      'c.yaml',
    );
    expect(brief(mqttSource.diagnostics)).toEqual([
      'unsupported-setting 6:14 `linger` does not apply to a mqtt-source connector: an mqtt-source stores each MQTT message alone, under its own id, before it acknowledges it (so a repeat after a crash is dropped)',
      'unsupported-setting 6:28 `batch-size` does not apply to a mqtt-source connector: an mqtt-source stores each MQTT message alone, under its own id, before it acknowledges it (so a repeat after a crash is dropped)',
    ]);
  });

  it('connector file - postgres-source cdc reads its slot; a pgoutput publication, and a slot while polling, are errors', () => {
    const cdc = parseConnectorFile(
      yaml`
        meta: {version: latest, name: orders, type: postgres-source, topic: orders}
        postgres: {url: "postgres://127.0.0.1/db", slot: orders_slot, table: orders, column: id}
      `,
      'c.yaml',
    );
    expect(brief(cdc.diagnostics)).toEqual([]);
    expect(cdc.connector?.settings).toMatchObject({ mode: 'cdc', slot: 'orders_slot', table: 'orders', column: 'id' });
    const wrong = parseConnectorFile(
      yaml`
        meta: {version: latest, name: orders, type: postgres-source, topic: orders}
        postgres: {url: "postgres://127.0.0.1/db", mode: cdc, publication: pub}
      `,
      'c.yaml',
    );
    expect(brief(wrong.diagnostics)).toEqual(['unsupported-setting 2:55 `publication` selects tables for pgoutput; ssdk decodes its slot with test_decoding']);
    const polling = parseConnectorFile(
      yaml`
        meta: {version: latest, name: orders, type: postgres-source, topic: orders}
        postgres: {url: "postgres://127.0.0.1/db", mode: poll, table: t, column: id, slot: s}
      `,
      'c.yaml',
    );
    expect(brief(polling.diagnostics)).toEqual(['unsupported-setting 2:78 a replication `slot` is read by `mode: cdc`, not by polling']);
  });

  it('connector file - `meta.consumer` without `offset`, and a 0.2.0 topic without `partition`, take the defaults', () => {
    const { connector, diagnostics } = parseConnectorFile(
      yaml`
        apiVersion: 0.2.0
        meta:
          version: latest
          name: out
          type: http-sink
          topic: {meta: {name: events}}
          consumer: {id: out-a}
        http: {endpoint: "http://127.0.0.1:1/x"}
      `,
      'c.yaml',
    );
    expect(brief(diagnostics)).toEqual([]);
    expect(connector?.topic).toBe('events');
    expect(connector?.consumer).toEqual({ id: 'out-a', start: 'beginning', strategy: 'auto' });
  });

  it('connector file - apiVersion 0.2.0 takes the topic as a mapping with partitions', () => {
    const text = yaml`
      apiVersion: 0.2.0
      meta:
        version: latest
        name: hook
        type: http-source
        topic: {meta: {name: events}, partition: {count: 3}}
      http:
        mode: webhook
        listen: 127.0.0.1:8080
        token: "\${{ secrets.HOOK_TOKEN }}"
        split: lines
        output_type: json
    `;
    const { connector, diagnostics } = parseConnectorFile(text, 'c.yaml');
    expect(brief(diagnostics)).toEqual([]);
    expect(connector).toMatchObject({ topic: 'events', partitions: 3, settings: { mode: 'webhook', listen: '127.0.0.1:8080', token: { parts: [{ secret: 'HOOK_TOKEN' }] }, split: 'lines' } });
  });

  it('connector file - every problem at once, each at its line and column', () => {
    const text = yaml`
      apiVersion: 0.1.0
      meta:
        version: 0.1.0
        name: bad
        type: http-sink
        topic: out
        secrets:
          - name: 1TOKEN
      http:
        endpont: http://x
        method: YEET
        backoff_min: soon
    `;
    const { connector, diagnostics } = parseConnectorFile(text, 'c.yaml');
    expect(connector).toBeUndefined();
    expect(brief(diagnostics)).toEqual([
      'invalid-secret-name 8:13 invalid secret name `1TOKEN`',
      'unknown-key 10:3 unknown key `endpont` in section `http` of the http-sink connector',
      'invalid-value 11:11 invalid value `YEET` for `method` in section `http` of the http-sink connector',
      'invalid-duration 12:16 invalid duration `soon` for `backoff_min` in section `http` of the http-sink connector',
    ]);
    expect(diagnostics.find((d) => d.code === 'unknown-key')?.hint).toBe('did you mean `endpoint`?');
  });

  it('connector file - an unsupported type is named, with what ssdk runs', () => {
    const text = yaml`
      meta: {version: latest, name: k, type: kafka-source, topic: t}
      kafka: {url: "localhost:9092", topic: t}
    `;
    const { diagnostics } = parseConnectorFile(text, 'c.yaml');
    expect(brief(diagnostics)).toEqual(['unsupported-connector-type 1:40 connector type `kafka-source` is not supported by ssdk: no Kafka broker can be tested here; it is planned']);
    expect(diagnostics[0]?.hint).toContain('`mqtt-source`');
  });

  it('connector file - json-sql mappings are read for sql-sink, upserts need unique columns', () => {
    const text = yaml`
      meta: {version: latest, name: rows, type: sql-sink, topic: t}
      sql: {url: "postgres://localhost/db"}
      transforms:
        - uses: infinyon/json-sql@0.2.1
          with:
            mapping:
              table: readings
              operation: upsert
              map-columns:
                id: {json-key: device.id, value: {type: int, required: true}}
                body: {json-key: $, value: {type: jsonb}}
    `;
    const { connector, diagnostics } = parseConnectorFile(text, 'c.yaml');
    expect(brief(diagnostics)).toEqual(['missing-key 7:9 an upsert needs `unique-columns`']);
    expect(connector?.transforms[0]?.jsonSql?.columns.map((c) => `${c.name}:${c.jsonKey}:${c.type}:${c.required}`)).toEqual(['id:device.id:int:true', 'body:$:jsonb:false']);
  });

  it('connector file - ${{ secrets.X }} templates keep names, never values', () => {
    const text = yaml`
      meta: {version: latest, name: poll, type: http-source, topic: t}
      http:
        endpoint: "https://api.example.com/v1?key=\${{ secrets.API_KEY }}"
        headers: ["Authorization: Bearer \${{secrets.TOKEN}}"]
    `;
    const { connector } = parseConnectorFile(text, 'c.yaml');
    expect(connector?.settings).toMatchObject({
      endpoint: { parts: ['https://api.example.com/v1?key=', { secret: 'API_KEY' }] },
      headers: [{ parts: ['Authorization: Bearer ', { secret: 'TOKEN' }] }],
    });
  });

  it('connector file - told apart from services files', () => {
    expect(looksLikeConnectorFile('meta: {name: a, type: http-source, topic: t}\nhttp: {}\n')).toBe(true);
    expect(looksLikeConnectorFile('apiVersion: 0.5.0\nmeta: {name: a, namespace: b, version: 0.1.0}\nservices: {}\n')).toBe(false);
    expect(looksLikeConnectorFile('version: v1\nname: x\ntype: postgres\ntopic: t\nparameters: {}\n')).toBe(true);
  });
});

describe('inline connectors', () => {
  const services = (source: string, sink: string) => `apiVersion: 0.5.0
meta: {name: t, namespace: examples, version: 0.1.0}
topics:
  lines: {schema: {value: {type: string}}}
  rows: {schema: {value: {type: string}}}
services:
  s:
    sources:
      - type: topic
        id: lines
        connector:
${source}
    sinks:
      - type: topic
        id: rows
        connector:
${sink}
`;

  it('inline connector - a source\'s and a sink\'s connector take their endpoint\'s topic', async () => {
    const { parseServicesFile } = await import('../parse.ts');
    const { dataflow, diagnostics } = parseServicesFile(
      services('          meta: {name: lines-in, type: mqtt-source}\n          mqtt: {url: "mqtt://127.0.0.1:1883", topic: "l/#"}', '          meta: {name: rows-out, type: sql-sink}\n          sql: {url: "postgres://x/db", table: rows}'),
      's.yaml',
    );
    expect(brief(diagnostics)).toEqual([]);
    const service = dataflow.services['s']!;
    expect(service.sources[0]).toMatchObject({ topic: 'lines', connector: { name: 'lines-in', type: 'mqtt-source', topic: 'lines', version: 'inline' } });
    expect(service.sinks[0]).toMatchObject({ topic: 'rows', connector: { name: 'rows-out', type: 'sql-sink', topic: 'rows' } });
  });

  it('inline connector - a sink connector on a source, and another topic, are errors', async () => {
    const { parseServicesFile } = await import('../parse.ts');
    const { diagnostics } = parseServicesFile(
      services('          meta: {name: lines-in, type: http-sink}\n          http: {endpoint: "http://x"}', '          meta: {name: rows-out, type: sql-sink, topic: elsewhere}\n          sql: {url: "postgres://x/db", table: rows}'),
      's.yaml',
    );
    expect(brief(diagnostics)).toEqual([
      'connector-direction 12:40 a http-sink connector cannot be a source\'s connector',
      'conflicting-topic 18:57 the connector\'s topic `elsewhere` is not the sink\'s `rows`',
    ]);
  });
});

describe('nexmark-source connectors', () => {
  it('nexmark-source - reads its settings with their defaults', () => {
    const plain = parseConnectorFile(yaml`
      meta: {version: latest, name: gen, type: nexmark-source, topic: events}
      nexmark: {events: 2000}
    `, 'c.yaml');
    expect(brief(plain.diagnostics)).toEqual([]);
    expect(plain.connector?.settings).toEqual({ type: 'nexmark-source', events: 2000, seed: 0, rate: 10_000, first: 0, batch: 1000 });
    const full = parseConnectorFile(yaml`
      meta: {version: latest, name: gen, type: nexmark-source, topic: events}
      nexmark: {events: 5, seed: 7, rate: 50.5, first: 100, base-time: 1735718380000, batch: 2}
    `, 'c.yaml');
    expect(brief(full.diagnostics)).toEqual([]);
    expect(full.connector?.settings).toEqual({ type: 'nexmark-source', events: 5, seed: 7, rate: 50.5, first: 100, baseTime: 1735718380000, batch: 2 });
  });

  it('nexmark-source - every bad setting at its line and column, `events` required, producer batching refused', () => {
    const bad = parseConnectorFile(yaml`
      meta: {version: latest, name: gen, type: nexmark-source, topic: events}
      nexmark:
        events: 0
        seed: 1.5
        rate: -3
        first: -1
        base-time: soon
        batch: 20000
        sede: 1
    `, 'c.yaml');
    expect(bad.connector).toBeUndefined();
    expect(brief(bad.diagnostics)).toEqual([
      'invalid-value 3:11 invalid value `0` for `events` in section `nexmark` of the nexmark-source connector',
      'invalid-type 4:9 `seed` in section `nexmark` of the nexmark-source connector must be a whole number, found `1.5`',
      'invalid-value 5:9 invalid value `-3` for `rate` in section `nexmark` of the nexmark-source connector',
      'invalid-value 6:10 invalid value `-1` for `first` in section `nexmark` of the nexmark-source connector',
      'invalid-type 7:14 `base-time` in section `nexmark` of the nexmark-source connector must be a number, found `soon`',
      'invalid-value 8:10 invalid value `20000` for `batch` in section `nexmark` of the nexmark-source connector',
      'unknown-key 9:3 unknown key `sede` in section `nexmark` of the nexmark-source connector',
    ]);
    const missing = parseConnectorFile(yaml`
      meta: {version: latest, name: gen, type: nexmark-source, topic: events, producer: {linger: 10ms}}
      nexmark: {seed: 1}
    `, 'c.yaml');
    expect(missing.connector).toBeUndefined();
    expect(brief(missing.diagnostics).map((d) => d.split(' ').slice(0, 2).join(' '))).toEqual(['unsupported-setting 1:84', 'missing-key 2:10']);
    const wrongSection = parseConnectorFile(yaml`
      meta: {version: latest, name: gen, type: nexmark-source, topic: events}
      http: {events: 10}
    `, 'c.yaml');
    expect(brief(wrongSection.diagnostics)).toEqual([
      'missing-key 1:1 missing section `nexmark` for the nexmark-source connector',
      'unexpected-section 2:1 section `http` does not configure a nexmark-source connector',
    ]);
  });
});
