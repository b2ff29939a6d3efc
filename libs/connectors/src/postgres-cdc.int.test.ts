/**
 * postgres-source `mode: cdc` against a PostgreSQL cluster of the test's own (wal_level =
 * logical) and the NATS server: inserts, updates and deletes arrive as change records in
 * commit order, the connector killed with SIGKILL mid-stream and started again loses none and
 * repeats none; a server without logical decoding is a clear error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresDatabase, type SqlDatabase } from '@ssdk/state';
import { testPostgres, uniqueName, until } from '@ssdk/testing';
import { ConnectorProcess, PrivatePostgres, readTopic, natsSuite, sleep } from './connectors.testkit.ts';

let pg: PrivatePostgres;
let db: SqlDatabase;
const suite = natsSuite('cdc-test');

beforeAll(async () => {
  pg = new PrivatePostgres();
  await pg.start();
  db = openPostgresDatabase({ connectionString: pg.url });
}, 120_000);

afterAll(async () => {
  await db?.close();
  await pg?.dispose();
});

interface Change {
  op: string;
  table: string;
  row: { id: number; item?: string; qty?: number };
}

describe('postgres-source cdc', () => {
  it('postgres-source cdc - inserts, updates and deletes from the slot; kill -9 mid-stream loses and repeats nothing', async () => {
    const name = uniqueName('orders-cdc').replace(/_/g, '-');
    await db.query('CREATE TABLE orders (id bigint PRIMARY KEY, item text NOT NULL, qty int NOT NULL)');
    await db.query('CREATE TABLE other (id int)');
    const source = new ConnectorProcess(suite.box.write(`${name}.yaml`, `meta: {version: latest, name: ${name}, type: postgres-source, topic: ${name}}
postgres: {url: "\${{ secrets.SOURCE_URL }}", mode: cdc, table: orders, column: id, interval: 50ms}
`), suite.nats, { SOURCE_URL: pg.url });
    source.start();
    await source.waitFor('created replication slot');
    const expected: Change[] = [];
    const write = async (batch: number) => {
      // One transaction: 10 inserts, an update of the first, a delete of an earlier batch's row, and a row of another table.
      await db.transaction(async (tx) => {
        for (let i = 0; i < 10; i++) {
          const id = batch * 10 + i;
          await tx.query('INSERT INTO orders VALUES ($1, $2, $3)', [id, `item '${id}'`, i]);
          expected.push({ op: 'insert', table: 'public.orders', row: { id, item: `item '${id}'`, qty: i } });
        }
        await tx.query('UPDATE orders SET qty = qty + 100 WHERE id = $1', [batch * 10]);
        expected.push({ op: 'update', table: 'public.orders', row: { id: batch * 10, item: `item '${batch * 10}'`, qty: 100 } });
        if (batch > 0) {
          await tx.query('DELETE FROM orders WHERE id = $1', [batch * 10 - 1]);
          expected.push({ op: 'delete', table: 'public.orders', row: { id: batch * 10 - 1 } });
        }
        await tx.query('INSERT INTO other VALUES ($1)', [batch]);
      });
    };
    for (let batch = 0; batch < 40; batch++) {
      await write(batch);
      if (batch === 15) {
        await sleep(150);
        await source.kill9();
        source.start();
      }
    }
    const changes = async () => (await readTopic(suite.bus, name)) as Change[];
    await until('every change on the topic', async () => (await changes()).length >= expected.length, 90_000, () => source.output.slice(-1500));
    await sleep(1_000);
    const got = await changes();
    expect(got.length).toBe(expected.length);
    const byId = (list: Change[]) => {
      const m = new Map<number, Change[]>();
      for (const c of list) m.set(c.row.id, [...(m.get(c.row.id) ?? []), c]);
      return m;
    };
    // Keyed by id: each row's changes in commit order, exactly once.
    expect(byId(got)).toEqual(byId(expected));
    expect(await source.stop()).toBe(0);
  }, 240_000);

  it('postgres-source cdc - a server without wal_level = logical is named in a clear error', async () => {
    const shared = await testPostgres();
    try {
      const name = uniqueName('no-wal').replace(/_/g, '-');
      const [level] = await openPostgresDatabase({ connectionString: shared.connectionString }).query<{ wal_level: string }>('SHOW wal_level');
      // The shared server of these machines runs with `replica` (hence the cluster of the test's own above).
      expect(level?.wal_level).toBe('replica');
      const source = new ConnectorProcess(suite.box.write(`${name}.yaml`, `meta: {version: latest, name: ${name}, type: postgres-source, topic: ${name}}
postgres: {url: "\${{ secrets.SOURCE_URL }}", mode: cdc}
`), suite.nats, { SOURCE_URL: shared.connectionString });
      source.start();
      await source.waitFor('change data capture needs wal_level = logical');
      await source.stop();
    } finally {
      await shared.cleanup();
    }
  }, 60_000);
});
