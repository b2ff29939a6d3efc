/**
 * The state layout of a plan: everything existing state and committed offsets depend on. A
 * redeploy may change code, add steps, states and topics; it may not change what the stored rows
 * and positions mean — a state's table, key or value type, whether it is windowed, its owner, a
 * window's bounds, or the partitions of a topic (keys would land in other partitions than the
 * ones their state and offsets were committed for). Pure: plain data in, plain data out.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, type PhysicalPlan } from '@ssdk/plan';

export interface StateLayout {
  states: Record<string, { table: string; owner: string; keyType: string; valueType: string; windowed: boolean; window?: { kind: string; durationMs: number; offsetMs: number; slideMs?: number } }>;
  /** Topic id → partitions. */
  partitions: Record<string, number>;
}

export function stateLayout(plan: PhysicalPlan): StateLayout {
  const states: StateLayout['states'] = {};
  for (const s of plan.states) {
    const window = s.windowed ? plan.operators.find((op) => op.service === s.owner && op.window)?.window : undefined;
    states[`${s.owner}/${s.name}`] = {
      table: s.table,
      owner: s.owner,
      keyType: s.keyType,
      valueType: s.valueType,
      windowed: s.windowed,
      ...(window ? { window: { kind: window.kind, durationMs: window.durationMs, offsetMs: window.offsetMs, ...(window.slideMs !== undefined ? { slideMs: window.slideMs } : {}) } } : {}),
    };
  }
  return { states, partitions: Object.fromEntries(plan.topics.map((t) => [t.id, t.partitions])) };
}

export function layoutFingerprint(layout: StateLayout): string {
  return createHash('sha256').update(canonicalJson(layout)).digest('hex');
}

export interface LayoutChanges {
  /** Changes that would corrupt or orphan existing state: refused without `--reset-state`. */
  breaking: string[];
  /** Changes existing state does not notice (new states, new topics). */
  compatible: string[];
}

export function layoutChanges(stored: StateLayout, wanted: StateLayout): LayoutChanges {
  const breaking: string[] = [];
  const compatible: string[] = [];
  for (const [id, old] of Object.entries(stored.states)) {
    const now = wanted.states[id];
    if (!now) {
      breaking.push(`state \`${id}\` is gone (its table ${old.table} would be orphaned)`);
      continue;
    }
    if (now.keyType !== old.keyType) breaking.push(`state \`${id}\`: key type ${old.keyType} → ${now.keyType}`);
    if (now.valueType !== old.valueType) breaking.push(`state \`${id}\`: value type ${old.valueType} → ${now.valueType}`);
    if (now.windowed !== old.windowed) breaking.push(`state \`${id}\`: ${now.windowed ? 'became windowed' : 'is no longer windowed'}`);
    if (now.table !== old.table) breaking.push(`state \`${id}\`: table ${old.table} → ${now.table}`);
    if (old.window && now.window && canonicalJson(old.window) !== canonicalJson(now.window)) {
      breaking.push(`state \`${id}\`: window ${describeWindow(old.window)} → ${describeWindow(now.window)}`);
    }
  }
  for (const id of Object.keys(wanted.states)) if (!stored.states[id]) compatible.push(`new state \`${id}\``);
  for (const [topic, n] of Object.entries(stored.partitions)) {
    const now = wanted.partitions[topic];
    if (now !== undefined && now !== n) breaking.push(`topic \`${topic}\`: ${n} → ${now} partitions`);
  }
  for (const topic of Object.keys(wanted.partitions)) if (stored.partitions[topic] === undefined) compatible.push(`new topic \`${topic}\``);
  return { breaking, compatible };
}

function describeWindow(w: NonNullable<StateLayout['states'][string]['window']>): string {
  return `${w.kind} ${w.durationMs} ms${w.slideMs !== undefined ? ` every ${w.slideMs} ms` : ''}${w.offsetMs ? ` offset ${w.offsetMs} ms` : ''}`;
}
