/**
 * `npm run bench:connectors` — records/s of each connector beside its raw client in the same
 * run, against the real servers (NATS, PostgreSQL, Mosquitto; `NATS_URL`, `DATABASE_URL`,
 * `MQTT_URL`):
 *   mqtt-source: a plain QoS 1 subscriber's rate  vs  the connector into a NATS topic
 *   http-sink:   sequential `fetch` POSTs          vs  the connector (per record, and per bus message)
 *   sql-sink:    batched inserts with `pg` alone   vs  the connector (rows + position per transaction)
 * Numbers, not verdicts; on a busy machine compare only figures of the same run.
 * The shared Mosquitto keeps at most 1000 queued messages per session (its default
 * `max_queued_messages`, /etc/mosquitto/mosquitto.conf sets none) and drops what a subscriber
 * falls behind by beyond that. The mqtt-source takes the broker's whole in-flight window (20)
 * while it stores (PUBACKs held until stored), so it keeps up with this bench's publisher at the
 * default 5000 records; a publisher faster than the source still needs a broker with a larger
 * queue (`max_queued_messages`), as any slow MQTT subscriber does.
 *
 *   npx tsx tools/bench/connectors.ts [--records N] [--only mqtt|http|sql]
 */
import { createServer } from 'node:http';
import mqtt from 'mqtt';
import pg from 'pg';
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { runConnector, Secrets, type ConnectorStats } from '@ssdk/connectors';
import { encodeRecords } from '@ssdk/records';
import { parseConnectorFile } from '@ssdk/spec';
import { benchArgs } from './args.ts';

const { values } = benchArgs({ options: { records: { type: 'string', default: '5000' }, only: { type: 'string' } } });
const N = Number(values.records);
const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const MQTT_URL = process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883';
const run = `bench${Date.now().toString(36)}`;
const rows: Array<[string, string, number, number]> = [];

function rate(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

async function until(ok: () => boolean | Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('bench: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a connector from YAML in this process; returns its counters and a stop. */
function start(bus: NatsBus, yaml: string): { stats: ConnectorStats; said: string[]; stop: () => Promise<void> } {
  const { connector, diagnostics } = parseConnectorFile(yaml, 'bench.yaml');
  if (!connector) throw new Error(diagnostics.map((d) => d.message).join('; '));
  const stop = new AbortController();
  const stats: ConnectorStats = { records: 0, deadLetters: 0, retries: 0 };
  const said: string[] = [];
  const done = runConnector(connector, { bus, secrets: new Secrets(), signal: stop.signal, stats, log: (line) => said.push(line) });
  return {
    stats,
    said,
    stop: async () => {
      stop.abort();
      await done;
    },
  };
}

async function benchMqtt(bus: NatsBus): Promise<void> {
  const publish = async (topic: string) => {
    const pub = await mqtt.connectAsync(MQTT_URL, { clean: true });
    for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, j) => pub.publishAsync(topic, JSON.stringify({ n: i + j, v: 1.5 }), { qos: 1 })));
    await pub.endAsync();
  };
  // Raw: a subscriber with QoS 1 counting what arrives.
  const sub = await mqtt.connectAsync(MQTT_URL, { clean: true });
  let got = 0;
  let first = 0;
  sub.on('message', () => {
    if (got++ === 0) first = Date.now();
  });
  await sub.subscribeAsync(`${run}/raw`, { qos: 1 });
  await publish(`${run}/raw`);
  await until(() => got >= N);
  rows.push(['mqtt-source', 'raw mqtt subscriber (QoS 1)', N, rate(N, Date.now() - first)]);
  await sub.endAsync();

  const c = start(bus, `meta: {version: latest, name: ${run}-mqtt, type: mqtt-source, topic: ${run}-mqtt}\nmqtt: {url: "${MQTT_URL}", topic: "${run}/c", payload_output_type: json, output: payload}\n`);
  // Messages published before the subscription exists are not the connector's: wait for it.
  await until(() => c.said.some((line) => line.includes('subscribed to')), 60_000);
  const t0 = Date.now();
  await publish(`${run}/c`);
  await until(() => c.stats.records >= N);
  rows.push(['mqtt-source', 'connector → NATS (PUBACK after store)', N, rate(N, Date.now() - t0)]);
  await c.stop();
}

async function benchHttp(bus: NatsBus): Promise<void> {
  let received = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received += body.startsWith('[') ? (JSON.parse(body) as unknown[]).length : 1;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const t0 = Date.now();
  for (let i = 0; i < N; i++) await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: JSON.stringify({ n: i }) });
  rows.push(['http-sink', 'raw fetch, one POST per record', N, rate(N, Date.now() - t0)]);

  for (const body of ['record', 'array'] as const) {
    const topic = `${run}-http-${body}`;
    await bus.ensureTopic({ name: topic, partitions: 1 });
    for (let i = 0; i < N; i += 100) await bus.publish(topic, 0, [{ data: encodeRecords(Array.from({ length: Math.min(100, N - i) }, (_, j) => ({ key: null, value: JSON.stringify({ n: i + j }), timestamp: 0 }))) }]);
    received = 0;
    const t1 = Date.now();
    const c = start(bus, `meta: {version: latest, name: ${topic}, type: http-sink, topic: ${topic}}\nhttp: {endpoint: "http://127.0.0.1:${port}/", body: ${body}}\n`);
    await until(() => received >= N);
    rows.push(['http-sink', `connector, body: ${body} (${body === 'record' ? 'a POST per record' : 'a POST per 100-record message'})`, N, rate(N, Date.now() - t1)]);
    await c.stop();
  }
  server.close();
}

async function benchSql(bus: NatsBus): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const schema = `${run}_sql`;
  await client.query(`CREATE SCHEMA ${schema}`);
  try {
    for (const t of ['raw', 'sink']) await client.query(`CREATE TABLE ${schema}.${t} (n int, sensor text, value float8)`);
    const row = (n: number) => ({ n, sensor: `s${n % 10}`, value: n / 10 });
    const t0 = Date.now();
    for (let i = 0; i < N; i += 100) {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${schema}.raw SELECT * FROM jsonb_populate_recordset(NULL::${schema}.raw, $1::jsonb)`, [JSON.stringify(Array.from({ length: Math.min(100, N - i) }, (_, j) => row(i + j)))]);
      await client.query('COMMIT');
    }
    rows.push(['sql-sink', 'raw pg, 100-row INSERT per transaction', N, rate(N, Date.now() - t0)]);

    const topic = `${run}-sql`;
    await bus.ensureTopic({ name: topic, partitions: 1 });
    for (let i = 0; i < N; i += 100) await bus.publish(topic, 0, [{ data: encodeRecords(Array.from({ length: Math.min(100, N - i) }, (_, j) => ({ key: null, value: JSON.stringify(row(i + j)), timestamp: 0 }))) }]);
    const t1 = Date.now();
    const c = start(bus, `meta: {version: latest, name: ${topic}, type: sql-sink, topic: ${topic}}\nsql: {url: "${DATABASE_URL}", table: ${schema}.sink}\n`);
    await until(() => c.stats.records >= N);
    rows.push(['sql-sink', 'connector (rows + position per transaction)', N, rate(N, Date.now() - t1)]);
    await c.stop();
  } finally {
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.query('DELETE FROM ssdk_connectors.sink_positions WHERE connector LIKE $1', [`${run}%`]).catch(() => {});
    await client.end();
  }
}

const bus = await createNatsBus({ servers: NATS_URL, subjectPrefix: run });
try {
  if (!values.only || values.only === 'mqtt') await benchMqtt(bus);
  if (!values.only || values.only === 'http') await benchHttp(bus);
  if (!values.only || values.only === 'sql') await benchSql(bus);
} finally {
  await bus.destroy();
}
console.log('| connector | what | records | records/s |\n|---|---|---:|---:|');
for (const [connector, what, n, r] of rows) console.log(`| ${connector} | ${what} | ${n} | ${r} |`);
