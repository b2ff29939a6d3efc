/**
 * What every section parser of one file shares: where it reports, how it finds positions,
 * and the few facts of the file that later sections check against.
 */
import type { Document } from 'yaml';
import type { Diagnostics } from './diagnostics.ts';
import type { Dataflow, Dialect, NamedType, SourcePos } from './model.ts';
import type { Positions } from './positions.ts';

export interface ScheduleDecl {
  name: string;
  cron?: string;
  intervalMs?: number;
  pos: SourcePos;
}

export interface ParseContext {
  readonly file: string;
  readonly source: string;
  readonly doc: Document;
  readonly positions: Positions;
  readonly diagnostics: Diagnostics;
  readonly dialect: Dialect;
  /** As written, e.g. `0.5.0`. */
  readonly apiVersion: string;
  /** `types:` of the file, filled before services are read (state types are checked against it). */
  types: Record<string, NamedType>;
  /** Seed `functions:`, filled before operations are read (`uses:` steps take their signatures). */
  functions: Dataflow['functions'];
  /** 0.6 `schedule:` entries, which `type: schedule` sources name. */
  schedules: Map<string, ScheduleDecl>;
}

/** `0.5.0` → 5 (the minor version is what tells the shapes apart; all are 0.x). */
export function minorVersion(ctx: ParseContext): number {
  return Number(ctx.apiVersion.split('.')[1] ?? 0);
}
