/**
 * Guest stack traces → the user's TypeScript lines. StarlingMonkey prints frames as
 * `fn@<bundle>.js:LINE:COL`; the bundle's esbuild source map leads back to `functions/x.ts`, or
 * to an inline `run:` body, which is shifted to its place in the services file.
 */
import { isAbsolute, join } from 'node:path';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import type { SourceLocation } from './errors.ts';

export interface SourceMapInfo {
  /** The esbuild source map of the bundle (JSON text). */
  map: string;
  /** Inline functions: source name in the map → where the code starts in the services file. */
  inline: Record<string, SourceLocation>;
  /** Module sources in the map are relative to this folder (the services file's). */
  root: string;
  /** The script the map is of, as frames name it; frames of other scripts are not mapped. @default every frame */
  script?: string;
}

/** The name the functions script of ssdk's engine component reports in stack frames (its `//# sourceURL`). */
export const FUNCTIONS_SCRIPT = 'ssdk-functions.js';

const FRAME = /([\w./-]*\.js):(\d+):(\d+)/g;

export class StackMapper {
  private traceMap: TraceMap | undefined;
  private readonly info: SourceMapInfo;
  constructor(info: SourceMapInfo) {
    this.info = info;
  }

  /** The first frame of the stack that lies in user code. */
  locate(stack: string): SourceLocation | undefined {
    this.traceMap ??= new TraceMap(this.info.map);
    for (const m of stack.matchAll(FRAME)) {
      if (this.info.script !== undefined && !m[1]!.endsWith(this.info.script)) continue;
      const p = originalPositionFor(this.traceMap, { line: Number(m[2]), column: Number(m[3]) - 1 });
      if (!p.source || p.line === null || p.column === null) continue;
      const loc = this.toUser(p.source, p.line, p.column + 1);
      if (loc) return loc;
    }
    return undefined;
  }

  private toUser(source: string, line: number, col: number): SourceLocation | undefined {
    const inline = this.info.inline[source];
    if (inline) return { file: inline.file, line: inline.line + line - 1, col: inline.col + col - 1 };
    // The engine's executor and the glue are ours, not the user's.
    if (source.startsWith('ssdk-guest:')) return undefined;
    return { file: isAbsolute(source) ? source : join(this.info.root, source), line, col };
  }
}
