/**
 * sql-sink against the real PostgreSQL and NATS servers: rows and the sink's position commit in
 * one transaction, so a sink killed with SIGKILL mid-stream and a database out of reach for a
 * while (a TCP proxy cut in front of it) still leave every row exactly once — a plain INSERT
 * table with no key, where any repeat would show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryBus } from '@ssdk/bus';
import { parseConnectorFile } from '@ssdk/spec';
import { encodeRecords } from '@ssdk/records';
import { openPostgresDatabase, type SqlDatabase } from '@ssdk/state';
import { testPostgres, uniqueName, until, type TestPostgres } from '@ssdk/testing';
import { ConnectorProcess, OUTAGE_MS, readTopic, natsSuite, sleep, TcpProxy } from './connectors.testkit.ts';
import { runConnector } from './run.ts';

let pg: TestPostgres;
let db: SqlDatabase;
let proxy: TcpProxy;
const suite = natsSuite('sql-test');

beforeAll(async () => {
  pg = await testPostgres();
  db = openPostgresDatabase({ connectionString: pg.connectionString });
  proxy = TcpProxy.to(pg.connectionString);
  await proxy.up();
});

afterAll(async () => {
  await proxy?.down();
  await db?.close();
  await pg?.cleanup();
});

/** The test database, reached through the proxy. */
function proxiedUrl(): string {
  const url = new URL(pg.connectionString);
  url.host = `127.0.0.1:${proxy.port}`;
  return url.toString();
}

describe('sql-sink', () => {
  it('sql-sink - kill -9 mid-stream and PostgreSQL out of reach: every row exactly once, bad records dead-lettered', async () => {
    const name = uniqueName('rows').replace(/_/g, '-');
    const topic = `${name}-readings`;
    const table = `${pg.schema}.readings`;
    await db.query(`CREATE TABLE ${table} (n int NOT NULL, sensor text NOT NULL, value double precision)`);
    await suite.bus.ensureTopic({ name: topic, partitions: 3 });
    const total = 3000;
    const golden: number[] = [];
    for (let start = 0; start < total; start += 30) {
      for (let p = 0; p < 3; p++) {
        const records = [];
        for (let n = start + p; n < start + 30; n += 3) {
          // n = 11 lacks a NOT NULL column, n = 13 is no object: both dead letters, the rest rows.
          const value = n === 11 ? { n } : n === 13 ? [n] : { n, sensor: `s${n % 7}`, value: n / 10 };
          if (n !== 11 && n !== 13) golden.push(n);
          records.push({ key: null, value: JSON.stringify(value), timestamp: n });
        }
        await suite.bus.publish(topic, p, [{ data: encodeRecords(records) }]);
      }
    }
    const file = suite.box.write(`${name}.yaml`, `apiVersion: 0.1.0
meta:
  version: 0.1.0
  name: ${name}
  type: sql-sink
  topic: ${topic}
  secrets: [{name: SINK_DATABASE_URL}]
sql:
  url: "\${{ secrets.SINK_DATABASE_URL }}"
  table: ${table}
  backoff-min: 100ms
  backoff-max: 1s
`);
    const connector = new ConnectorProcess(file, suite.nats, { SINK_DATABASE_URL: proxiedUrl() });
    const count = async () => Number((await db.query<{ c: string }>(`SELECT count(*) AS c FROM ${table}`))[0]!.c);
    connector.start();
    await until('some rows', async () => (await count()) > 0, 90_000, () => connector.output.slice(-1500));
    await connector.kill9();
    connector.start();
    await connector.waitFor(/\d+ records?/);
    await proxy.down();
    await sleep(OUTAGE_MS);
    await proxy.up();
    await until('every row', async () => (await count()) >= golden.length, 120_000, () => connector.output.slice(-1500));
    await sleep(1000);
    const rows = await db.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`);
    expect(rows.map((r) => r.n)).toEqual(golden.sort((a, b) => a - b));
    const dead = (await readTopic(suite.bus, `${name}.dead-letter`)) as Array<{ reason: string }>;
    expect(dead.map((d) => d.reason).sort()).toEqual([
      expect.stringContaining('PostgreSQL refused the row: null value in column "sensor"'),
      expect.stringContaining('a row must be a JSON object'),
    ]);
    const positions = await db.query<{ partition: number; seq: string }>('SELECT partition, seq FROM ssdk_connectors.sink_positions WHERE connector = $1 ORDER BY partition', [name]);
    expect(positions.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const p of positions) expect(Number(p.seq)).toBe(await suite.bus.lastSeq(topic, p.partition));
    expect(connector.output).not.toContain(proxiedUrl());
    expect(await connector.stop()).toBe(0);
  }, 300_000);

  it('sql-sink - a json-sql upsert mapping: the last record of a key wins, required columns are checked', async () => {
    const name = uniqueName('upsert').replace(/_/g, '-');
    const topic = `${name}-devices`;
    const table = `${pg.schema}.devices`;
    await db.query(`CREATE TABLE ${table} (device_id int PRIMARY KEY, record jsonb NOT NULL)`);
    await suite.bus.ensureTopic({ name: topic, partitions: 1 });
    const values = [{ device: { device_id: 1 }, v: 'a' }, { device: { device_id: 2 }, v: 'b' }, { device: { device_id: 1 }, v: 'c' }, { v: 'no id' }];
    await suite.bus.publish(topic, 0, [{ data: encodeRecords(values.map((v, i) => ({ key: null, value: JSON.stringify(v), timestamp: i }))) }]);
    const file = suite.box.write(`${name}.yaml`, `meta: {version: latest, name: ${name}, type: sql-sink, topic: ${topic}}
sql: {url: "${pg.connectionString}"}
transforms:
  - uses: infinyon/json-sql@0.2.1
    with:
      mapping:
        table: ${table}
        operation: upsert
        unique-columns: [device_id]
        map-columns:
          device_id: {json-key: device.device_id, value: {type: int, required: true}}
          record: {json-key: $, value: {type: jsonb, required: true}}
`);
    const connector = new ConnectorProcess(file, suite.nats);
    connector.start();
    await until('the rows', async () => (await db.query(`SELECT 1 FROM ${table}`)).length === 2, 90_000, () => connector.output.slice(-1500));
    await connector.waitFor('dead letter');
    const rows = await db.query<{ device_id: number; record: { v: string } }>(`SELECT device_id, record FROM ${table} ORDER BY device_id`);
    expect(rows.map((r) => [r.device_id, r.record.v])).toEqual([[1, 'c'], [2, 'b']]);
    expect(connector.output).toContain('column `device_id` is required');
    expect(await connector.stop()).toBe(0);
  }, 180_000);
});

describe('sql-sink positions belong to their stream', () => {
  it('sql-sink - a position committed against another stream (a new in-memory suite.bus) is dropped, not applied: every record of the new stream is a row', async () => {
    const name = uniqueName('streams').replace(/_/g, '-');
    const table = `${pg.schema}.stream_rows`;
    await db.query(`CREATE TABLE ${table} (n int NOT NULL)`);
    const { connector, diagnostics } = parseConnectorFile(`meta: {version: latest, name: ${name}, type: sql-sink, topic: numbers}\nsql: {url: "${pg.connectionString}", table: ${table}}\n`, 'streams.yaml');
    expect(diagnostics).toEqual([]);
    const count = async () => Number((await db.query<{ c: string }>(`SELECT count(*) AS c FROM ${table}`))[0]!.c);
    const log: string[] = [];
    // Two processes' runs of one dataflow: each its own in-memory suite.bus, so its own `numbers` stream.
    const run = async (numbers: number[], rowsAfter: number) => {
      const memory = createMemoryBus();
      await memory.ensureTopic({ name: 'numbers', partitions: 1 });
      for (const n of numbers) await memory.publish('numbers', 0, [{ data: encodeRecords([{ key: null, value: JSON.stringify({ n }), timestamp: n }]) }]);
      const stop = new AbortController();
      const running = runConnector(connector!, { bus: memory, signal: stop.signal, log: (line) => log.push(line) });
      await until(`${rowsAfter} rows`, async () => (await count()) >= rowsAfter, 60_000, () => log.join('\n'));
      stop.abort();
      await running;
    };
    await run([1, 2, 3, 4, 5], 5);
    // The second stream is longer than the first position (5): only the recorded stream tells them apart.
    await run([101, 102, 103, 104, 105, 106, 107, 108], 13);
    const rows = await db.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`);
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 101, 102, 103, 104, 105, 106, 107, 108]);
    expect(log.join('\n')).toMatch(/position 5 of `numbers`\/0 was committed against another stream/);
    const [position] = await db.query<{ seq: string; stream: string }>('SELECT seq, stream FROM ssdk_connectors.sink_positions WHERE connector = $1', [name]);
    expect([Number(position!.seq), position!.stream]).toEqual([8, expect.stringContaining('memory')]);
  }, 120_000);
});
