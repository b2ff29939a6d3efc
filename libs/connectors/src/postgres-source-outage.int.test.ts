/**
 * postgres-source (poll and cdc) with the database out of reach mid-stream: the connector talks
 * to PostgreSQL through a TCP proxy of the test's own, which cuts every connection and refuses
 * new ones for SSDK_CONNECTOR_OUTAGE_MS while rows keep being written straight to the server.
 * Every change arrives, in order (one partition, so the topic's order is the whole order), none twice.
 */
import { describe, expect, it } from 'vitest';
import { openPostgresDatabase, type SqlDatabase } from '@ssdk/state';
import { testPostgres, uniqueName, until, type TestPostgres } from '@ssdk/testing';
import { ConnectorProcess, OUTAGE_MS, PrivatePostgres, readTopic, natsSuite, sleep, TcpProxy } from './connectors.testkit.ts';

const suite = natsSuite('pg-source-outage-test');

describe('postgres-source, database out of reach', () => {
  it('postgres-source poll - PostgreSQL out of reach mid-stream: every row on the topic, in order, none twice', async () => {
    const pg: TestPostgres = await testPostgres();
    const db: SqlDatabase = openPostgresDatabase({ connectionString: pg.connectionString });
    const proxy = new TcpProxy({ host: '127.0.0.1', port: Number(new URL(pg.connectionString).port || 5432) });
    await proxy.up();
    try {
      const name = uniqueName('h9-pg-poll').replace(/_/g, '-');
      const table = `${pg.schema}.orders`;
      await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, item text NOT NULL)`);
      const source = new ConnectorProcess(suite.box.write(`${name}.yaml`, `apiVersion: 0.2.0
meta: {version: latest, name: ${name}, type: postgres-source, topic: {meta: {name: ${name}}, partition: {count: 1}}}
postgres: {url: "\${{ secrets.SOURCE_URL }}", table: ${table}, column: id, interval: 50ms}
`), suite.nats, { SOURCE_URL: proxy.via(pg.connectionString) });
      source.start();
      const ids = async () => ((await readTopic(suite.bus, name)) as Array<{ id: number }>).map((r) => Number(r.id));
      const total = 300;
      for (let id = 1; id <= total; id++) {
        await db.query(`INSERT INTO ${table} VALUES ($1, $2)`, [id, `item-${id}`]);
        if (id === 100) {
          await until('rows on the topic before the outage', async () => (await ids()).length > 0, 30_000, () => source.output.slice(-1500));
          await proxy.down();
        }
        if (id === 200) {
          await sleep(OUTAGE_MS);
          await proxy.up();
        }
      }
      await until('every row on the topic', async () => (await ids()).length >= total, 40_000, () => source.output.slice(-1500));
      await sleep(300);
      expect(await ids()).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(source.output).toMatch(/out of reach|retry/i);
      expect(await source.stop()).toBe(0);
    } finally {
      await proxy.down();
      await db.close();
      await pg.cleanup();
    }
  }, 60_000);

  it('postgres-source cdc - PostgreSQL out of reach mid-stream: every change on the topic, in commit order, none twice', async () => {
    const pg = new PrivatePostgres();
    await pg.start();
    const db = openPostgresDatabase({ connectionString: pg.url });
    const proxy = new TcpProxy({ host: '127.0.0.1', port: pg.port });
    await proxy.up();
    try {
      const name = uniqueName('h9-pg-cdc').replace(/_/g, '-');
      await db.query('CREATE TABLE orders (id bigint PRIMARY KEY, qty int NOT NULL)');
      const source = new ConnectorProcess(suite.box.write(`${name}.yaml`, `apiVersion: 0.2.0
meta: {version: latest, name: ${name}, type: postgres-source, topic: {meta: {name: ${name}}, partition: {count: 1}}}
postgres: {url: "\${{ secrets.SOURCE_URL }}", mode: cdc, table: orders, interval: 50ms}
`), suite.nats, { SOURCE_URL: proxy.via(pg.url) });
      source.start();
      await source.waitFor('created replication slot', 30_000);
      const expected: Array<{ op: string; id: number; qty?: number }> = [];
      const changes = async () => ((await readTopic(suite.bus, name)) as Array<{ op: string; row: { id: number; qty?: number } }>).map((c) => (c.op === 'delete' ? { op: c.op, id: Number(c.row.id) } : { op: c.op, id: Number(c.row.id), qty: c.row.qty }));
      for (let batch = 0; batch < 30; batch++) {
        // One transaction: 5 inserts, an update of the first, and a delete of the previous batch's last row.
        await db.transaction(async (tx) => {
          for (let i = 0; i < 5; i++) {
            await tx.query('INSERT INTO orders VALUES ($1, $2)', [batch * 5 + i, i]);
            expected.push({ op: 'insert', id: batch * 5 + i, qty: i });
          }
          await tx.query('UPDATE orders SET qty = qty + 100 WHERE id = $1', [batch * 5]);
          expected.push({ op: 'update', id: batch * 5, qty: 100 });
          if (batch > 0) {
            await tx.query('DELETE FROM orders WHERE id = $1', [batch * 5 - 1]);
            expected.push({ op: 'delete', id: batch * 5 - 1 });
          }
        });
        if (batch === 10) {
          await until('changes on the topic before the outage', async () => (await changes()).length > 0, 30_000, () => source.output.slice(-1500));
          await proxy.down();
        }
        if (batch === 20) {
          await sleep(OUTAGE_MS);
          await proxy.up();
        }
      }
      await until('every change on the topic', async () => (await changes()).length >= expected.length, 40_000, () => source.output.slice(-1500));
      await sleep(300);
      expect(await changes()).toEqual(expected);
      expect(source.output).toMatch(/out of reach|retry/i);
      expect(await source.stop()).toBe(0);
    } finally {
      await proxy.down();
      await db.close();
      await pg.dispose();
    }
  }, 60_000);
});
