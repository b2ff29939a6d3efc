/**
 * postgres-source `mode: cdc`: change data capture from a logical replication slot decoded by
 * `test_decoding` (shipped with PostgreSQL: no extension to install), read through the SQL
 * interface (`pg_logical_slot_peek_changes`), so the connector needs only an ordinary
 * connection with the REPLICATION attribute and a server with `wal_level = logical`.
 *
 * Nothing is lost and nothing is repeated: changes are peeked (the slot keeps them), published
 * whole transactions at a time, each change under an id made of its transaction's id and its
 * place in it, and only then is the slot advanced past that transaction's commit. A connector
 * killed in between peeks the same transactions again and publishes the same ids, which the
 * bus drops as duplicates.
 */
import type { PostgresSourceConfig } from '@ssdk/spec';
import { isTransient, openPostgresDatabase } from '@ssdk/state';
import { ConnectorConfigError, EndpointUnavailableError } from './errors.ts';
import { retrying, SourceBatcher, type ConnectorHost, type SourceRecord, type SourceTopic } from './runtime.ts';

/** Transactions taken per peek (the server stops at the first transaction boundary past it). */
const PEEK_CHANGES = 5_000;

/** One row change as a record value: `{op, table, row}` (`row` holds the key only for a delete). */
export interface ChangeRecord {
  op: 'insert' | 'update' | 'delete';
  table: string;
  row: Record<string, unknown>;
}

export async function runPostgresCdc(host: ConnectorHost, config: PostgresSourceConfig, topic: SourceTopic): Promise<void> {
  const url = host.secrets.resolve(config.url);
  const db = openPostgresDatabase({ connectionString: url, applicationName: `ssdk-connector ${host.name}` });
  const slot = config.slot ?? host.name.replace(/[^a-z0-9_]/g, '_');
  const publisher = new SourceBatcher(host, topic, {});
  const wanted = config.table === undefined ? undefined : qualified(config.table);
  const query = async <T>(what: string, sql: string, params: unknown[] = []): Promise<T[]> =>
    retrying(host, what, async () => {
      try {
        return await db.query<T>(sql, params);
      } catch (error) {
        if (isTransient(error)) throw new EndpointUnavailableError(`${what}: PostgreSQL is out of reach (${(error as Error).message})`, { cause: error });
        throw new ConnectorConfigError(`${what}: ${(error as Error).message}`, { cause: error });
      }
    });
  try {
    const [level] = await query<{ wal_level: string }>('read wal_level', 'SHOW wal_level');
    if (level?.wal_level !== 'logical') {
      throw new ConnectorConfigError(`change data capture needs wal_level = logical; this server has \`${level?.wal_level}\` (set it and restart PostgreSQL, or use \`mode: poll\`)`);
    }
    const found = await query<{ plugin: string }>('find the slot', 'SELECT plugin FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (found.length === 0) {
      await query('create the slot', `SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [slot]);
      host.log(`cdc: created replication slot \`${slot}\` (changes from now on)`);
    } else if (found[0]!.plugin !== 'test_decoding') {
      throw new ConnectorConfigError(`replication slot \`${slot}\` decodes with \`${found[0]!.plugin}\`; ssdk reads test_decoding slots: name another \`slot\``);
    } else host.log(`cdc: reading replication slot \`${slot}\``);

    while (!host.signal.aborted) {
      const rows = await query<{ lsn: string; xid: string; data: string }>('peek changes', 'SELECT lsn::text AS lsn, xid::text AS xid, data FROM pg_logical_slot_peek_changes($1, NULL, $2)', [slot, PEEK_CHANGES]);
      const records: SourceRecord[] = [];
      let commitLsn: string | undefined;
      let index = 0;
      for (const row of rows) {
        if (row.data.startsWith('BEGIN')) {
          index = 0;
          continue;
        }
        if (row.data.startsWith('COMMIT')) {
          commitLsn = row.lsn;
          continue;
        }
        const change = parseTestDecoding(row.data);
        const place = index++;
        if (change === undefined || (wanted !== undefined && change.table !== wanted)) continue;
        const key = config.column !== undefined ? change.row[config.column] : undefined;
        records.push({
          ...(key !== undefined && key !== null ? { key: typeof key === 'object' ? JSON.stringify(key) : (key as string | number | boolean) } : {}),
          value: JSON.stringify(change),
          id: `pgcdc|${slot}|${row.xid}|${place}`,
        });
      }
      if (records.length > 0) await publisher.publish(records);
      // Past the last whole transaction published (or skipped: another table's).
      if (commitLsn !== undefined) await query('advance the slot', 'SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [slot, commitLsn]);
      if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, config.intervalMs));
    }
  } finally {
    await db.close();
  }
}

/** `public.orders` for `orders`; a qualified name as written. */
function qualified(table: string): string {
  return table.includes('.') ? table : `public.${table}`;
}

/**
 * A `test_decoding` line — `table public.t: INSERT: id[bigint]:1 item[text]:'it''s'` — as a
 * change; an update of a table with REPLICA IDENTITY FULL has `old-key:` and `new-tuple:`
 * parts, of which the new tuple is the row. Lines that are no row change (a TRUNCATE, a
 * message) are undefined.
 */
export function parseTestDecoding(line: string): ChangeRecord | undefined {
  const head = /^table ((?:"(?:[^"]|"")*"|[^ .]+)\.(?:"(?:[^"]|"")*"|[^:]+)): (INSERT|UPDATE|DELETE): /.exec(line);
  if (!head) return undefined;
  const table = head[1]!.replace(/"((?:[^"]|"")*)"/g, (_m, name: string) => name.replace(/""/g, '"'));
  const op = head[2]!.toLowerCase() as ChangeRecord['op'];
  let body = line.slice(head[0].length);
  const newTuple = body.indexOf('new-tuple: ');
  if (newTuple >= 0) body = body.slice(newTuple + 'new-tuple: '.length);
  else if (body.startsWith('old-key: ')) body = body.slice('old-key: '.length);
  const row: Record<string, unknown> = {};
  const column = /((?:"(?:[^"]|"")*"|[^\s[]+))\[([^\]]+)\]:('(?:[^']|'')*'|\S+)\s*/y;
  for (let m = column.exec(body); m !== null; m = column.exec(body)) {
    const name = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!;
    row[name] = columnValue(m[2]!, m[3]!);
  }
  return { op, table, row };
}

const INTEGER = new Set(['smallint', 'integer', 'bigint']);
const FLOAT = new Set(['real', 'double precision']);

/** A column's text as JSON: numbers and booleans as such, JSON parsed, the rest as text. */
function columnValue(type: string, text: string): unknown {
  if (text === 'null') return null;
  if (text === 'unchanged-toast-datum') return undefined;
  const value = text.startsWith("'") ? text.slice(1, -1).replace(/''/g, "'") : text;
  if (INTEGER.has(type)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  if (FLOAT.has(type)) return Number(value);
  if (type === 'boolean') return value === 'true';
  if (type === 'json' || type === 'jsonb') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}
