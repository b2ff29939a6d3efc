/**
 * Committed state as the shell shows it. Read through the session's checkpoint store, so it is
 * the same with state in PGlite or in memory: what the last checkpoint of each unit wrote (the
 * shell waits for the dataflow to go idle after a produce, so that is everything produced).
 */
import { MemoryState, type Key, type WindowBounds } from '@ssdk/engine';
import type { PlanState } from '@ssdk/plan';
import type { Session } from '../embedded-session.ts';
import { closest, ShellError } from './words.ts';

export interface StateRow {
  key: Key;
  value: unknown;
  window?: WindowBounds;
}

/** A state by name, `owner.name`, or table name. */
export function resolveState(session: Session, name: string): PlanState {
  const states = session.plan.states;
  const byName = states.filter((s) => s.name === name);
  if (byName.length === 1) return byName[0]!;
  const exact = states.find((s) => `${s.owner}.${s.name}` === name || s.table === name);
  if (exact) return exact;
  if (byName.length > 1) {
    throw new ShellError(`two services have a state \`${name}\``, `name one: ${byName.map((s) => `${s.owner}.${s.name}`).join(', ')}`);
  }
  if (states.length === 0) throw new ShellError(`unknown state \`${name}\``, 'this dataflow keeps no state');
  const close = closest(name, states.map((s) => s.name));
  throw new ShellError(`unknown state \`${name}\`${close ? ` (did you mean \`${close}\`?)` : ''}`, `this dataflow's states: ${states.map((s) => s.name).join(', ')}`);
}

/** Every committed entry of a state: windows by start, keys sorted within each. */
export async function readState(session: Session, s: PlanState): Promise<StateRow[]> {
  const cache = new MemoryState();
  // What the units processed so far, committed (the embedded runtime commits at cuts).
  await session.df.checkpoint();
  await session.checkpoints.loadState('', [{ name: s.name, table: s.table, access: 'read' }], cache);
  const rows: StateRow[] = [];
  const windows: Array<WindowBounds | undefined> = s.windowed ? cache.openWindows(s.name) : [undefined];
  for (const w of windows) {
    const entries = [...cache.entries(s.name, w)].sort(([a], [b]) => compareKeys(a, b));
    for (const [key, value] of entries) rows.push(w ? { key, value, window: w } : { key, value });
  }
  return rows;
}

/** A key as typed in the shell matches a stored key by its text (`7`, `river`) or its JSON (`"7"`). */
export function keyMatches(key: Key, typed: string): boolean {
  return String(key) === typed || JSON.stringify(key) === typed;
}

function compareKeys(a: Key, b: Key): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}
