/**
 * What a unit commits, atomically, after a batch: the state that changed, the windows it
 * dropped, how far it has read each input channel, and its own progress (`meta`: watermark,
 * open windows). A restarted unit resumes from exactly this.
 */
import type { MemoryState, StateChange, WindowBounds } from '@ssdk/engine';
import type { PlanStateAccess } from '@ssdk/plan';
import type { Channel, ChannelProgress } from './channel.ts';

export interface UnitCheckpoint {
  /** Last sequence read per channel. */
  offsets: Map<Channel, number>;
  meta: unknown;
  /** Channels whose end of input was read (and forwarded): not read again after a restart. */
  ended?: Channel[];
  /** Event-time progress per input channel (progress.ts). */
  progress?: Record<Channel, ChannelProgress>;
}

export interface CheckpointCommit extends UnitCheckpoint {
  changes: StateChange[];
  dropped: WindowBounds[];
}

export interface CheckpointStore {
  load(unit: string): Promise<UnitCheckpoint>;
  /** Fills `into` with the committed values of the unit's states (and what ref-states read). */
  loadState(unit: string, states: readonly PlanStateAccess[], into: MemoryState): Promise<void>;
  commit(unit: string, states: readonly PlanStateAccess[], c: CheckpointCommit): Promise<void>;
  close(): Promise<void>;
}

/** Watermarks are ±Infinity at the edges; JSON has no Infinity, so meta is stored with markers. */
export function encodeMeta(meta: unknown): string {
  return JSON.stringify(meta, (_k, v: unknown) => (v === Infinity ? '+Infinity' : v === -Infinity ? '-Infinity' : v));
}

export function decodeMeta(text: string | null | undefined): unknown {
  if (!text) return null;
  return JSON.parse(text, (_k, v: unknown) => (v === '+Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v));
}

/** Committed progress as `load` returns it (absent when none was committed). */
export function progressOf(text: string | undefined): { progress?: Record<Channel, ChannelProgress> } {
  const progress = text ? (decodeMeta(text) as Record<Channel, ChannelProgress>) : undefined;
  return progress ? { progress } : {};
}

/** Keeps checkpoints in this process only: for tests and throwaway runs. */
export function memoryCheckpointStore(): CheckpointStore {
  const units = new Map<string, { offsets: Map<Channel, number>; meta: string; progress?: string }>();
  const tables = new Map<string, Map<string, StateChange & { at: number }>>();
  return {
    async load(unit) {
      const u = units.get(unit);
      return { offsets: new Map(u?.offsets ?? []), meta: decodeMeta(u?.meta), ...progressOf(u?.progress) };
    },
    async loadState(_unit, states, into) {
      for (const s of states) for (const c of tables.get(s.table)?.values() ?? []) into.load(s.name, c.key, c.value, c.window, c.at);
    },
    async commit(unit, states, c) {
      const byName = new Map(states.map((s) => [s.name, s.table]));
      for (const ch of c.changes) {
        const table = byName.get(ch.state) ?? ch.state;
        let t = tables.get(table);
        if (!t) tables.set(table, (t = new Map()));
        const id = `${ch.window ? `${ch.window.start}:${ch.window.end}` : ''}\0${JSON.stringify(ch.key)}`;
        if (ch.value === undefined) t.delete(id);
        else t.set(id, { ...ch, at: Date.now() });
      }
      for (const w of c.dropped) {
        for (const s of states) {
          const t = tables.get(s.table);
          if (t) for (const [id, ch] of t) if (ch.window && ch.window.start === w.start && ch.window.end === w.end) t.delete(id);
        }
      }
      units.set(unit, { offsets: new Map(c.offsets), meta: encodeMeta(c.meta), ...(c.progress ? { progress: encodeMeta(c.progress) } : {}) });
    },
    async close() {},
  };
}
