/**
 * postgres-source (polling) against the real PostgreSQL and NATS servers: new rows in order of
 * an ever-growing column, and a restart resumes after the last published row without repeats.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, type NatsBus } from '@ssdk/bus';
import { openPostgresDatabase, type SqlDatabase } from '@ssdk/state';
import { parseConnectorFile } from '@ssdk/spec';
import { testNats, testPostgres, uniqueName, until, type TestNats, type TestPostgres } from '@ssdk/testing';
import { readTopic } from './connectors.testkit.ts';
import { runConnector } from './run.ts';
import { Secrets } from './secrets.ts';

let nats: TestNats;
let pg: TestPostgres;
let bus: NatsBus;
let db: SqlDatabase;

beforeAll(async () => {
  nats = await testNats();
  pg = await testPostgres();
  bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix });
  db = openPostgresDatabase({ connectionString: pg.connectionString });
});

afterAll(async () => {
  await bus?.close();
  await db?.close();
  await pg?.cleanup();
  await nats?.cleanup();
});

describe('postgres-source', () => {
  it('postgres-source - polls new rows by id; a restart resumes after the last one, no repeats', async () => {
    const name = uniqueName('orders').replace(/_/g, '-');
    const table = `${pg.schema}.orders`;
    await db.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, item text NOT NULL)`);
    await db.query(`INSERT INTO ${table} (item) SELECT 'item-' || g FROM generate_series(1, 25) g`);
    const { connector, diagnostics } = parseConnectorFile(`meta: {version: latest, name: ${name}, type: postgres-source, topic: ${name}}
postgres: {url: "\${{ secrets.SOURCE_URL }}", table: ${table}, column: id, interval: 100ms}
`, 'pg.yaml');
    expect(diagnostics).toEqual([]);
    const secrets = () => new Secrets({ values: new Map([['SOURCE_URL', pg.connectionString]]) });
    const items = async () => ((await readTopic(bus, name)) as Array<{ item: string }>).map((r) => r.item);
    let stop = new AbortController();
    let running = runConnector(connector!, { bus, secrets: secrets(), signal: stop.signal, partitions: 2 });
    await until('the first rows', async () => (await items()).length === 25);
    stop.abort();
    await running;
    await db.query(`INSERT INTO ${table} (item) SELECT 'item-' || g FROM generate_series(26, 40) g`);
    stop = new AbortController();
    running = runConnector(connector!, { bus, secrets: secrets(), signal: stop.signal });
    await until('the new rows', async () => (await items()).length >= 40);
    await new Promise((r) => setTimeout(r, 500));
    stop.abort();
    await running;
    const got = await items();
    expect(got.length).toBe(40);
    expect(new Set(got)).toEqual(new Set(Array.from({ length: 40 }, (_, i) => `item-${i + 1}`)));
  }, 120_000);
});
