/**
 * Source positions: YAML nodes carry character offsets; users need `file:line:col`.
 */
import type { LineCounter, Node } from 'yaml';
import type { SourcePos } from './model.ts';

export class Positions {
  readonly file: string;
  readonly #lines: LineCounter;

  constructor(file: string, lines: LineCounter) {
    this.file = file;
    this.#lines = lines;
  }

  /** 1-based line and column of a character offset (a binary search over line starts). */
  at(offset: number): SourcePos {
    const { line, col } = this.#lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /** Where a node starts; the start of the file for nodes without a range. */
  of(node: Node | null | undefined): SourcePos {
    return this.at(node?.range?.[0] ?? 0);
  }
}
