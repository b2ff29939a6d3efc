/**
 * `ssdk state NS/NAME [STATE] [--key K] [--sql QUERY]`: the committed state of a deployed
 * dataflow, read-only, straight from PostgreSQL (the planner need not run): the states with
 * their row counts, one state's entries, one key, or any read-only SQL over the state schema.
 */
import { loadDeployedRecord, type DeployedDataflow } from '@ssdk/control-plane';
import { openPostgresStore, type StateStore } from '@ssdk/state';
import type { PlanState } from '@ssdk/plan';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { controlSchemaOf, controlSchemaOption, postgresOption, postgresUrlOf } from '../distributed-control.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { cell, compactJson, renderTable } from '../shell/table.ts';

export const stateSpec: CommandSpec = {
  name: 'state',
  summary: 'Query the committed state of a deployed dataflow (read-only): list states, show entries or a key, run SQL.',
  usage: 'ssdk state NS/NAME [STATE] [--key K] [--sql QUERY] [--json] [--postgres URL] [--control-schema NAME]',
  options: {
    key: { type: 'string', valueName: 'K', description: 'only this key (its text, or its JSON)' },
    sql: { type: 'string', valueName: 'QUERY', description: 'one read-only SQL statement over the dataflow\'s state schema (tables as `ssdk state NS/NAME` lists them)' },
    json: { type: 'boolean', description: 'print rows as JSON lines' },
    ...postgresOption,
    ...controlSchemaOption,
  },
  minPositionals: 1,
  maxPositionals: 2,
  examples: [
    'ssdk state examples/word-count',
    'ssdk state examples/word-count word-totals --key river',
    'ssdk state examples/word-count --sql "SELECT key, value FROM count_words_word_totals ORDER BY value DESC LIMIT 5"',
  ],
};

export async function runState(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const [ref, stateName] = cmd.positionals as [string, string | undefined];
  const postgres = postgresUrlOf(cmd.values);
  const sql = typeof cmd.values['sql'] === 'string' ? cmd.values['sql'] : undefined;
  if (sql !== undefined && stateName !== undefined) throw new UsageError('give STATE or --sql, not both', 'state');
  const controlSchema = controlSchemaOf(cmd.values);
  const deployment = await loadDeployedRecord({ databaseUrl: postgres, dataflow: ref, controlSchema });
  const store = await openPostgresStore({ connectionString: postgres, schema: deployment.stateSchema, applicationName: 'ssdk state' });
  try {
    const json = cmd.values['json'] === true;
    if (sql !== undefined) return printRows(io, await store.query(sql), json);
    if (stateName === undefined) return await listStates(io, store, deployment, json);
    const state = resolveState(deployment, stateName);
    const key = typeof cmd.values['key'] === 'string' ? cmd.values['key'] : undefined;
    const entries = (await store.scan(state.table)).filter((e) => key === undefined || String(e.key) === key || JSON.stringify(e.key) === key);
    const rows = entries.map((e) => ({ ...(e.window ? { window_start: e.window.start, window_end: e.window.end } : {}), key: e.key, value: e.value }));
    if (key !== undefined && rows.length === 0 && !json) {
      io.err(`${state.name} has no key \`${key}\`\n`);
      return EXIT_OK;
    }
    return printRows(io, rows, json);
  } finally {
    await store.close();
  }
}

async function listStates(io: CliIo, store: StateStore, d: DeployedDataflow, json: boolean): Promise<number> {
  const rows: Record<string, unknown>[] = [];
  for (const s of d.plan.states) {
    const [count] = await store.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${s.table.replaceAll('"', '""')}"`);
    rows.push({ state: s.name, owner: s.owner, table: s.table, key: s.keyType, value: s.valueType, windowed: s.windowed, rows: count?.n ?? 0 });
  }
  if (rows.length === 0 && !json) {
    io.err(`${d.namespace}/${d.name} keeps no state\n`);
    return EXIT_OK;
  }
  return printRows(io, rows, json);
}

function printRows(io: CliIo, rows: Record<string, unknown>[], json: boolean): number {
  if (json) {
    for (const r of rows) io.out(compactJson(r) + '\n');
    return EXIT_OK;
  }
  if (rows.length === 0) {
    io.err('(no rows)\n');
    return EXIT_OK;
  }
  const headers = Object.keys(rows[0]!);
  io.out(renderTable(headers, rows.map((r) => headers.map((h) => cell(r[h])))));
  return EXIT_OK;
}

/** A state by name, `owner.name`, or table name. */
function resolveState(d: DeployedDataflow, name: string): PlanState {
  const states = d.plan.states;
  const byName = states.filter((s) => s.name === name);
  if (byName.length === 1) return byName[0]!;
  const exact = states.find((s) => `${s.owner}.${s.name}` === name || s.table === name);
  if (exact) return exact;
  if (byName.length > 1) throw new UsageError(`two services have a state \`${name}\`: name one of ${byName.map((s) => `${s.owner}.${s.name}`).join(', ')}`, 'state');
  throw new UsageError(`${d.namespace}/${d.name} has no state \`${name}\`${states.length ? `: its states are ${states.map((s) => s.name).join(', ')}` : ''}`, 'state');
}
