/**
 * `sql-sink` (rows into PostgreSQL tables, exactly once) and `postgres-source` (new rows of a
 * table, polled by an ever-growing column). PostgreSQL is reached through @ssdk/state's
 * connection (`pg` lives there only).
 *
 * Exactly-once rows: one transaction writes a batch's rows AND moves the sink's position
 * (`ssdk_connectors.sink_positions`), so after any crash the committed rows and the committed
 * position agree, and reading resumes right after them. The position moves only from the value
 * this process read (a compare-and-set), so two processes of one connector cannot both commit
 * a batch. Rows go in as one statement per table (`jsonb_populate_recordset`: PostgreSQL
 * converts each JSON field to its column's type); a statement a row breaks (a constraint, a
 * type) is replayed row by row under savepoints, and only the rows at fault are dead-lettered.
 */
import type { PostgresSourceConfig, SqlSinkConfig, JsonSqlMapping } from '@ssdk/spec';
import { isTransient, openPostgresDatabase, type SqlDatabase, type SqlRunner } from '@ssdk/state';
import { BadRecordError, ConnectorConfigError, EndpointUnavailableError } from './errors.ts';
import { rowOfJsonSql, rowsOfFluvioOperation, type SqlRow } from './json-sql.ts';
import { publishSourceRecords, retrying, valueText, type ConnectorHost, type PositionStore, type SinkPosition, type SinkRecord, type SinkWriter, type SourceTopic } from './runtime.ts';

const POSITIONS = 'ssdk_connectors.sink_positions';

/** A driver error as the connector's: out of reach → retry; anything else stays as it is. */
function classify(error: unknown, what: string): unknown {
  if (isTransient(error)) return new EndpointUnavailableError(`${what}: PostgreSQL is out of reach (${(error as Error).message})`, { cause: error });
  return error;
}

export function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

interface TableInfo {
  columns: Set<string>;
}

export function sqlSinkWriter(host: ConnectorHost, config: SqlSinkConfig, mapping: JsonSqlMapping | undefined, consumerId: string): SinkWriter {
  const url = host.secrets.resolve(config.url);
  const db: SqlDatabase = openPostgresDatabase({ connectionString: url, applicationName: `ssdk-connector ${host.name}` });
  const tables = new Map<string, TableInfo>();
  /** The positions this process read or committed: the compare-and-set's "from". */
  const committed = new Map<number, SinkPosition>();

  const tableInfo = async (tx: SqlRunner, table: string): Promise<TableInfo | undefined> => {
    let info = tables.get(table);
    if (info) return info;
    const rows = await tx.query<{ column_name: string }>(
      `SELECT a.attname AS column_name FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
      [quoteIdent(table)],
    );
    if (rows.length === 0) return undefined;
    info = { columns: new Set(rows.map((r) => r.column_name)) };
    tables.set(table, info);
    return info;
  };

  /** The rows of a record, or why it cannot be one. */
  const rowsOf = (record: SinkRecord): SqlRow[] => {
    let value: unknown;
    try {
      value = JSON.parse(valueText(record)) as unknown;
    } catch (error) {
      throw new BadRecordError(`record value is not JSON: ${(error as Error).message}`);
    }
    if (mapping) return [rowOfJsonSql(mapping, value)];
    if (config.table !== undefined) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRecordError(`a row must be a JSON object, found ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
      return [{ table: config.table, operation: config.uniqueColumns.length > 0 ? 'upsert' : 'insert', uniqueColumns: config.uniqueColumns, values: value as Record<string, unknown> }];
    }
    return rowsOfFluvioOperation(value);
  };

  const insert = async (tx: SqlRunner, rows: SqlRow[]): Promise<void> => {
    const first = rows[0]!;
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
    const list = columns.map(quoteIdent).join(', ');
    const conflict =
      first.operation === 'upsert'
        ? ` ON CONFLICT (${first.uniqueColumns.map(quoteIdent).join(', ')}) DO ${columns.filter((c) => !first.uniqueColumns.includes(c)).length === 0 ? 'NOTHING' : `UPDATE SET ${columns.filter((c) => !first.uniqueColumns.includes(c)).map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`}`
        : '';
    await tx.query(`INSERT INTO ${quoteIdent(first.table)} (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::${quoteIdent(first.table)}, $1::jsonb)${conflict}`, [JSON.stringify(rows.map((r) => r.values))]);
  };

  return {
    async positions(topic, partitions) {
      try {
        await db.query('CREATE SCHEMA IF NOT EXISTS ssdk_connectors').catch(ignoreRace);
        // `stream`: which stream `seq` is a sequence of (the runner drops a position of another one).
        await db.query(`CREATE TABLE IF NOT EXISTS ${POSITIONS} (connector text NOT NULL, topic text NOT NULL, partition int NOT NULL, seq bigint NOT NULL, stream text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, partition))`).catch(ignoreRace);
        await db.query(`ALTER TABLE ${POSITIONS} ADD COLUMN IF NOT EXISTS stream text`).catch(ignoreRace);
        const rows = await db.query<{ partition: number; seq: number | string; stream: string | null }>(`SELECT partition, seq, stream FROM ${POSITIONS} WHERE connector = $1 AND topic = $2`, [consumerId, topic]);
        for (const p of partitions) committed.set(p, { seq: 0 });
        for (const row of rows) committed.set(row.partition, { seq: Number(row.seq), ...(row.stream !== null ? { stream: row.stream } : {}) });
        return new Map(committed);
      } catch (error) {
        throw classify(error, 'read the sink positions');
      }
    },
    async write(batch, ctx) {
      // Rows by table and operation, in record order; a record that is no row is rejected now.
      const groups = new Map<string, { rows: SqlRow[]; records: SinkRecord[] }>();
      for (const message of batch.messages) {
        for (const record of message.records) {
          let rows: SqlRow[];
          try {
            rows = rowsOf(record);
          } catch (error) {
            if (!(error instanceof BadRecordError)) throw error;
            ctx.reject(record, error.message);
            continue;
          }
          for (const row of rows) {
            const key = `${row.table}|${row.operation}|${row.uniqueColumns.join(',')}`;
            const group = groups.get(key) ?? { rows: [], records: [] };
            group.rows.push(row);
            group.records.push(record);
            groups.set(key, group);
          }
        }
      }
      const from = committed.get(batch.partition) ?? { seq: 0 };
      try {
        await db.transaction(async (tx) => {
          for (const { rows, records } of groups.values()) {
            const info = await tableInfo(tx, rows[0]!.table);
            const accepted: SqlRow[] = [];
            const acceptedRecords: SinkRecord[] = [];
            rows.forEach((row, i) => {
              const unknown = info ? Object.keys(row.values).filter((c) => !info.columns.has(c)) : [];
              if (!info) ctx.reject(records[i]!, `table \`${row.table}\` does not exist`);
              else if (unknown.length > 0) ctx.reject(records[i]!, `table \`${row.table}\` has no column ${unknown.map((c) => `\`${c}\``).join(', ')}`);
              else {
                accepted.push(row);
                acceptedRecords.push(records[i]!);
              }
            });
            if (accepted.length === 0) continue;
            await tx.query('SAVEPOINT batch');
            try {
              // An upsert statement may touch a row once: the last record of a key wins, as it would one by one.
              await insert(tx, accepted[0]!.operation === 'upsert' ? lastPerKey(accepted) : accepted);
              await tx.query('RELEASE SAVEPOINT batch');
            } catch (error) {
              if (isTransient(error)) throw error;
              await tx.query('ROLLBACK TO SAVEPOINT batch');
              for (let i = 0; i < accepted.length; i++) {
                await tx.query('SAVEPOINT one');
                try {
                  await insert(tx, [accepted[i]!]);
                  await tx.query('RELEASE SAVEPOINT one');
                } catch (rowError) {
                  if (isTransient(rowError)) throw rowError;
                  await tx.query('ROLLBACK TO SAVEPOINT one');
                  ctx.reject(acceptedRecords[i]!, `PostgreSQL refused the row: ${(rowError as Error).message}`);
                }
              }
            }
          }
          await ctx.publishRejected();
          const moved = await tx.query(
            `INSERT INTO ${POSITIONS} AS p (connector, topic, partition, seq, stream) VALUES ($1, $2, $3, $5, $7)
             ON CONFLICT (connector, topic, partition) DO UPDATE SET seq = EXCLUDED.seq, stream = EXCLUDED.stream, updated_at = now()
               WHERE p.seq = $4 AND p.stream IS NOT DISTINCT FROM $6
             RETURNING seq`,
            [consumerId, batch.topic, batch.partition, from.seq, batch.lastSeq, from.stream ?? null, batch.stream],
          );
          if (moved.length === 0) throw new ConnectorConfigError(`another process of connector \`${consumerId}\` committed partition ${batch.partition} of \`${batch.topic}\` first: run one process per partition (meta.consumer.partition)`);
        });
      } catch (error) {
        throw classify(error, 'write rows');
      }
      committed.set(batch.partition, { seq: batch.lastSeq, stream: batch.stream });
    },
    async close() {
      await db.close();
    },
  };
}

function lastPerKey(rows: SqlRow[]): SqlRow[] {
  const byKey = new Map<string, SqlRow>();
  for (const row of rows) {
    const key = JSON.stringify(row.uniqueColumns.map((c) => row.values[c]));
    byKey.delete(key);
    byKey.set(key, row);
  }
  return [...byKey.values()];
}

/** Two processes creating the same table at once: the loser's error says it exists. */
function ignoreRace(error: unknown): void {
  const code = (error as { code?: string }).code;
  if (code === '23505' || code === '42P06' || code === '42P07') return;
  throw error;
}

// ---------------------------------------------------------------------------------------------
// postgres-source (poll)

/**
 * Polls `SELECT ... WHERE column > last ORDER BY column`: each row is a record (its JSON), keyed
 * by the column's value and published under an id made of it, so a row published again after a
 * crash (before its position was saved) is a duplicate the bus drops.
 */
export async function runPostgresPoll(host: ConnectorHost, config: PostgresSourceConfig, topic: SourceTopic, positions: PositionStore): Promise<void> {
  const url = host.secrets.resolve(config.url);
  const db = openPostgresDatabase({ connectionString: url, applicationName: `ssdk-connector ${host.name}` });
  const table = quoteIdent(config.table!);
  const column = quoteIdent(config.column!);
  const rr = { next: 0 };
  let last = await positions.load(0);
  try {
    while (!host.signal.aborted) {
      const rows = await retrying(host, `poll ${config.table}`, async () => {
        try {
          return await db.query<{ row: Record<string, unknown>; position: string }>(
            `SELECT row_to_json(t) AS row, t.${column}::text AS position FROM ${table} t ${last === undefined ? '' : `WHERE t.${column} > $1`} ORDER BY t.${column} LIMIT 1000`,
            last === undefined ? [] : [last],
          );
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === '42P01' || code === '42703') throw new ConnectorConfigError(`cannot poll \`${config.table}\` by \`${config.column}\`: ${(error as Error).message}`, { cause: error });
          throw classify(error, `poll ${config.table}`);
        }
      });
      if (rows.length > 0) {
        await publishSourceRecords(host, topic, rows.map((r) => ({ key: r.position, value: JSON.stringify(r.row), id: `pg|${config.table}|${r.position}` })), rr);
        last = rows.at(-1)!.position;
        await positions.save(0, last);
      }
      if (rows.length < 1000) await new Promise((resolve) => setTimeout(resolve, config.intervalMs));
    }
  } finally {
    await db.close();
  }
}
