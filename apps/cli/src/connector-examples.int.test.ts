/**
 * The connector examples of examples/connectors/README.md, end to end against real servers,
 * equal to the golden outputs their examples' independent references (`reference.mjs`) wrote:
 * - an MQTT sensor feed (`publish-readings.mjs`, QoS 1, to a Mosquitto of the test's own) →
 *   `car-readings.mqtt-source.yaml` → the car-sensors dataflow → `speeding-events.sql-sink.yaml`
 *   → the table of `speeding-events.sql` in PostgreSQL = examples/car-sensors/expected/speeding-events.jsonl;
 * - sentences POSTed to `sentences.webhook.yaml` (records with their event times) → word-count
 *   → `top-words.http-sink.yaml` → an HTTP server here = examples/word-count/expected/top-words.jsonl,
 *   in window order; a line that is no record is dead-lettered with the reason.
 * The dataflows run embedded (one partition, functions native); the connectors are the files
 * as shipped, run on the dataflow's bus with their secrets given as the README gives them.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runConnector, Secrets } from '@ssdk/connectors';
import { memoryCheckpointStore } from '@ssdk/runtime';
import { loadConnectorFile, parseConnectorFile, type Connector } from '@ssdk/spec';
import { openPostgresDatabase } from '@ssdk/state';
import { freePort, testPostgres, until } from '@ssdk/testing';
import { openSession, type Session } from './embedded-session.ts';
// The connectors' own test kit: a Mosquitto of the test's own.
import { PrivateMosquitto, readTopic } from '@ssdk/connectors/testkit';

const repo = new URL('../../../', import.meta.url).pathname;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function golden(path: string): Promise<unknown[]> {
  return (await readFile(join(repo, path), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
}

async function loaded(path: string): Promise<Connector> {
  const { connector, diagnostics } = await loadConnectorFile(join(repo, path));
  expect(diagnostics).toEqual([]);
  return connector!;
}

/** The example's dataflow embedded, and connectors run on its bus until the test ends. */
async function embedded(example: string): Promise<{ session: Session; run(connector: Connector, secrets: Record<string, string>): void; log: string[] }> {
  const session = await openSession({ file: join(repo, example), checkpoints: { kind: 'memory', store: memoryCheckpointStore() }, isolation: 'native' });
  const stop = new AbortController();
  const running: Promise<void>[] = [];
  const log: string[] = [];
  cleanups.push(async () => {
    stop.abort();
    await Promise.all(running);
    await session.close();
  });
  return {
    session,
    log,
    run(connector, secrets) {
      const say = (line: string) => log.push(`[${connector.name}] ${line}`);
      running.push(
        runConnector(connector, { bus: session.df.bus, secrets: new Secrets({ values: new Map(Object.entries(secrets)), env: {} }), signal: stop.signal, log: say }).catch((e: unknown) => {
          say(`stopped: ${(e as Error).message}`);
        }),
      );
    },
  };
}

describe('connector examples (golden)', () => {
  it('examples/connectors - MQTT sensor feed → car-sensors → sql-sink: the PostgreSQL table equals the golden speeding events', async () => {
    const mosquitto = new PrivateMosquitto();
    await mosquitto.start();
    cleanups.push(() => mosquitto.dispose());
    const pg = await testPostgres({ prefix: 'ssdk_cx' });
    cleanups.push(() => pg.cleanup());
    // The example's table, made by its own SQL file, in the test's schema.
    const url = new URL(pg.connectionString);
    url.searchParams.set('options', `-c search_path=${pg.schema}`);
    const db = openPostgresDatabase({ connectionString: url.toString() });
    cleanups.push(() => db.close());
    await db.query(await readFile(join(repo, 'examples/connectors/speeding-events.sql'), 'utf8'));

    const { run, log } = await embedded('examples/car-sensors/services.yaml');
    run(await loaded('examples/connectors/car-readings.mqtt-source.yaml'), { MQTT_URL: mosquitto.url });
    // Its positions under a name of this run's own: `ssdk_connectors.sink_positions` is one table
    // per database, and another run of this test at the same time must not share its rows.
    const sink = await loaded('examples/connectors/speeding-events.sql-sink.yaml');
    run({ ...sink, consumer: { ...sink.consumer, id: `speeding-events-out-${pg.schema}` } }, { DATABASE_URL: url.toString() });
    await until('the mqtt subscription', () => log.some((l) => l.includes('subscribed to `cars/+`')), 30_000, () => log.join('\n'));

    // The sensor feed, as the README runs it.
    const feed = spawn(process.execPath, [join(repo, 'examples/connectors/publish-readings.mjs')], { env: { ...process.env, MQTT_URL: mosquitto.url }, stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    feed.stderr!.on('data', (c: Buffer) => (said += c.toString()));
    expect(await new Promise((resolve) => feed.once('exit', resolve))).toBe(0);
    expect(said).toContain('published 578 readings');

    const expected = await golden('examples/car-sensors/expected/speeding-events.jsonl');
    const table = async () =>
      (await db.query<{ car: string; time: string; mph: number; fuel: number | null; speeding: boolean }>('SELECT car, time, mph, fuel, speeding FROM speeding_events ORDER BY car, time')).map((r) => ({ car: r.car, time: Number(r.time), mph: r.mph, fuel: r.fuel, speeding: r.speeding }));
    await until('every speeding event in the table', async () => (await table()).length >= expected.length, 90_000, () => log.join('\n'));
    const byCarTime = (a: unknown, b: unknown) => JSON.stringify([(a as { car: string }).car, (a as { time: number }).time]).localeCompare(JSON.stringify([(b as { car: string }).car, (b as { time: number }).time]));
    expect(await table()).toEqual([...expected].sort(byCarTime));
  }, 180_000);

  it('examples/connectors - webhook → word-count → http-sink: the endpoint gets the golden top words, window by window; a bad line is dead-lettered', async () => {
    const received: unknown[] = [];
    const keys = new Set<string>();
    const target = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        // The endpoint is idempotent, as the README asks: a repeated Idempotency-Key is taken once.
        const key = String(req.headers['idempotency-key']);
        if (!keys.has(key)) received.push(...(JSON.parse(body) as unknown[]));
        keys.add(key);
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise((resolve) => target.close(resolve)));
    const port = (target.address() as { port: number }).port;

    // The webhook file as shipped, on a port of the test's own instead of 8088.
    const hookPort = await freePort();
    const file = join(repo, 'examples/connectors/sentences.webhook.yaml');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('listen: 127.0.0.1:8088');
    const { connector: webhook, diagnostics } = parseConnectorFile(text.replace('listen: 127.0.0.1:8088', `listen: 127.0.0.1:${hookPort}`), file);
    expect(diagnostics).toEqual([]);

    const { session, run, log } = await embedded('examples/word-count/services.yaml');
    run(webhook!, { WEBHOOK_TOKEN: 'hook-secret-1' });
    run(await loaded('examples/connectors/top-words.http-sink.yaml'), { TOP_WORDS_URL: `http://127.0.0.1:${port}/top-words` });
    await until('the webhook', () => log.some((l) => l.includes('webhook listening')), 30_000, () => log.join('\n'));

    const sentences = await readFile(join(repo, 'examples/word-count/input/sentences.jsonl'), 'utf8');
    const post = (body: string, key: string) => fetch(`http://127.0.0.1:${hookPort}/sentences`, { method: 'POST', body, headers: { authorization: 'Bearer hook-secret-1', 'idempotency-key': key } });
    const res = await post(sentences, 'sentences-1');
    expect(await res.json()).toEqual({ accepted: 204, deadLettered: 0 });
    // The sender retrying the same request: stored once.
    expect((await post(sentences, 'sentences-1')).status).toBe(200);
    const bad = await post('{"text": "no value here"}\n', 'bad-1');
    expect(bad.status).toBe(422);
    // The input is finite: its end closes the last window, as `ssdk produce --end` would.
    await session.df.endInput();
    await session.df.ended();

    const expected = await golden('examples/word-count/expected/top-words.jsonl');
    await until('every window at the endpoint', () => received.length >= expected.length, 60_000, () => log.join('\n'));
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toEqual(expected);
    const dead = (await readTopic(session.df.bus, 'sentences-in.dead-letter')) as Array<{ reason: string; connector: string }>;
    expect(dead).toEqual([expect.objectContaining({ connector: 'sentences-in', reason: expect.stringContaining('line 1 is not a record') })]);
    expect(log.join('\n')).not.toContain('hook-secret-1');
  }, 180_000);
});
