/**
 * Just enough of the Source Map v3 format to turn a line:column of generated JavaScript back
 * into the user's TypeScript line:column (esbuild re-prints code, so lines move).
 */

interface Segment {
  genCol: number;
  srcIndex: number;
  srcLine: number;
  srcCol: number;
}

export interface LineMapper {
  /** 1-based in, 1-based out; undefined when the position has no mapping. */
  original(line: number, col: number): { source: string; line: number; col: number } | undefined;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

export function parseSourceMap(json: string): LineMapper {
  const map = JSON.parse(json) as { mappings: string; sources: string[] };
  const lines: Segment[][] = [];
  let srcLine = 0;
  let srcCol = 0;
  let srcIndex = 0;
  for (const lineText of map.mappings.split(';')) {
    const segments: Segment[] = [];
    let genCol = 0;
    for (const seg of lineText.split(',')) {
      if (!seg) continue;
      const v = decodeVlq(seg);
      genCol += v[0]!;
      if (v.length >= 4) {
        srcIndex += v[1]!;
        srcLine += v[2]!;
        srcCol += v[3]!;
        segments.push({ genCol, srcIndex, srcLine, srcCol });
      }
    }
    lines.push(segments);
  }
  return {
    original(line, col) {
      const segs = lines[line - 1];
      if (!segs || segs.length === 0) return undefined;
      // The last segment starting at or before the column.
      let best = segs[0]!;
      for (const s of segs) if (s.genCol <= col - 1) best = s;
      return { source: map.sources[best.srcIndex] ?? '', line: best.srcLine + 1, col: best.srcCol + 1 };
    },
  };
}

function decodeVlq(s: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of s) {
    const digit = B64_INDEX.get(c);
    if (digit === undefined) throw new Error(`bad source map character ${c}`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}
