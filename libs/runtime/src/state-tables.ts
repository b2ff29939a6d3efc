/**
 * The plan's state tables as `@ssdk/state` creates them: one table per state, keys by their
 * declared type, row state as typed columns, and the Fluvio-named views beside them.
 */
import type { TypeRef } from '@ssdk/spec';
import { fromPlanType, planTypeTable, resolveType, type PhysicalPlan } from '@ssdk/plan';
import type { PlanStateAccess } from '@ssdk/plan';
import type { RowColumnType, StateKeyType, StateTableSpec } from '@ssdk/state';

/**
 * Where units keep the rows of their own logic (`OperatorLogic.takeRows`: a session unit's held
 * records, a join's sides), one row per unit and row id (`heldRowKey`), written when it changes.
 * As a state of the unit that only the runtime names (`#` is in no services file's state name),
 * its rows go through the unit's commit, partitions and fencing as its states' do. Created for
 * plans that have such units.
 */
export const HELD_ROWS: PlanStateAccess = { name: '#held', table: '_held', access: 'read-write' };

/** A held row's key: the unit and the logic's id for the row (units of one plan share the table). */
export function heldRowKey(unit: string, id: string): string {
  return `${unit}\u001f${id}`;
}

/** The logic's id of a held row of `unit`, or undefined when the row is another unit's. */
export function heldRowId(unit: string, key: unknown): string | undefined {
  const prefix = `${unit}\u001f`;
  return typeof key === 'string' && key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
}

/**
 * SQL written for Fluvio's SDF names a state by its name in snake case (`count_per_word_a`) and
 * its key `_key` (or by its own name in backticks): views per state with those names, beside the table ssdk names
 * `<service>_<state>`, lets such SQL run unchanged (`ctx.sql`, the shell's `sql`, `ssdk state --sql`).
 */
export function fluvioAliases(plan: PhysicalPlan): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const s of plan.states) {
    const view = s.name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    if (!aliases.has(view)) aliases.set(view, s.table);
    // SDF's SQL also quotes the state's own name (``from `count-per-word` ``, which query() reads as "count-per-word").
    if (!aliases.has(s.name)) aliases.set(s.name, s.table);
  }
  return aliases;
}

/** One table per state of the plan: keys by their declared type, row state as typed columns. */
export function tableSpecs(plan: PhysicalPlan): StateTableSpec[] {
  const types = planTypeTable(plan);
  const specs: StateTableSpec[] = plan.states.map((s) => {
    const key = resolveType(fromPlanType(s.key), types);
    const value = resolveType(fromPlanType(s.value), types);
    return { table: s.table, keyType: keyTypeOf(key), windowed: s.windowed, value: valueSpecOf(value) };
  });
  if (plan.operators.some((op) => op.join !== undefined || op.window?.kind === 'session')) specs.push({ table: HELD_ROWS.table, keyType: 'string', windowed: false, value: { kind: 'json' } });
  return specs;
}

function keyTypeOf(t: TypeRef | undefined): StateKeyType {
  if (t?.kind === 'primitive') {
    if (t.name === 'bool') return 'boolean';
    if (t.name !== 'string' && t.name !== 'bytes') return 'number';
  }
  if (t?.kind === 'number') return 'number';
  return 'string';
}

function valueSpecOf(t: TypeRef | undefined): StateTableSpec['value'] {
  if (t?.kind !== 'arrow-row') return { kind: 'json' };
  return { kind: 'row', columns: t.columns.map((c) => ({ name: c.name, type: columnType(c.type) })) };
}

function columnType(t: string): RowColumnType {
  if (t === 'timestamp') return 'timestamp';
  if (t === 'bool') return 'bool';
  if (t === 'string' || t === 'bytes') return 'string';
  if (t === 'f32' || t === 'f64') return 'f64';
  return 'i64';
}
