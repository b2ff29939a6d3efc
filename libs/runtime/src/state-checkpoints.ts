/**
 * Checkpoints in PostgreSQL (a server, or PGlite embedded): state changes, dropped windows and
 * a unit's read positions + progress in one transaction per batch, through `@ssdk/state`.
 * The state tables are the plain tables users query with SQL; a unit's progress is one row of
 * `_offsets` (partition 0) whose `meta` holds every input channel's position and the unit's
 * own progress (watermark, open windows).
 */
import type { TypeRef } from '@ssdk/spec';
import { fromPlanType, planTypeTable, resolveType, type PhysicalPlan } from '@ssdk/plan';
import { partitionOfText } from '@ssdk/records';
import type { RowColumnType, StateKeyType, StateStore, StateTableSpec } from '@ssdk/state';
import { decodeMeta, encodeMeta, progressOf, type CheckpointStore, type Channel } from './checkpoint.ts';

export interface StateCheckpointOptions {
  store: StateStore;
  plan: PhysicalPlan;
}

/** Creates the state tables of the plan (idempotent) and returns a checkpoint store over them. */
export async function stateCheckpointStore(o: StateCheckpointOptions): Promise<CheckpointStore> {
  const { store, plan } = o;
  const specs = tableSpecs(plan);
  await store.migrate(specs);
  await store.createAliases(fluvioAliases(plan));
  const partitionsOf = new Map(plan.states.map((s) => [s.table, plan.operators.find((op) => op.service === s.owner)?.partitions ?? 1]));
  return {
    async load(unit) {
      const row = (await store.offsets(unit)).get(0);
      const meta = (row?.meta ?? null) as { channels?: Record<Channel, number>; logic?: string; progress?: string } | null;
      return { offsets: new Map(Object.entries(meta?.channels ?? {})), meta: decodeMeta(meta?.logic ?? null), ...progressOf(meta?.progress) };
    },
    async loadState(_unit, states, into) {
      for (const s of states) {
        for (const e of await store.scan(s.table, { withUpdatedAt: true })) into.load(s.name, e.key, e.value, e.window, e.updatedAt);
      }
    },
    async commit(unit, states, c) {
      const tableOf = new Map(states.map((s) => [s.name, s.table]));
      const writes = c.changes.map((ch) => {
        const table = tableOf.get(ch.state);
        if (!table) throw new Error(`unit \`${unit}\` changed state \`${ch.state}\`, which it does not own`);
        return {
          table,
          key: ch.key,
          // The partition the key lives in, so state can follow it between replicas.
          partition: partitionOfText(JSON.stringify(ch.key), partitionsOf.get(table) ?? 1),
          ...(ch.window ? { window: ch.window } : {}),
          value: ch.value,
        };
      });
      const dropWindows = c.dropped.flatMap((window) => states.map((s) => ({ table: s.table, window })));
      await store.commit({
        writes,
        dropWindows,
        offsets: [{ operator: unit, partition: 0, seq: 0, meta: { channels: Object.fromEntries(c.offsets), logic: encodeMeta(c.meta), ...(c.progress ? { progress: encodeMeta(c.progress) } : {}) } }],
      });
    },
    close: () => store.close(),
  };
}

/**
 * SQL written for Fluvio's SDF names a state by its name in snake case (`count_per_word_a`) and
 * its key `_key`: a view per state with that name, beside the table ssdk names
 * `<service>_<state>`, lets such SQL run unchanged (`ctx.sql`, the shell's `sql`, `ssdk state --sql`).
 */
export function fluvioAliases(plan: PhysicalPlan): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const s of plan.states) {
    const view = s.name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    if (!aliases.has(view)) aliases.set(view, s.table);
  }
  return aliases;
}

/** One table per state of the plan: keys by their declared type, row state as typed columns. */
export function tableSpecs(plan: PhysicalPlan): StateTableSpec[] {
  const types = planTypeTable(plan);
  return plan.states.map((s) => {
    const key = resolveType(fromPlanType(s.key), types);
    const value = resolveType(fromPlanType(s.value), types);
    return { table: s.table, keyType: keyTypeOf(key), windowed: s.windowed, value: valueSpecOf(value) };
  });
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
